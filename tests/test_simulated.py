"""The simulated upstream: deterministic, prefix-cache aware, configurable failures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from gateway.catalogue import load_catalogue
from gateway.errors import UpstreamError
from gateway.providers.simulated import SimulatedProvider

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies").simulated()
DEPLOYMENT = CATALOGUE.deployment("deepseek-v4-pro@deepseek")
SYSTEM = {"role": "system", "content": "You are a helpful assistant. " * 100}


async def test_same_request_same_answer():
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    first = await SimulatedProvider().complete(DEPLOYMENT, body)
    second = await SimulatedProvider().complete(DEPLOYMENT, body)
    assert first.body["choices"] == second.body["choices"] and first.usage == second.usage
    assert first.usage.input >= 1 and first.usage.output >= 1


async def test_repeated_prefix_is_a_cache_hit():
    provider = SimulatedProvider()
    first = await provider.complete(DEPLOYMENT, {"messages": [SYSTEM, {"role": "user", "content": "a"}]})
    second = await provider.complete(DEPLOYMENT, {"messages": [SYSTEM, {"role": "user", "content": "b"}]})
    assert first.usage.cached_input == 0
    assert second.usage.cached_input > 0 and second.usage.cached_input % 64 == 0
    assert second.usage.prompt_tokens == first.usage.prompt_tokens


async def test_tool_calls_follow_the_schema():
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
              "required": ["city", "days"]}
    body = {"messages": [{"role": "user", "content": "weather"}],
            "tools": [{"type": "function", "function": {"name": "forecast", "parameters": schema}}]}
    answer = await SimulatedProvider().complete(DEPLOYMENT, body)
    call = answer.body["choices"][0]["message"]["tool_calls"][0]
    import json
    jsonschema.validate(json.loads(call["function"]["arguments"]), schema)
    assert answer.body["choices"][0]["finish_reason"] == "tool_calls"


async def test_failure_rate_and_streaming():
    failing = replace(DEPLOYMENT, simulation={"failure_rate": 1.0})
    with pytest.raises(UpstreamError):
        await SimulatedProvider().complete(failing, {"messages": [{"role": "user", "content": "x"}]})
    stream = await SimulatedProvider().open_stream(DEPLOYMENT, {"messages": [{"role": "user", "content": "x"}]})
    chunks = [chunk async for chunk in stream]
    assert chunks[-1]["usage"]["completion_tokens"] == stream.usage.output
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    full = await SimulatedProvider().complete(DEPLOYMENT, {"messages": [{"role": "user", "content": "x"}]})
    assert text == full.body["choices"][0]["message"]["content"]


async def test_n_choices_are_answered_and_streamed_by_index():
    body = {"messages": [{"role": "user", "content": "name a colour"}], "n": 3}
    full = await SimulatedProvider().complete(DEPLOYMENT, body)
    assert [choice["index"] for choice in full.body["choices"]] == [0, 1, 2]
    texts = [choice["message"]["content"] for choice in full.body["choices"]]
    assert len(set(texts)) == 3  # drawn in turn, not one answer repeated
    one = await SimulatedProvider().complete(DEPLOYMENT, {**body, "n": 1})
    assert full.usage.output > one.usage.output  # every choice's tokens are billed
    stream = await SimulatedProvider().open_stream(DEPLOYMENT, body)
    streamed = {0: "", 1: "", 2: ""}
    finishes = []
    async for chunk in stream:
        for choice in chunk["choices"]:
            streamed[choice["index"]] += choice["delta"].get("content") or ""
            if choice["finish_reason"]:
                finishes.append(choice["index"])
    assert [streamed[i] for i in range(3)] == texts and finishes == [0, 1, 2]
    assert stream.usage == full.usage
