"""The relay sends the pieces of chunks that arrived together in one write, and holds nothing while the
stream waits on the network."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.app import build_context
from gateway.dispatch import DispatchLog
from gateway.errors import UpstreamError
from gateway.metrics import GatewayMetrics
from gateway.plan import Attempt, RoutePlan
from gateway.records import RequestRecord
from gateway.streaming import StreamJob, relay
from gateway.usage import Usage
from gateway.wire import SSE_DONE
from tests.servers import settings_for

POLICIES = Path(__file__).resolve().parents[1] / "policies"
BODY = {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "upstream-id",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


class Bursts:
    """Chunks in bursts, as network reads deliver them (`buffered` is true inside a burst). Before each
    read after the first it checks that every chunk of the earlier bursts has reached the client."""

    def __init__(self, bursts: list[list[dict[str, Any]]], received: list[bytes], fail_after: int | None = None):
        self.bursts = bursts
        self.received = received
        self.fail_after = fail_after
        self.buffered = False
        self.usage: Usage | None = None

    async def __aiter__(self):
        yielded: list[str] = []
        for number, burst in enumerate(self.bursts):
            if number:  # a network wait: nothing read so far may still be held back
                sent = b"".join(self.received).decode()
                assert all(f'"content":"{text}"' in sent for text in yielded), (yielded, sent)
                await asyncio.sleep(0)
            for i, item in enumerate(burst):
                self.buffered = i < len(burst) - 1
                yielded.append(item["choices"][0]["delta"]["content"])
                yield item
                if self.fail_after is not None and len(yielded) == self.fail_after:
                    raise UpstreamError("the upstream cut the stream")
        self.buffered = False
        self.usage = Usage(input=3, output=len(yielded))

    async def aclose(self) -> None:
        pass


async def relayed(stream: Bursts) -> list[bytes]:
    ctx = build_context(settings_for(POLICIES), GatewayMetrics(multiproc_dir=""))
    model = ctx.catalogue.models["deepseek-v4-flash"]
    deployment = model.deployments[0]
    record = RequestRecord(request_id="req_test", started_at=datetime.now(UTC), key_id="k", team=None,
                           requested_model="deepseek-v4-flash", stream=True)
    job = StreamJob(ctx, dict(BODY), RoutePlan(model, (Attempt(deployment),)), None, record, DispatchLog(),
                    time.perf_counter())
    async for piece in relay(job, stream, deployment):
        stream.received.append(piece)
    return stream.received


async def test_chunks_read_together_go_out_together_and_nothing_waits_behind_a_read() -> None:
    bursts = [[chunk("a"), chunk("b"), chunk("c")], [chunk("d")], [chunk("e"), chunk("f", "stop")]]
    pieces = await relayed(Bursts(bursts, []))
    assert len(pieces) == 4 and pieces[-1] is SSE_DONE  # one write a burst, then [DONE]
    assert [p.count(b"data: ") for p in pieces] == [3, 1, 2, 1]
    assert all(b'"model":"deepseek-v4-flash"' in p for p in pieces[:-1])  # still rewritten chunk by chunk


async def test_a_failure_sends_what_arrived_before_it_then_the_error() -> None:
    bursts = [[chunk("a")], [chunk("b"), chunk("c"), chunk("d")]]
    pieces = await relayed(Bursts(bursts, [], fail_after=2))  # cut while "c" was already read
    text = b"".join(pieces).decode()
    assert '"content":"b"' in text and text.index('"content":"b"') < text.index("the upstream cut the stream")
    assert pieces[-1] is SSE_DONE


@pytest.mark.parametrize("size", [1, 5])
async def test_a_stream_read_one_chunk_at_a_time_is_sent_one_chunk_at_a_time(size: int) -> None:
    pieces = await relayed(Bursts([[chunk(str(i))] for i in range(size)] + [[chunk("end", "stop")]], []))
    assert [p.count(b"data: ") for p in pieces] == [1] * (size + 1) + [1]
