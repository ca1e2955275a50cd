"""Maps every failure, once, to an OpenAI-shaped error response."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import GatewayError, internal_error
from gateway.records import new_request_id

log = logging.getLogger("gateway.api")

HTTP_ERROR_TYPES = {404: "invalid_request_error", 405: "invalid_request_error"}


def _json(status: int, message: str, error_type: str, code: str | None, headers: dict | None = None) -> Response:
    error = GatewayError(message, code=code)
    error.error_type = error_type
    return Response(error.to_json(), status_code=status, media_type="application/json",
                    headers=with_request_id(headers))


def gateway_error_response(exc: GatewayError) -> Response:
    """A GatewayError as its own status and OpenAI-shaped body, with a request id (one of its own when the
    failure came before the request was given one: a bad key, a bad body)."""
    return Response(exc.to_json(), status_code=exc.status_code, media_type="application/json",
                    headers=with_request_id(exc.headers))


def with_request_id(headers: dict[str, str] | None) -> dict[str, str]:
    """The headers with `x-request-id` and `x-gateway-request-id`, as every response of OpenAI's API carries one."""
    headers = dict(headers or {})
    if "x-request-id" not in headers:
        headers["x-request-id"] = headers["x-gateway-request-id"] = new_request_id()
    return headers


async def gateway_error(request: Request, exc: Exception) -> Response:
    """A GatewayError becomes its own status and body."""
    assert isinstance(exc, GatewayError)
    return gateway_error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods, in OpenAI shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unknown path {request.url.path}; the gateway serves /v1/chat/completions and /v1/models."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return _json(exc.status_code, message, HTTP_ERROR_TYPES.get(exc.status_code, "invalid_request_error"),
                 None, dict(exc.headers or {}))


def internal_error_response() -> Response:
    """The generic 500 for a bug (already logged with its traceback): no stack trace reaches a client."""
    return gateway_error_response(internal_error())


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: log it with its traceback, answer a generic 500 without one."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return internal_error_response()
