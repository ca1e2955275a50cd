"""Fault tests: every upstream failure ends in a fallback or a clean error, in time, accounted."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, anthropic_stream_events, openai_answer, openai_stream, wait_for

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
V4 = {"model": "deepseek-v4-pro", "messages": [{"role": "user", "content": "hi"}]}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}]


def post(gateway, body, headers=AUTH, timeout=30.0):
    return httpx.post(gateway.base_url + "/chat/completions", json=body, headers=headers, timeout=timeout)


def counting(replies):
    """A handler answering each call with the next reply factory (the last one repeats)."""
    calls = []

    def handler(path, body):
        calls.append(path)
        return replies[min(len(calls), len(replies)) - 1](path, body)

    return handler, calls


def ok(path, body):
    return Reply(json=openai_answer(body))


def test_500_then_success_is_retried_on_the_same_deployment(start_gateway, upstream):
    gateway = start_gateway(retry_base_s=0.01)
    upstream.handler, calls = counting([lambda p, b: Reply(status=500, json={"error": {"message": "boom"}}), ok])
    response = post(gateway, V4)
    assert response.status_code == 200
    assert response.headers["x-gateway-attempts"] == "2"
    assert calls == ["/deepseek-v4-pro@deepseek/v1/chat/completions"] * 2
    record = gateway.recorder.records[-1]
    assert (record.attempts, record.retries, record.fallbacks, record.status) == (2, 1, 0, 200)


def test_429_retry_after_is_honoured(start_gateway, upstream):
    gateway = start_gateway(retry_base_s=0.01)
    upstream.handler, calls = counting([
        lambda p, b: Reply(status=429, json={"error": {"message": "slow"}}, headers={"Retry-After": "0.4"}), ok])
    started = time.monotonic()
    assert post(gateway, V4).status_code == 200
    assert time.monotonic() - started >= 0.4 and len(calls) == 2


def test_long_retry_after_falls_back_to_the_next_deployment_at_once(gateway, upstream):
    def handler(path, body):
        if "@deepseek" in path:
            return Reply(status=429, json={"error": {"message": "slow"}}, headers={"Retry-After": "30"})
        return ok(path, body)

    upstream.handler = handler
    started = time.monotonic()
    response = post(gateway, V4)
    assert response.status_code == 200 and time.monotonic() - started < 2
    assert response.headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    assert gateway.recorder.records[-1].fallbacks == 1


def test_timeout_and_connection_reset_fail_over(start_gateway, upstream):
    gateway = start_gateway(read_timeout_s=0.3, total_timeout_s=0.6, retries=0)

    def handler(path, body):
        if "@deepseek" in path:
            return Reply(json={}, delay=5.0)          # hangs
        if "@together" in path:
            return Reply(sse=[], cut_after=0)          # resets the connection
        return ok(path, body)

    upstream.handler = handler
    started = time.monotonic()
    response = post(gateway, V4)
    assert response.status_code == 200
    assert response.headers["x-gateway-deployment"] == "deepseek-v4-pro@fireworks"
    assert time.monotonic() - started < 2.5
    assert gateway.recorder.records[-1].attempts == 3


def test_malformed_json_from_upstream_is_a_clean_502(start_gateway, upstream):
    gateway = start_gateway(retries=0)
    upstream.handler = lambda path, body: Reply(sse=[b"this is not json"])  # 200 with a garbage body
    response = post(gateway, {**V4, "model": "gpt-5.5"})
    assert response.status_code == 502 and "error" in response.json()


def test_stream_hanging_after_headers_ends_with_an_error_event_in_time(start_gateway, upstream):
    gateway = start_gateway(read_timeout_s=0.5, total_timeout_s=30.0)
    upstream.handler = lambda path, body: Reply(sse=[openai_stream(body, ["a"])[0], 10.0])
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(**{**V4, "model": "gpt-5.5"}, stream=True))
    assert time.monotonic() - started < 3
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].status == 504)


def test_flapping_deployment_opens_and_recovers_its_breaker(start_gateway, upstream):
    gateway = start_gateway(retries=0, breaker_failures=2, breaker_cooldown_s=0.5)
    healthy = {"deepseek": False}

    def handler(path, body):
        if "@deepseek" in path and not healthy["deepseek"]:
            return Reply(status=503, json={"error": {"message": "down"}})
        return ok(path, body)

    upstream.handler = handler
    for _ in range(2):
        assert post(gateway, V4).headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    upstream.seen.clear()
    response = post(gateway, V4)  # breaker open: deepseek is skipped without a call
    assert response.headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    assert all("@deepseek" not in s.path for s in upstream.seen)
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    assert 'gateway_circuit_state{deployment="deepseek-v4-pro@deepseek"} 2.0' in metrics
    healthy["deepseek"] = True
    time.sleep(0.6)
    assert post(gateway, V4).headers["x-gateway-deployment"] == "deepseek-v4-pro@deepseek"  # half-open probe
    assert post(gateway, V4).headers["x-gateway-deployment"] == "deepseek-v4-pro@deepseek"  # closed again


def test_client_disconnect_cancels_the_upstream_stream(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["x"] * 200, pause=0.05))
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    stream = client.chat.completions.create(**V4, stream=True)
    for n, _ in enumerate(stream):
        if n == 3:
            break
    stream.close()
    path = "/deepseek-v4-pro@deepseek/v1/chat/completions"
    assert wait_for(lambda: (path, "aborted") in upstream.stream_endings, timeout=3)
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].usage.output > 0)


# ---- tool calls ---------------------------------------------------------------------------


def tool_answer(body, arguments, call_id="call_1"):
    call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    return Reply(json={**openai_answer(body), "choices": [{
        "index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]})


def test_invalid_tool_call_is_repaired_on_the_same_model(gateway, upstream):
    upstream.handler, calls = counting([lambda p, b: tool_answer(b, '{"town": "Oslo"}'),
                                        lambda p, b: tool_answer(b, '{"city": "Oslo"}')])
    response = post(gateway, {**V4, "tools": TOOLS})
    assert response.status_code == 200
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    assert response.headers["x-gateway-tool-repairs"] == "1"
    repair = upstream.seen[-1].body["messages"]
    assert "'city' is a required property" in repair[-1]["content"]
    record = gateway.recorder.records[-1]
    assert record.tool_repairs == 1 and record.usage.output == 10  # both calls billed (5 + 5)


def test_still_invalid_escalates_to_the_escalation_model(gateway, upstream):
    def handler(path, body):
        if path.endswith("/v1/messages"):  # Opus, N4's escalation model
            return Reply(json={"id": "m", "model": "claude", "stop_reason": "tool_use",
                               "content": [{"type": "tool_use", "id": "toolu_9", "name": "get_weather",
                                            "input": {"city": "Oslo"}}],
                               "usage": {"input_tokens": 10, "output_tokens": 7}})
        return tool_answer(body, '{"city": 42}')

    upstream.handler = handler
    response = post(gateway, {**V4, "model": "auto", "tools": TOOLS}, headers={**AUTH, "x-gateway-category": "N4"})
    assert response.status_code == 200
    assert response.headers["x-gateway-model"] == "claude-opus-4.7"
    assert response.json()["choices"][0]["message"]["tool_calls"][0]["id"] == "toolu_9"
    record = gateway.recorder.records[-1]
    assert record.tool_repairs == 4  # three same-model repairs, then the escalation
    assert record.cost_usd > 0 and record.usage.output == 4 * 5 + 7  # every call billed


def test_every_route_invalid_is_a_clear_error(gateway, upstream):
    upstream.handler = lambda path, body: tool_answer(body, "{not json")
    response = post(gateway, {**V4, "tools": TOOLS})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "invalid_tool_call"
    assert "not valid JSON" in response.json()["error"]["message"]
    assert gateway.recorder.records[-1].status == 502 and gateway.recorder.records[-1].cost_usd > 0


def test_streamed_tool_calls_are_held_until_valid(gateway, upstream):
    def chunk(delta, finish=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[chunk({"role": "assistant", "content": "Checking. "}),
                              chunk({"tool_calls": [{"index": 0, "id": "call_s", "type": "function",
                                                     "function": {"name": "get_weather", "arguments": ""}}]}),
                              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"town":'}}]}),
                              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
                              chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
        return tool_answer(body, '{"city": "Oslo"}', call_id="call_fixed")

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.content or "" for d in deltas) == "Checking. "
    calls = [call for d in deltas for call in (d.tool_calls or [])]
    assert len(calls) == 1 and calls[0].id == "call_fixed"
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].tool_repairs == 1)


def test_anthropic_streamed_parallel_tool_calls_keep_ids_and_names(gateway, upstream):
    events = anthropic_stream_events("")[:1] + [
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city": "Oslo"}'}}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city": "Rome"}'}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                           "usage": {"output_tokens": 30}}),
        ("message_stop", {"type": "message_stop"})]
    upstream.handler = lambda path, body: Reply(sse=events)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(model="claude-opus-4.7", messages=V4["messages"], tools=TOOLS,
                                                 stream=True))
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert [(c.index, c.id, c.function.name) for c in calls] == [(0, "toolu_a", "get_weather"),
                                                                  (1, "toolu_b", "get_weather")]
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Oslo", "Rome"]


def test_json_schema_answer_is_repaired(gateway, upstream):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    upstream.handler, calls = counting([lambda p, b: Reply(json=openai_answer(b, text="Sure! name: Ada")),
                                        lambda p, b: Reply(json=openai_answer(b, text='{"name": "Ada"}'))])
    response = post(gateway, {**V4, "response_format": {"type": "json_schema",
                                                        "json_schema": {"name": "p", "schema": schema}}})
    assert response.json()["choices"][0]["message"]["content"] == '{"name": "Ada"}'
    assert response.headers["x-gateway-tool-repairs"] == "1"
