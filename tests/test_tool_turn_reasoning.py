"""DeepSeek's thinking mode wants the reasoning of earlier tool-call turns back (providers/reasoning_memory.py):
the gateway remembers it and puts it back, or sends the request with thinking disabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from gateway.catalogue import load_catalogue
from gateway.providers.adapt import adapted_request
from gateway.providers.reasoning_memory import ReasoningMemory
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


def test_a_remembered_turn_gets_its_reasoning_back():
    memory = ReasoningMemory()
    memory.remember_answer({"choices": [{"index": 0, "message": {
        "role": "assistant", "content": None, "reasoning_content": "The user wants Oslo.", "tool_calls": [CALL]}}]})
    body = {"model": "deepseek-v4-pro", "messages": follow_up(), "reasoning_effort": "high"}
    sent = adapted_request(body, DEEPSEEK, memory.recall)
    assert sent["messages"][1]["reasoning_content"] == "The user wants Oslo."
    assert "thinking" not in sent and sent["reasoning_effort"] == "high"
    assert "reasoning_content" not in body["messages"][1]  # the client's request is not changed
    assert adapted_request(body, TOGETHER, memory.recall) is body  # only DeepSeek's API wants it


def test_an_unknown_turn_is_sent_with_thinking_disabled_unless_the_client_chose():
    memory = ReasoningMemory()
    body = {"model": "deepseek-v4-pro", "messages": follow_up(), "reasoning_effort": "high"}
    sent = adapted_request(body, DEEPSEEK, memory.recall)
    assert sent["thinking"] == {"type": "disabled"} and "reasoning_effort" not in sent
    assert "reasoning_content" not in sent["messages"][1]
    chosen = {**body, "thinking": {"type": "enabled"}}
    assert adapted_request(chosen, DEEPSEEK, memory.recall)["thinking"] == {"type": "enabled"}
    off = {**body, "thinking": {"type": "disabled"}}
    assert adapted_request(off, DEEPSEEK, memory.recall) is off
    # An empty reasoning_content is as good as none (V4 Pro refuses it); one the client kept is kept.
    assert adapted_request({**body, "messages": follow_up(reasoning_content="")}, DEEPSEEK,
                           memory.recall)["thinking"] == {"type": "disabled"}
    kept = {**body, "messages": follow_up(reasoning_content="mine")}
    assert adapted_request(kept, DEEPSEEK, memory.recall) is kept
    plain = {"model": "deepseek-v4-pro", "messages": [ASK]}
    assert adapted_request(plain, DEEPSEEK, memory.recall) is plain


def test_the_memory_keeps_whole_streamed_answers_and_forgets_the_oldest():
    memory = ReasoningMemory(limit_chars=10)
    capture = memory.capture()
    for delta in ({"role": "assistant", "reasoning_content": "Oslo"}, {"reasoning_content": "."},
                  {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "f", "arguments": ""}}]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                  {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "g", "arguments": "{}"}}]}):
        capture.add({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    first = {"tool_calls": [{"id": "call_1", "function": {"name": "f", "arguments": "{}"}}]}
    assert memory.recall(first) is None  # not before the answer is whole
    capture.commit()
    assert memory.recall(first) == "Oslo."
    assert memory.recall({"tool_calls": [{"id": "call_1", "function": {"name": "other"}}]}) is None
    memory.remember([{"id": "call_3", "function": {"name": "f"}}], "abcdefgh")  # 5 + 8 > 10: the oldest goes
    assert memory.recall(first) is None
    assert memory.recall({"tool_calls": [{"id": "call_3", "function": {"name": "f"}}]}) == "abcdefgh"
    memory.remember([{"id": "call_4", "function": {"name": "f"}}], "x" * 11)  # longer than the whole memory
    assert memory.recall({"tool_calls": [{"id": "call_4", "function": {"name": "f"}}]}) is None


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
