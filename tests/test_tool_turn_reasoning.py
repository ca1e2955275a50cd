"""DeepSeek's thinking mode wants the reasoning of earlier tool-call turns back (providers/reasoning_memory.py):
the gateway remembers it and puts it back, or sends the request with thinking disabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from gateway.catalogue import load_catalogue
from gateway.providers.adapt import adapted_request
from gateway.providers.reasoning_memory import ReasoningMemory, shared_key, turns_lacking_reasoning
from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, openai_answer

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies")
DEEPSEEK = CATALOGUE.deployment("deepseek-v4-pro@deepseek")
TOGETHER = CATALOGUE.deployment("deepseek-v4-pro@together")
CALL = {"id": "call_00_Xq3", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
ASK = {"role": "user", "content": "What is the weather in Oslo?"}


def follow_up(call: dict[str, Any] = CALL, **assistant: Any) -> list[dict[str, Any]]:
    """A second turn as OpenAI clients build it: the assistant's tool calls (no reasoning) and the result."""
    return [ASK, {"role": "assistant", "content": None, "tool_calls": [call], **assistant},
            {"role": "tool", "tool_call_id": call["id"], "content": "12 C, rain"}]


async def test_a_remembered_turn_gets_its_reasoning_back():
    memory = ReasoningMemory()
    await memory.remember_answer({"choices": [{"index": 0, "message": {
        "role": "assistant", "content": None, "reasoning_content": "The user wants Oslo.", "tool_calls": [CALL]}}]})
    body = {"model": "deepseek-v4-pro", "messages": follow_up(), "reasoning_effort": "high"}
    known = await memory.recall(body["messages"], [1])
    assert known == {1: "The user wants Oslo."}
    sent = adapted_request(body, DEEPSEEK, known)
    assert sent["messages"][1]["reasoning_content"] == "The user wants Oslo."
    assert "thinking" not in sent and sent["reasoning_effort"] == "high"
    assert "reasoning_content" not in body["messages"][1]  # the client's request is not changed
    assert adapted_request(body, TOGETHER, known) is body  # only DeepSeek's API wants it


def test_an_unknown_turn_is_sent_with_thinking_disabled_unless_the_client_chose():
    body = {"model": "deepseek-v4-pro", "messages": follow_up(), "reasoning_effort": "high"}
    sent = adapted_request(body, DEEPSEEK)
    assert sent["thinking"] == {"type": "disabled"} and "reasoning_effort" not in sent
    assert "reasoning_content" not in sent["messages"][1]
    chosen = {**body, "thinking": {"type": "enabled"}}
    assert adapted_request(chosen, DEEPSEEK)["thinking"] == {"type": "enabled"}
    off = {**body, "thinking": {"type": "disabled"}}
    assert adapted_request(off, DEEPSEEK) is off
    # An empty reasoning_content is as good as none (V4 Pro refuses it); one the client kept is kept.
    assert turns_lacking_reasoning(follow_up(reasoning_content="")) == [1]
    assert adapted_request({**body, "messages": follow_up(reasoning_content="")}, DEEPSEEK)["thinking"] == \
        {"type": "disabled"}
    kept = {**body, "messages": follow_up(reasoning_content="mine")}
    assert adapted_request(kept, DEEPSEEK) is kept
    plain = {"model": "deepseek-v4-pro", "messages": [ASK]}
    assert adapted_request(plain, DEEPSEEK) is plain
    # Two tool-call turns, one known: still without thinking (DeepSeek wants every one back).
    two = [*follow_up(), {"role": "assistant", "content": None, "tool_calls": [{**CALL, "id": "call_01"}]},
           {"role": "tool", "tool_call_id": "call_01", "content": "ok"}]
    sent = adapted_request({"model": "deepseek-v4-pro", "messages": two}, DEEPSEEK, {1: "Look up Oslo."})
    assert sent["messages"][1]["reasoning_content"] == "Look up Oslo." and sent["thinking"] == {"type": "disabled"}


async def test_the_memory_keeps_whole_streamed_answers_and_forgets_the_oldest():
    memory = ReasoningMemory(limit_chars=10)
    capture = memory.capture()
    for delta in ({"role": "assistant", "reasoning_content": "Oslo"}, {"reasoning_content": "."},
                  {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "f", "arguments": ""}}]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                  {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "g", "arguments": "{}"}}]}):
        capture.add({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    async def recall(call_id: str, name: str = "f") -> str | None:
        turn = {"role": "assistant", "tool_calls": [{"id": call_id, "function": {"name": name}}]}
        return (await memory.recall([turn], [0])).get(0)

    assert await recall("call_1") is None  # not before the answer is whole
    await capture.commit()
    assert await recall("call_1") == "Oslo."
    assert await recall("call_1", "other") is None
    await memory.remember([{"id": "call_3", "function": {"name": "f"}}], "abcdefgh")  # 5 + 8 > 10: the oldest goes
    assert await recall("call_1") is None
    assert await recall("call_3") == "abcdefgh"
    await memory.remember([{"id": "call_4", "function": {"name": "f"}}], "x" * 11)  # longer than the whole memory
    assert await recall("call_4") is None


async def test_replicas_share_the_reasoning_through_redis():
    import redis.asyncio as aioredis

    from gateway.state import RedisState
    from tests.redis_support import redis_server_url

    url = f"{redis_server_url()}/12"
    await aioredis.Redis.from_url(url).flushdb()
    state_a, state_b = RedisState(url), RedisState(url)
    replica_a, replica_b = ReasoningMemory(shared=state_a), ReasoningMemory(shared=state_b)
    await replica_a.remember([CALL], "Look up Oslo.")
    assert await replica_b.recall(follow_up(), [1]) == {1: "Look up Oslo."}
    await state_a.close()
    await state_b.close()
    # Redis unreachable: nothing is found, nothing fails, and nothing piles up in its local fallback.
    down = RedisState("redis://127.0.0.1:1/0")
    memory = ReasoningMemory(shared=down)
    await memory.remember([{**CALL, "id": "call_9"}], "kept here only")
    assert await ReasoningMemory(shared=down).recall(follow_up({**CALL, "id": "call_9"}), [1]) == {}
    assert await memory.recall(follow_up({**CALL, "id": "call_9"}), [1]) == {1: "kept here only"}
    assert await down.get(shared_key(("call_9", "get_weather"))) is None  # (get falls back to the local state)
    await down.close()


def deepseek_like(path: str, body: dict[str, Any]) -> Reply:
    """DeepSeek's API in thinking mode: a tool-call turn without its reasoning is a 400; the first turn calls a
    tool with reasoning, the second answers."""
    thinking = (body.get("thinking") or {}).get("type") != "disabled"
    turns = [m for m in body["messages"] if m.get("role") == "assistant" and m.get("tool_calls")]
    if thinking and any(not m.get("reasoning_content") for m in turns):
        return Reply(status=400, json={"error": {
            "message": "The reasoning_content in the thinking mode must be passed back to the API.",
            "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}})
    if turns:
        return Reply(json=openai_answer(body, "It is 12 C and raining in Oslo."))
    message = {"role": "assistant", "content": None, "reasoning_content": "Look up Oslo.", "tool_calls": [CALL]}
    if body.get("stream"):
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        deltas = [{"role": "assistant", "content": None, "reasoning_content": "Look up "},
                  {"reasoning_content": "Oslo."},
                  {"tool_calls": [{**CALL, "index": 0, "function": {"name": "get_weather", "arguments": ""}}]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": CALL["function"]["arguments"]}}]}]
        items: list[Any] = [{**chunk, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
        items.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        items.append({**chunk, "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 9}})
        return Reply(sse=[*items, b"data: [DONE]\n\n"])
    return Reply(json={**openai_answer(body), "choices": [{"index": 0, "message": message,
                                                           "finish_reason": "tool_calls"}]})


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_through_deepseeks_api_keeps_thinking(gateway, upstream, stream):
    upstream.handler = deepseek_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    first = client.chat.completions.create(model="deepseek-v4-pro", messages=[ASK], tools=TOOLS, stream=stream)
    if stream:
        calls = [call for chunk in first for choice in chunk.choices for call in choice.delta.tool_calls or ()]
        call_id, name = calls[0].id, calls[0].function.name
    else:
        call_id, name = first.choices[0].message.tool_calls[0].id, first.choices[0].message.tool_calls[0].function.name
    assert (call_id, name) == (CALL["id"], "get_weather")
    answer = client.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    assert answer.choices[0].message.content == "It is 12 C and raining in Oslo."
    sent = upstream.seen[-1].body
    assert upstream.seen[-1].path == "/deepseek-v4-pro@deepseek/v1/chat/completions"
    assert sent["messages"][1]["reasoning_content"] == "Look up Oslo." and "thinking" not in sent


def test_a_tool_turn_another_model_answered_goes_to_deepseek_without_thinking(gateway, upstream):
    upstream.handler = deepseek_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    elsewhere = {**CALL, "id": "toolu_01Elsewhere"}  # a call Claude made, say
    answer = client.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(elsewhere), tools=TOOLS,
                                            reasoning_effort="high")
    assert answer.choices[0].message.content == "It is 12 C and raining in Oslo."
    sent = upstream.seen[-1].body
    assert upstream.seen[-1].path == "/deepseek-v4-pro@deepseek/v1/chat/completions"
    assert sent["thinking"] == {"type": "disabled"} and "reasoning_effort" not in sent


@pytest.mark.parametrize("name", ["gemini-3.1-pro@google", "gpt-5.5@openai"])
def test_apis_that_refuse_unknown_message_fields_get_no_reasoning_content(name):
    body = {"model": "auto", "messages": follow_up(reasoning_content="Look up Oslo."), "store": True}
    sent = adapted_request(body, CATALOGUE.deployment(name))
    assert [set(m) for m in sent["messages"]] == [{"role", "content"}, {"role", "content", "tool_calls"},
                                                  {"role", "tool_call_id", "content"}]
    assert body["messages"][1]["reasoning_content"] == "Look up Oslo."  # the client's request is not changed
    assert adapted_request(body, TOGETHER) is body


async def test_the_next_tool_turn_may_reach_another_replica(start_gateway, upstream):
    import redis.asyncio as aioredis

    from tests.redis_support import redis_server_url

    url = f"{redis_server_url()}/13"
    await aioredis.Redis.from_url(url).flushdb()
    upstream.handler = deepseek_like
    first_replica, second_replica = start_gateway(redis_url=url), start_gateway(redis_url=url)
    first = openai.AsyncOpenAI(base_url=first_replica.base_url, api_key=MASTER_KEY, max_retries=0)
    second = openai.AsyncOpenAI(base_url=second_replica.base_url, api_key=MASTER_KEY, max_retries=0)
    await first.chat.completions.create(model="deepseek-v4-pro", messages=[ASK], tools=TOOLS)
    await second.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    sent = upstream.seen[-1].body
    assert sent["messages"][1]["reasoning_content"] == "Look up Oslo." and "thinking" not in sent
