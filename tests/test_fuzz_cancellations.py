"""Clients that give up at random moments, against upstreams of random speed: nothing unaccounted.

Whatever the moment a client leaves (before its body is read, while the upstream thinks, mid-stream),
every request that reached routing is recorded exactly once, as answered (200) or abandoned (499),
every upstream call belongs to a recorded attempt, and nothing is logged as a gateway error.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

import httpx

from tests.conftest import MASTER_KEY
from tests.mock_upstream import MockUpstream, Reply, anthropic_stream_events, openai_answer, openai_stream, wait_for

MODELS = ("gpt-5.5", "claude-opus-4.7", "auto", "deepseek-v4-pro")


def slow_handler(rng: random.Random):
    def handler(path: str, body: dict) -> Reply:
        delay = rng.choice([0.0, 0.01, 0.05, 0.2])
        if path.endswith("/v1/messages"):
            if body.get("stream"):
                return Reply(sse=[item for event in anthropic_stream_events("Hello, slowly.") for item in (event, delay / 4)])
            return Reply(delay=delay, json={"id": "m", "type": "message", "role": "assistant", "model": "claude",
                                            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                                            "usage": {"input_tokens": 5, "output_tokens": 2}})
        if body.get("stream"):
            return Reply(sse=openai_stream(body, ["a", "b", "c", "d"], pause=delay / 4))
        return Reply(json=openai_answer(body), delay=delay)
    return handler


def test_random_cancellations_leave_nothing_unaccounted(tmp_path, start_gateway, caplog):
    from tests.servers import write_mock_policies

    mock = MockUpstream(cancel_on_disconnect=True).start()  # its own: every call it sees is ours
    gateway = start_gateway(policies=write_mock_policies(tmp_path, mock.port))
    rng = random.Random(20261202)
    mock.handler = slow_handler(rng)
    caplog.set_level(logging.ERROR)

    async def one(client: httpx.AsyncClient, i: int) -> str:
        body = {"model": rng.choice(MODELS), "messages": [{"role": "user", "content": f"hello {i}"}],
                "stream": rng.random() < 0.5}
        give_up = rng.choice([None, None, 0.005, 0.03, 0.1])

        async def ask() -> str:
            if body["stream"]:
                async with client.stream("POST", "/chat/completions", json=body) as response:
                    async for _ in response.aiter_bytes():
                        pass
                    return str(response.status_code)
            return str((await client.post("/chat/completions", json=body)).status_code)

        try:
            return await (ask() if give_up is None else asyncio.wait_for(ask(), give_up))
        except (TimeoutError, httpx.HTTPError) as exc:
            return type(exc).__name__

    async def burst() -> Counter:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=20, limits=limits,
                                     headers={"Authorization": f"Bearer {MASTER_KEY}"}) as client:
            return Counter(await asyncio.gather(*(one(client, i) for i in range(200))))

    outcomes = asyncio.run(burst())
    assert outcomes["200"] > 20 and outcomes["TimeoutError"] > 20, outcomes
    assert wait_for(lambda: mock.open_streams == 0, timeout=5)
    records = gateway.recorder.records
    assert len({r.request_id for r in records}) == len(records)  # none twice
    assert {r.status for r in records} <= {200, 499}, Counter(r.status for r in records)
    assert all(r.error_code == "client_disconnected" for r in records if r.status == 499)
    assert sum(r.attempts for r in records) >= len(mock.seen)  # every upstream call has its record
    assert all(r.cost_usd > 0 for r in records if r.status == 200)
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("gateway")]
