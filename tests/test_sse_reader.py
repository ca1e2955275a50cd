"""SSEReader: server-sent events parsed from whatever each network read delivers, however the bytes are cut."""

from __future__ import annotations

import asyncio
import random
import re
from unittest import mock

import pytest
from aiohttp.streams import StreamReader

from gateway.errors import UpstreamError
from gateway.providers.http import MAX_SSE_LINE_BYTES, SSEReader

DEPLOYMENT = mock.Mock(name="deployment")
DEPLOYMENT.name = "mock@test"


class FakeResponse:
    """What SSEReader uses of an aiohttp response: `content`, and release/close to hand the connection back."""

    def __init__(self, content: StreamReader) -> None:
        self.content = content
        self.released = self.closed = False

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


def reference(payload: bytes) -> list[tuple[str, bytes]]:
    """The events of a whole payload, line by line, each line ending in CRLF, LF or CR (the SSE spec)."""
    events, event, data = [], "", []
    for line in re.split(rb"\r\n|\r|\n", payload):
        if not line:
            if data:
                events.append((event, b"\n".join(data)))
            event, data = "", []
        elif line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode()
    if data:
        events.append((event, b"\n".join(data)))
    return events


async def parse(blocks: list[bytes], seen: list[FakeResponse] | None = None) -> tuple[
        list[tuple[str, bytes]], FakeResponse]:
    reader = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    response = FakeResponse(reader)
    if seen is not None:
        seen.append(response)

    async def feed() -> None:
        for block in blocks:
            reader.feed_data(block)
            await asyncio.sleep(0)  # one network read at a time
        reader.feed_eof()

    feeder = asyncio.create_task(feed())
    events = [event async for event in SSEReader(response, DEPLOYMENT)]  # type: ignore[arg-type]
    await feeder
    return events, response


def cut(payload: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(payload)), max(0, min(len(payload) - 1, rng.choice([0, 1, 3, 20, 200])))))
    return [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]


LINES = [b"data: {\"a\": 1}", b"data:{\"b\":2}", b"data: [DONE]", b"event: message_start", b"event:ping", b": keep-alive",
         b"id: 7", b"retry: 10", b"data: line one", b"data: line two", b"", b"", b"data: \xc3\xa9\xe6\x97\xa5", b"data:"]


async def test_events_are_the_same_however_the_bytes_are_cut() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        # SSE lines end in LF, CRLF or a CR alone, and one stream may mix them.
        endings = rng.choice([[b"\n"], [b"\r\n"], [b"\r"], [b"\n", b"\r\n", b"\r"]])
        lines = [rng.choice(LINES) for _ in range(rng.randint(1, 30))]
        payload = b"".join(line + rng.choice(endings) for line in lines[:-1]) + lines[-1]
        # A stream may end mid-line, mid-event or cleanly.
        payload += rng.choice([b"", rng.choice(endings), rng.choice(endings) * 2])
        events, response = await parse(cut(payload, rng))
        assert events == reference(payload), payload
        assert response.released and not response.closed  # read to the end: the connection goes back to the pool


async def test_an_openai_stream_split_byte_by_byte() -> None:
    payload = b"".join(b"data: {\"choices\": [{\"delta\": {\"content\": \"%d\"}}]}\n\n" % i for i in range(5))
    events, _ = await parse([payload[i:i + 1] for i in range(len(payload))] + [b"data: [DONE]\n\n"])
    assert [data for _, data in events][-1] == b"[DONE]"
    assert len(events) == 6


async def test_a_crlf_cut_between_reads_ends_one_line_and_a_bare_cr_ends_its_event_at_once() -> None:
    events, _ = await parse([b"data: 1\r", b"\ndata: 2\r\n\r", b"\n", b"data: 3\r\r", b"data: [DONE]\r\r"])
    assert events == [("", b"1\n2"), ("", b"3"), ("", b"[DONE]")]


async def test_a_line_growing_past_the_limit_is_an_upstream_error_and_the_connection_is_dropped() -> None:
    # An upstream that never ends its line must not grow the gateway's memory without bound.
    block = b"x" * (1 << 16)
    reader_blocks = [b"data: "] + [block] * (MAX_SSE_LINE_BYTES // len(block) + 1)
    seen: list[FakeResponse] = []
    with pytest.raises(UpstreamError, match="mock@test sent a stream line over"):
        await parse(reader_blocks, seen)
    assert seen[0].closed and not seen[0].released


async def test_an_event_growing_past_the_limit_is_an_upstream_error_and_the_connection_is_dropped() -> None:
    # Short data lines that never end their event: each line is fine, the event they build is not.
    line = b"data: " + b"x" * 1000 + b"\n"
    seen: list[FakeResponse] = []
    with pytest.raises(UpstreamError, match="mock@test sent a stream event over"):
        await parse([line * 64] * (MAX_SSE_LINE_BYTES // (len(line) * 64) + 1), seen)
    assert seen[0].closed and not seen[0].released


async def read_until_done(stream: StreamReader) -> tuple[SSEReader, FakeResponse]:
    response = FakeResponse(stream)
    reader = SSEReader(response, DEPLOYMENT)  # type: ignore[arg-type]
    stream.feed_data(b"data: 1\n\ndata: [DONE]\n\n")
    async for _, data in reader:
        if data == b"[DONE]":
            reader.done()
            break
    await reader.aclose()
    return reader, response


async def test_after_done_the_rest_of_the_body_is_read_in_the_background_and_the_connection_pooled() -> None:
    stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    _, response = await read_until_done(stream)
    assert not response.released and not response.closed  # the body's end has not arrived yet
    stream.feed_data(b": a comment after [DONE] is read and dropped\n\n")
    stream.feed_eof()
    for _ in range(5):
        await asyncio.sleep(0)
    assert response.released and not response.closed


async def test_after_done_a_body_that_never_ends_has_its_connection_dropped(monkeypatch) -> None:
    monkeypatch.setattr("gateway.providers.http.DRAIN_AFTER_DONE_S", 0.05)
    stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    _, response = await read_until_done(stream)
    await asyncio.sleep(0.1)
    assert response.closed and not response.released


async def test_buffered_says_whether_the_next_event_is_already_read() -> None:
    reader_stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    reader = SSEReader(FakeResponse(reader_stream), DEPLOYMENT)  # type: ignore[arg-type]
    reader_stream.feed_data(b"data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4")  # the fourth is not complete yet
    events = aiter(reader)
    seen = []
    for _ in range(3):
        seen.append((await anext(events))[1])
        seen.append(reader.buffered)
    assert seen == [b"1", True, b"2", True, b"3", False]  # the next one needs another read
    reader_stream.feed_data(b"\n\n")
    reader_stream.feed_eof()
    assert (await anext(events))[1] == b"4" and not reader.buffered
    await reader.aclose()
