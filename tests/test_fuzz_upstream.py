"""Seeded corruptions of healthy upstream answers: the client gets an answer or an OpenAI-shaped error, never a 500.

Each case takes a healthy reply of one of the four wire shapes (OpenAI JSON or SSE, Anthropic JSON
or SSE) and replaces, deletes or retypes one nested field: usage counts that are strings or
negative, choices that are not lists, events that are not objects. The gateway may pass a harmless
change on (200) or refuse the answer as the upstream's fault (502), and either way it keeps
serving and keeps accounting.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, default_handler
from tests.test_fuzz_bodies import random_value

HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}
MESSAGES = [{"role": "user", "content": "Say hello."}]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside a JSON value (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def corrupt(value: Any, rng: random.Random) -> Any:
    """A copy of `value` with one nested field replaced by a random JSON value, or removed."""
    value = copy.deepcopy(value)
    paths = _paths(value)
    if not paths:
        return random_value(rng)
    *parent_path, last = rng.choice(paths)
    parent = value
    for key in parent_path:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[last]
    else:
        parent[last] = random_value(rng)
    return value


CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def tool_call_reply(path: str, body: dict[str, Any]) -> Reply:
    """A healthy answer that calls get_weather, in the wire shape the path and `stream` ask for."""
    if path.endswith("/v1/messages"):
        if not body.get("stream"):
            return Reply(json={"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
                               "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                            "input": {"city": "Paris"}}],
                               "stop_reason": "tool_use", "usage": {"input_tokens": 20, "output_tokens": 9}})
        return Reply(sse=[
            ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude",
                                                                    "usage": {"input_tokens": 20, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
                "type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                "type": "input_json_delta", "partial_json": '{"city": "Paris"}'}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                               "usage": {"output_tokens": 9}}),
            ("message_stop", {"type": "message_stop"})])
    if not body.get("stream"):
        return Reply(json={"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"), "choices": [
            {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                                                                    "tool_calls": [CALL]}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}})
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": body.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return Reply(sse=[
        chunk({"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk({}, "tool_calls"),
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}},
        b"data: [DONE]\n\n"])


def corrupted_handler(rng: random.Random):
    def handler(path: str, body: dict[str, Any]) -> Reply:
        healthy = tool_call_reply(path, body) if body.get("tools") else default_handler(path, body)
        if healthy.sse is None:
            return Reply(json=corrupt(healthy.json, rng))
        events = list(healthy.sse)
        i = rng.randrange(len(events))
        item = events[i]
        if isinstance(item, tuple):
            events[i] = (item[0], corrupt(item[1], rng))
        elif isinstance(item, dict):
            events[i] = corrupt(item, rng)
        return Reply(sse=events)
    return handler


@pytest.mark.parametrize("model", ["gpt-5.5", "claude-opus-4.7"])
def test_corrupted_upstream_answers_never_give_a_server_error(start_gateway, upstream, model):
    gateway = start_gateway(retries=0)
    rng = random.Random(f"{model}-20261202")
    upstream.handler = corrupted_handler(rng)
    outcomes: dict[str, int] = {}
    with httpx.Client(base_url=gateway.base_url, headers=HEADERS, timeout=20) as client:
        for n in range(200):
            stream, tools = n % 2 == 1, n % 4 >= 2  # half the answers are tool calls (checked, maybe repaired)
            body = {"model": model, "messages": MESSAGES, "stream": stream, **({"tools": TOOLS} if tools else {})}
            response = client.post("/chat/completions", json=body)
            outcome = str(response.status_code)
            if response.status_code != 200:
                error = response.json()["error"]
                assert set(error) == {"message", "type", "param", "code"} and error["message"], response.text
                assert response.status_code in (502, 504), response.text  # the upstream's fault, said as such
            elif stream:
                text = response.text
                assert text.endswith("data: [DONE]\n\n"), text[-300:]
                if '"error"' in text:
                    outcome = "200 stream ended by an error event"
            else:  # fields the gateway does not read (id, object, created) pass through as sent
                assert isinstance(response.json(), dict)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        upstream.handler = default_handler
        healthy = client.post("/chat/completions", json={"model": model, "messages": MESSAGES})
        assert healthy.status_code == 200, healthy.text  # still serving (no circuit left open by retries=0 noise)
    assert outcomes.get("200", 0) > 10 and outcomes.get("502", 0) > 10, outcomes
