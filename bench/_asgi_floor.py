"""The floor for bench/overhead.py: what uvicorn and aiohttp alone cost per request, with no framework at all.

A raw ASGI callable (no FastAPI, no Starlette, no task group per stream): read the body, parse it once,
forward it with one pooled aiohttp session, send the answer back (a stream's pieces as they are read).
Served like the gateway: uvicorn with httptools and uvloop, one worker, no access log. Everything the
gateway spends above this row is its own work (auth, classification, policy, relaying checked chunks,
pricing, ledger, metrics); everything this row spends is the server and client libraries' share.

Run: python bench/_asgi_floor.py --upstream http://127.0.0.1:PORT [--port 0]; prints `READY <port>`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import orjson
from _reference_server import serve

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def create_app(upstream: str) -> Callable[[Message, Receive, Send], Awaitable[None]]:
    url = f"{upstream}/v1/chat/completions"
    sessions: list[aiohttp.ClientSession] = []

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=120)))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await sessions[0].close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = orjson.loads(b"".join(parts))
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        headers = {"authorization": authorization.decode(), "content-type": "application/json"}
        reply = await sessions[0].post(url, data=orjson.dumps(body), headers=headers)
        stream = bool(body.get("stream"))
        content_type = b"text/event-stream" if stream else b"application/json"
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(b"content-type", content_type)]})
        async with reply:
            if not stream:
                await send({"type": "http.response.body", "body": await reply.read()})
                return
            async for piece in reply.content.iter_any():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    serve(create_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
