"""A fast mock upstream for bench/overhead.py: OpenAI-compatible (and Anthropic) chat on a local port.

A raw asyncio protocol with httptools parsing (no web framework), so that the mock costs a few
tens of microseconds per request and the benchmark measures the gateway, not the mock.

    POST .../chat/completions   OpenAI chat.completion JSON, or an SSE stream when "stream": true:
                                a role chunk, a few content chunks, a finish chunk, a usage chunk
                                when stream_options.include_usage is true, then `data: [DONE]`.
    POST .../v1/messages        Anthropic Messages JSON or event stream (for anthropic deployments).
    GET  /health                200 "ok".
    GET  /stats                 {"connections": accepted so far, "requests": answered so far} (for connection reuse).

Run: python bench/_overhead_upstream.py [--host 127.0.0.1] [--port 0] [--gap-ms 0] [--chunks 5]
It prints `READY <port>` on stdout once listening. --gap-ms sleeps between stream events (uniformly 0.5-1.5x the
value, so that concurrent streams drift apart instead of arriving in lock-step bursts; the end of the chunked body
follows `data: [DONE]` at once, as real upstreams send it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
from typing import Any

import httptools
import orjson

PIECES = ("Hello", " from", " the", " mock", " upstream.")
TEXT = "".join(PIECES)
PROMPT_TOKENS = 260
COMPLETION_TOKENS = len(PIECES)


def _chunk(model: Any, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
            "system_fingerprint": None, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                                     "logprobs": None}]}


def openai_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": body.get("model"),
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
    })


def openai_events(body: dict[str, Any]) -> list[bytes]:
    model = body.get("model")
    chunks = [_chunk(model, {"role": "assistant", "content": ""})]
    chunks += [_chunk(model, {"content": piece}) for piece in PIECES]
    chunks.append(_chunk(model, {}, "stop"))
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        chunks.append({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                       "model": model, "choices": [],
                       "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                                 "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def anthropic_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps({
        "id": "msg_bench", "type": "message", "role": "assistant", "model": body.get("model"),
        "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS,
                  "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
    })


def anthropic_events(body: dict[str, Any]) -> list[bytes]:
    def event(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    events = [
        event("message_start", {"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": body.get("model"), "content": [],
            "stop_reason": None, "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1,
                                           "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}}),
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}),
    ]
    events += [event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": p}}) for p in PIECES]
    events += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                "usage": {"output_tokens": COMPLETION_TOKENS}}),
        event("message_stop", {"type": "message_stop"}),
    ]
    return events


def _head(status: str, content_type: bytes, length: int | None, keep_alive: bool) -> bytes:
    lines = [b"HTTP/1.1 " + status.encode(), b"content-type: " + content_type]
    lines.append(b"content-length: " + str(length).encode() if length is not None else b"transfer-encoding: chunked")
    if not keep_alive:
        lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class MockProtocol(asyncio.Protocol):
    """One client connection: parse requests with httptools, answer from canned bodies."""

    gap_s = 0.0
    connections = 0
    requests = 0

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        MockProtocol.connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(_head("400 Bad Request", b"text/plain", 0, False), close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        path = self.url.split(b"?", 1)[0]
        method = self.parser.get_method()
        if method == b"GET" and path in (b"/health", b"/v1/health"):
            self._send(_head("200 OK", b"text/plain", 2, keep_alive) + b"ok", close=not keep_alive)
            return
        if method == b"GET" and path == b"/stats":
            body = orjson.dumps({"connections": MockProtocol.connections, "requests": MockProtocol.requests})
            self._send(_head("200 OK", b"application/json", len(body), keep_alive) + body, close=not keep_alive)
            return
        MockProtocol.requests += 1
        is_chat = path.endswith(b"/chat/completions")
        is_messages = path.endswith(b"/v1/messages")
        if method != b"POST" or not (is_chat or is_messages):
            body = b'{"error": {"message": "not found", "type": "not_found"}}'
            self._send(_head("404 Not Found", b"application/json", len(body), keep_alive) + body,
                       close=not keep_alive)
            return
        try:
            request = orjson.loads(b"".join(self.body))
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            body = b'{"error": {"message": "body is not a JSON object", "type": "invalid_request_error"}}'
            self._send(_head("400 Bad Request", b"application/json", len(body), keep_alive) + body,
                       close=not keep_alive)
            return
        if request.get("stream"):
            events = openai_events(request) if is_chat else anthropic_events(request)
            head = _head("200 OK", b"text/event-stream", None, keep_alive)
            frames = [b"%x\r\n%b\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]
            if self.gap_s > 0:
                self._send(head)
                asyncio.get_running_loop().create_task(self._paced(frames, keep_alive))
                return
            self._send(head + frames[0])
            for frame in frames[1:-1]:
                self._send(frame)
            self._send(frames[-1], close=not keep_alive)
            return
        body = openai_json(request) if is_chat else anthropic_json(request)
        self._send(_head("200 OK", b"application/json", len(body), keep_alive) + body, close=not keep_alive)

    async def _paced(self, frames: list[bytes], keep_alive: bool) -> None:
        # [DONE] and the chunked terminator go out together, as a real upstream sends them.
        frames = frames[:-2] + [frames[-2] + frames[-1]]
        for i, frame in enumerate(frames):
            if i:
                await asyncio.sleep(self.gap_s * (0.5 + random.random()))
            self._send(frame, close=(i == len(frames) - 1 and not keep_alive))

    def _send(self, data: bytes, close: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if close:
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(MockProtocol, host, port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    global PIECES, TEXT, COMPLETION_TOKENS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between stream events")
    parser.add_argument("--chunks", type=int, default=len(PIECES), help="content chunks per answer")
    args = parser.parse_args(argv)
    if args.chunks != len(PIECES):
        words = (" the", " order", " ships", " on", " Friday", " from", " Lyon", " with", " tracking", " soon")
        # no two neighbours alike: LiteLLM aborts streams that repeat one chunk many times
        PIECES = tuple("Hello" if i == 0 else words[i % len(words)] for i in range(max(1, args.chunks)))
        TEXT, COMPLETION_TOKENS = "".join(PIECES), len(PIECES)
    MockProtocol.gap_s = args.gap_ms / 1000
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the project venv has it
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main(sys.argv[1:])
