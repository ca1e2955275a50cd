"""The application object: FastAPI, with the hot OpenAI routes served ahead of its middleware stack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.errors import gateway_error_response, internal_error_response
from gateway.errors import GatewayError, server_shutting_down

log = logging.getLogger("gateway.api")
Handler = Callable[[Request], Awaitable[Response]]
# The answer headers a browser script may read (CORS): ids, routing and cost, and what rate limits say.
EXPOSED_HEADERS = ("x-request-id", "x-gateway-request-id", "x-gateway-model", "x-gateway-deployment",
                   "x-gateway-category", "x-gateway-verdict", "x-gateway-attempts", "x-gateway-tool-repairs",
                   "x-gateway-cost-usd", "x-gateway-baseline-cost-usd", "retry-after", "x-should-retry")


class GatewayApp(FastAPI):
    """FastAPI for every route, except that POSTs to `hot_routes` skip its middleware stack.

    FastAPI's and Starlette's layers (exception middlewares, body limit, telemetry, exit stack,
    router) cost about a tenth of the CPU of a chat request that does nothing else; the hot
    handlers need none of them because they map their errors themselves, once, here.
    """

    hot_routes: Mapping[str, Handler] = {}
    cors: ASGIApp | None = None  # CORS handling around every HTTP request, when origins are configured

    def allow_origins(self, origins: Sequence[str]) -> None:
        """Answer browsers' CORS preflights from these origins (or "*") and let them read the answers."""
        self.cors = CORSMiddleware(self._dispatch, allow_origins=list(origins), allow_methods=["GET", "POST"],
                                   allow_headers=["*"], expose_headers=list(EXPOSED_HEADERS), max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cors is not None and scope["type"] == "http":
            await self.cors(scope, receive, send)
        else:
            await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.hot_routes.get(scope["path"])
            if handler is not None:
                scope["app"] = self
                await _serve(handler, Request(scope, receive, send), scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _serve(handler: Handler, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        response = await handler(request)
    except GatewayError as exc:
        response = gateway_error_response(exc)
    except asyncio.CancelledError:
        # Cancelled before the handler could answer for itself (reading the body, routing): nothing was sent
        # upstream, and only the server stopping cancels a request that early (uvicorn, after its shutdown grace).
        task = asyncio.current_task()
        if task is None or task.uncancel() > 0:
            raise
        response = gateway_error_response(server_shutting_down())
    except Exception:
        log.exception("unhandled error on POST %s", scope["path"])
        response = internal_error_response()
    await response(scope, receive, send)
