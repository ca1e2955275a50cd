"""A programmable local upstream (OpenAI-compatible and Anthropic paths) on a real port."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    """What the mock answers: a JSON body, or a list of SSE events (with optional pauses)."""

    status: int = 200
    json: Any = None
    sse: list[Any] | None = None  # each item: dict (data), (event, dict), bytes (raw), or float (sleep s)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None  # drop the connection after this many SSE items


@dataclass
class Seen:
    """One request the mock received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection


def openai_answer(body: dict[str, Any], text: str = "Hello from the mock.", usage: dict | None = None) -> dict:
    """A canned OpenAI chat.completion for `body`."""
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1,
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


def openai_stream(body: dict[str, Any], pieces: list[str], usage: dict | None = None, pause: float = 0.0) -> list:
    """SSE items for a streamed OpenAI answer; usage only if the request asked for it."""
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": body.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    items: list[Any] = [chunk({"role": "assistant", "content": ""})]
    for piece in pieces:
        if pause:
            items.append(pause)
        items.append(chunk({"content": piece}))
    items.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        items.append({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
                      "model": body.get("model"), "choices": [],
                      "usage": usage or {"prompt_tokens": 12, "completion_tokens": len(pieces), "total_tokens": 0}})
    items.append(b"data: [DONE]\n\n")
    return items


def default_handler(path: str, body: dict[str, Any]) -> Reply:
    """Answer like a healthy upstream of the kind the path names."""
    if path.endswith("/v1/messages"):
        if body.get("stream"):
            return Reply(sse=anthropic_stream_events("Hello from Claude."))
        return Reply(json={
            "id": "msg_mock", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [{"type": "text", "text": "Hello from Claude."}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 6, "cache_read_input_tokens": 0,
                      "cache_creation_input_tokens": 0},
        })
    if body.get("stream"):
        return Reply(sse=openai_stream(body, ["Hello", " from", " the", " mock."]))
    return Reply(json=openai_answer(body))


def anthropic_stream_events(text: str, usage_start: dict | None = None, output_tokens: int = 6) -> list:
    """SSE items of an Anthropic streamed text answer (cumulative usage in message_delta)."""
    start_usage = usage_start or {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 0,
                                  "cache_creation_input_tokens": 0}
    return [
        ("message_start", {"type": "message_start", "message": {"id": "msg_mock", "type": "message",
                                                                "role": "assistant", "model": "claude",
                                                                "content": [], "usage": start_usage}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]


class MockUpstream:
    """An aiohttp server in its own thread; tests set `handler` and read `seen`."""

    def __init__(self, cancel_on_disconnect: bool = False) -> None:
        self.cancel_on_disconnect = cancel_on_disconnect  # stop a handler whose client left (like a real server)
        self.handler: Callable[[str, dict[str, Any]], Reply] = default_handler
        self.seen: list[Seen] = []
        self.port = 0
        self.open_streams = 0
        self.stream_endings: list[tuple[str, str]] = []  # (path, "complete" | "aborted")
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> MockUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def reset(self) -> None:
        self.handler = default_handler
        self.seen.clear()
        self.stream_endings.clear()

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.port}/{prefix}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        runner = self._runner = web.AppRunner(app, handler_cancellation=self.cancel_on_disconnect)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def connections(self) -> int:
        """TCP connections open to the mock right now (counted on its own loop)."""
        async def count() -> int:
            return len(self._runner.server.connections)

        return asyncio.run_coroutine_threadsafe(count(), self._loop).result(5)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append(Seen(request.path, dict(request.headers), body, tuple(peer) if peer else None))
        reply = self.handler(request.path, body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.sse is None:
            return web.json_response(reply.json, status=reply.status, headers=reply.headers)
        response = web.StreamResponse(status=reply.status, headers={"content-type": "text/event-stream",
                                                                    **reply.headers})
        await response.prepare(request)
        self.open_streams += 1
        ending = "aborted"
        try:
            for n, item in enumerate(reply.sse):
                if reply.cut_after is not None and n >= reply.cut_after:
                    request.transport.close()
                    return response
                if isinstance(item, float | int):
                    await asyncio.sleep(item)
                    continue
                if isinstance(item, bytes):
                    payload = item
                elif isinstance(item, tuple):
                    payload = f"event: {item[0]}\ndata: {json.dumps(item[1])}\n\n".encode()
                else:
                    payload = f"data: {json.dumps(item)}\n\n".encode()
                await response.write(payload)
            await response.write_eof()
            ending = "complete"
        finally:
            self.open_streams -= 1
            self.stream_endings.append((request.path, ending))
        return response


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll until `predicate()` is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
