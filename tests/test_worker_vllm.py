"""The vLLM adapter against a fake vLLM (vLLM itself needs a GPU): limits, deltas, and freeing slots."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.worker.engine import Finished, GenerationRequest, SamplingParams, TextDelta
from gateway.worker.vllm_engine import VllmEngine


class FakeTokenizer:
    """One token per character; the 'template' joins the contents."""

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool) -> str:
        return "".join(m["content"] for m in messages)

    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text]}


@dataclass
class FakeVllm:
    """Streams cumulative outputs like AsyncLLMEngine.generate, which registers a request on first read."""

    started: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)

    async def generate(self, prompt: dict[str, Any], sampling: Any, request_id: str) -> AsyncIterator[Any]:
        self.started.append(request_id)
        for n in (1, 2):
            reason = "length" if n == 2 else None
            completion = types.SimpleNamespace(text="ab"[:n], token_ids=[97, 98][:n], finish_reason=reason)
            yield types.SimpleNamespace(outputs=[completion], num_cached_tokens=16)

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> VllmEngine:
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(SamplingParams=lambda **kwargs: kwargs))
    return VllmEngine(FakeVllm(), FakeTokenizer(), "fake", context_length=64, max_batch=2, max_queue=0)


def request(request_id: str) -> GenerationRequest:
    return GenerationRequest(request_id, ({"role": "user", "content": "hello"},), SamplingParams(max_tokens=4))


def test_deltas_usage_and_slot_freed(engine: VllmEngine) -> None:
    async def scenario() -> list[Any]:
        return [event async for event in await engine.submit(request("r1"))]

    events = asyncio.run(scenario())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", "b"]
    assert events[-1] == Finished("length", events[-1].usage) and events[-1].usage.cached_tokens == 16
    assert engine.stats().running == 0


def test_stream_never_read_is_freed_by_cancel(engine: VllmEngine) -> None:
    async def scenario() -> list[Any]:
        await engine.submit(request("gone"))  # the client leaves before the body starts
        await engine.submit(request("also-gone"))
        assert engine.stats().running == 2
        engine.cancel("gone")
        engine.cancel("also-gone")
        await asyncio.sleep(0)  # let the abort tasks run
        later = await engine.submit(request("next"))  # capacity is back (max_batch 2, no queue)
        return [event async for event in later]

    events = asyncio.run(scenario())
    assert events[-1].reason == "length" and engine.stats().running == 0
    assert engine._engine.started == ["next"] and engine._engine.aborted == ["gone", "also-gone"]


def test_stream_read_after_cancel_finishes_without_starting_vllm(engine: VllmEngine) -> None:
    async def scenario() -> list[Any]:
        events = await engine.submit(request("r"))
        engine.cancel("r")
        return [event async for event in events]

    assert [e.reason for e in asyncio.run(scenario())] == ["cancelled"]
    assert engine._engine.started == []
