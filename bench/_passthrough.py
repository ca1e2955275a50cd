"""The bare FastAPI passthrough for bench/overhead.py: the reference the issue's req/s target is set against.

One route, no features: read the body, parse it once (as any proxy must, to pick the upstream), forward
it with one pooled aiohttp session and return the upstream's answer (streams relayed chunk by chunk).
Served like the gateway: uvicorn with httptools and uvloop, one worker, no access log. The issue puts
the gateway's >= 2,000 req/s target at about two thirds of this passthrough's ceiling; measured in the
same run, the ratio to it is free of this VM's phases.

Run: python bench/_passthrough.py --upstream http://127.0.0.1:PORT [--port 0]; prints `READY <port>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import orjson
from _reference_server import serve
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse


def create_app(upstream: str) -> FastAPI:
    session: dict[str, aiohttp.ClientSession] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        session["upstream"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=120))
        yield
        await session["upstream"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> Response:
        return Response(b"ok")

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        headers = {"authorization": request.headers.get("authorization", ""), "content-type": "application/json"}
        reply = await session["upstream"].post(f"{upstream}/v1/chat/completions", data=orjson.dumps(body),
                                               headers=headers)
        if not body.get("stream"):
            async with reply:
                return Response(await reply.read(), status_code=reply.status, media_type="application/json")

        async def relay() -> AsyncIterator[bytes]:
            async with reply:
                async for chunk in reply.content.iter_any():
                    yield chunk

        return StreamingResponse(relay(), status_code=reply.status, media_type="text/event-stream")

    return app


def main() -> None:
    serve(create_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
