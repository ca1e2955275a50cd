"""What APIs want back of earlier tool calls (providers/tool_turn_memory.py): DeepSeek's thinking mode the
reasoning of each tool-call turn (else the request goes with thinking disabled), Gemini 3 each call's thought
signature (else a turn's first call gets the skip sentinel), Claude with thinking the signed thinking blocks of
the turn a request goes on from (else that request goes without thinking); and what other APIs refuse of them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.catalogue import load_catalogue
from gateway.errors import UnsupportedByDeployment
from gateway.ledger import upgrade
from gateway.providers.adapt import SKIP_SIGNATURE, Recalled, adapted_request
from gateway.providers.tool_turn_memory import (
    ENTRY_COST,
    REASONING,
    SIGNATURE,
    ToolTurnMemory,
    shared_key,
    turns_lacking_reasoning,
)
from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, openai_answer

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies")
DEEPSEEK = CATALOGUE.deployment("deepseek-v4-pro@deepseek")
TOGETHER = CATALOGUE.deployment("deepseek-v4-pro@together")
GEMINI = CATALOGUE.deployment("gemini-3.1-pro@google")
CALL = {"id": "call_00_Xq3", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
KEY = ("call_00_Xq3", "get_weather")
SIGNED = {"google": {"thought_signature": "EoYCCoMCARFNMg"}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
ASK = {"role": "user", "content": "What is the weather in Oslo?"}


def follow_up(call: dict[str, Any] = CALL, **assistant: Any) -> list[dict[str, Any]]:
    """A second turn as OpenAI clients build it: the assistant's tool calls (no reasoning) and the result."""
    return [ASK, {"role": "assistant", "content": None, "tool_calls": [call], **assistant},
            {"role": "tool", "tool_call_id": call["id"], "content": "12 C, rain"}]


async def test_a_remembered_turn_gets_its_reasoning_back():
    memory = ToolTurnMemory()
    memory.remember_answer({"choices": [{"index": 0, "message": {
        "role": "assistant", "content": None, "reasoning_content": "The user wants Oslo.", "tool_calls": [CALL]}}]},
        "key-a", reasoning=True, signatures=False)
    body = {"model": "deepseek-v4-pro", "messages": follow_up(), "reasoning_effort": "high"}
    assert turns_lacking_reasoning(body["messages"]) == [(1, KEY)]
    known = Recalled(reasoning=await memory.recall(REASONING, "key-a", [KEY]))
    assert known.reasoning == {KEY: "The user wants Oslo."} and await memory.recall(SIGNATURE, "key-a", [KEY]) == {}
    assert await memory.recall(REASONING, "key-b", [KEY]) == {}  # another caller's turns are not theirs
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
    # The client asked for thinking (Anthropic's shape, sent with model=auto): DeepSeek's API would refuse it, so
    # this deployment cannot take the request and the plan moves on; a null thinking asks for nothing.
    with pytest.raises(UnsupportedByDeployment, match="reasoning_content of every earlier tool-call turn"):
        adapted_request({**body, "thinking": {"type": "enabled", "budget_tokens": 2048}}, DEEPSEEK)
    assert adapted_request({**body, "thinking": None}, DEEPSEEK)["thinking"] == {"type": "disabled"}
    off = {**body, "thinking": {"type": "disabled"}}
    assert adapted_request(off, DEEPSEEK) is off
    # An empty reasoning_content is as good as none (V4 Pro refuses it); one the client kept is kept.
    assert turns_lacking_reasoning(follow_up(reasoning_content="")) == [(1, KEY)]
    assert adapted_request({**body, "messages": follow_up(reasoning_content="")}, DEEPSEEK)["thinking"] == \
        {"type": "disabled"}
    kept = {**body, "messages": follow_up(reasoning_content="mine")}
    assert adapted_request(kept, DEEPSEEK) is kept
    plain = {"model": "deepseek-v4-pro", "messages": [ASK]}
    assert adapted_request(plain, DEEPSEEK) is plain
    # Two tool-call turns, one known: still without thinking (DeepSeek wants every one back).
    two = [*follow_up(), {"role": "assistant", "content": None, "tool_calls": [{**CALL, "id": "call_01"}]},
           {"role": "tool", "tool_call_id": "call_01", "content": "ok"}]
    sent = adapted_request({"model": "deepseek-v4-pro", "messages": two}, DEEPSEEK,
                           Recalled(reasoning={KEY: "Look up Oslo."}))
    assert sent["messages"][1]["reasoning_content"] == "Look up Oslo." and sent["thinking"] == {"type": "disabled"}


async def test_the_memory_keeps_whole_streamed_answers_and_forgets_the_oldest():
    memory = ToolTurnMemory(limit_chars=10 + 2 * ENTRY_COST)
    capture = memory.capture("key-a", reasoning=True, signatures=False)
    for delta in ({"role": "assistant", "reasoning_content": "Oslo"}, {"reasoning_content": "."},
                  {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "", "arguments": ""}}]},
                  {"tool_calls": [{"index": 0, "function": {"name": "f"}}]},  # a name may come in pieces
                  {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                  {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "g", "arguments": "{}"}}]}):
        capture.add({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    async def recall(call_id: str, name: str = "f") -> str | None:
        return (await memory.recall(REASONING, "key-a", [(call_id, name)])).get((call_id, name))

    assert await recall("call_1") is None  # not before the answer is whole
    capture.commit()
    assert await recall("call_1") == "Oslo."
    assert await recall("call_1", "other") is None
    memory.remember(REASONING, "key-a", ("call_3", "f"), "abcdefgh")  # 5 + 8 > 10 (and two entries): the oldest goes
    assert await recall("call_1") is None
    assert await recall("call_3") == "abcdefgh"
    memory.remember(REASONING, "key-a", ("call_4", "f"), "x" * (11 + ENTRY_COST))  # more than the whole memory
    assert await recall("call_4") is None


async def test_replicas_share_the_reasoning_through_redis():
    import redis.asyncio as aioredis

    from gateway.state import RedisState
    from tests.redis_support import redis_server_url

    url = f"{redis_server_url()}/12"
    await aioredis.Redis.from_url(url).flushdb()
    state_a, state_b = RedisState(url), RedisState(url)
    replica_a, replica_b = ToolTurnMemory(shared=state_a), ToolTurnMemory(shared=state_b)
    replica_a.remember(REASONING, "key-a", KEY, "Look up Oslo.")
    await replica_a.close()  # (the shared write runs in the background)
    assert await replica_b.recall(REASONING, "key-a", [KEY]) == {KEY: "Look up Oslo."}
    assert await replica_b.recall(SIGNATURE, "key-a", [KEY]) == {}
    assert await replica_b.recall(REASONING, "key-b", [KEY]) == {}
    await state_a.close()
    await state_b.close()
    # Redis unreachable: nothing is found, nothing fails, and nothing piles up in its local fallback.
    down = RedisState("redis://127.0.0.1:1/0")
    memory = ToolTurnMemory(shared=down)
    memory.remember(REASONING, "key-a", ("call_9", "f"), "kept here only")
    await memory.close()
    assert await ToolTurnMemory(shared=down).recall(REASONING, "key-a", [("call_9", "f")]) == {}
    assert await memory.recall(REASONING, "key-a", [("call_9", "f")]) == {("call_9", "f"): "kept here only"}
    assert await down.get(shared_key(REASONING, "key-a", ("call_9", "f"))) is None  # (get falls back locally)
    await down.close()


def deepseek_like(path: str, body: dict[str, Any]) -> Reply:
    """DeepSeek's API in thinking mode: a tool-call turn without its reasoning is a 400; the first turn calls a
    tool with reasoning, the second answers."""
    thinking = (body.get("thinking") or {}).get("type") != "disabled" and "@deepseek/" in path  # (other hosts: no check)
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


def first_turn_calls(client: openai.OpenAI, model: str, stream: bool) -> list[Any]:
    """The tool calls of a first turn through the gateway, as the SDK gives them (streamed: the deltas)."""
    first = client.chat.completions.create(model=model, messages=[ASK], tools=TOOLS, stream=stream)
    if stream:
        return [call for chunk in first for choice in chunk.choices for call in choice.delta.tool_calls or ()]
    return list(first.choices[0].message.tool_calls or ())


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_through_deepseeks_api_keeps_thinking(gateway, upstream, stream):
    upstream.handler = deepseek_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    calls = first_turn_calls(client, "deepseek-v4-pro", stream)
    assert (calls[0].id, calls[0].function.name) == (CALL["id"], "get_weather")
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
    shared = aioredis.Redis.from_url(url)
    for _ in range(100):  # the first replica writes to Redis in the background, after answering
        if await shared.keys("gw:turn:reasoning:*"):
            break
        await asyncio.sleep(0.02)
    await shared.aclose()
    await second.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    sent = upstream.seen[-1].body
    assert sent["messages"][1]["reasoning_content"] == "Look up Oslo." and "thinking" not in sent


def test_gemini_gets_each_calls_signature_back_or_the_skip_sentinel():
    second = {"id": "call_01", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    parallel = [ASK, {"role": "assistant", "content": None, "tool_calls": [CALL, second]},
                {"role": "tool", "tool_call_id": CALL["id"], "content": "12 C"},
                {"role": "tool", "tool_call_id": "call_01", "content": "noon"}]
    body = {"model": "gemini-3.1-pro", "messages": parallel}
    sent = adapted_request(body, GEMINI, Recalled(signatures={KEY: "EoYCCoMCARFNMg"}))
    assert sent["messages"][1]["tool_calls"][0]["extra_content"] == SIGNED
    assert "extra_content" not in sent["messages"][1]["tool_calls"][1]  # a parallel call carries none
    assert "extra_content" not in body["messages"][1]["tool_calls"][0]  # the client's request is not changed
    unknown = adapted_request(body, GEMINI)
    assert unknown["messages"][1]["tool_calls"][0]["extra_content"] == \
        {"google": {"thought_signature": SKIP_SIGNATURE}}
    signed = {"model": "gemini-3.1-pro", "messages": follow_up({**CALL, "extra_content": SIGNED})}
    assert adapted_request(signed, GEMINI) is signed
    assert adapted_request(body, DEEPSEEK)["messages"][1]["tool_calls"] == [CALL, second]


async def test_signatures_are_remembered_from_answers_streamed_or_not():
    memory = ToolTurnMemory()
    memory.remember_answer({"choices": [{"index": 0, "message": {
        "role": "assistant", "tool_calls": [{**CALL, "extra_content": SIGNED}]}}]}, "key-a", reasoning=False,
        signatures=True)
    assert await memory.recall(SIGNATURE, "key-a", [KEY]) == {KEY: "EoYCCoMCARFNMg"}
    assert await memory.recall(REASONING, "key-a", [KEY]) == {}
    capture = memory.capture("key-a", reasoning=False, signatures=True)
    capture.add({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_7", "type": "function", "function": {"name": "f", "arguments": "{}"},
         "extra_content": {"google": {"thought_signature": "sig-7"}}}]}}]})
    capture.commit()
    assert await memory.recall(SIGNATURE, "key-a", [("call_7", "f")]) == {("call_7", "f"): "sig-7"}


def gemini_like(path: str, body: dict[str, Any]) -> Reply:
    """Gemini 3's OpenAI-compatible endpoint: a turn whose first call lacks its signature is a 400; the first turn
    calls a tool (signed), the second answers."""
    turns = [m for m in body["messages"] if m.get("role") == "assistant" and m.get("tool_calls")]
    if any(not ((m["tool_calls"][0].get("extra_content") or {}).get("google") or {}).get("thought_signature")
           for m in turns):
        return Reply(status=400, json=[{"error": {
            "code": 400, "status": "INVALID_ARGUMENT",
            "message": "Function call is missing a thought_signature in functionCall parts."}}])
    if turns:
        return Reply(json=openai_answer(body, "It is 12 C and raining in Oslo."))
    call = {**CALL, "extra_content": SIGNED}
    if body.get("stream"):
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        items: list[Any] = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{**call, "index": 0}]},
                                   "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {**chunk, "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 9}}]
        return Reply(sse=[*items, b"data: [DONE]\n\n"])
    return Reply(json={**openai_answer(body), "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "tool_calls": [call]}}]})


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_through_gemini_keeps_its_signatures(gateway, upstream, stream):
    upstream.handler = gemini_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    calls = first_turn_calls(client, "gemini-3.1-pro", stream)
    assert calls[0].id == CALL["id"] and calls[0].extra_content == SIGNED  # the client gets it, as Gemini sent it
    answer = client.chat.completions.create(model="gemini-3.1-pro", messages=follow_up(), tools=TOOLS)
    assert answer.choices[0].message.content == "It is 12 C and raining in Oslo."
    assert upstream.seen[-1].path == "/gemini-3.1-pro@google/v1/chat/completions"
    assert upstream.seen[-1].body["messages"][1]["tool_calls"][0]["extra_content"] == SIGNED
    elsewhere = client.chat.completions.create(model="gemini-3.1-pro", messages=follow_up({**CALL, "id": "toolu_01"}),
                                               tools=TOOLS)
    assert elsewhere.choices[0].message.content == "It is 12 C and raining in Oslo."
    assert upstream.seen[-1].body["messages"][1]["tool_calls"][0]["extra_content"] == \
        {"google": {"thought_signature": SKIP_SIGNATURE}}


async def test_redis_refusing_a_write_or_a_read_costs_only_the_memory():
    import redis.exceptions

    from gateway.state import RedisState
    from tests.redis_support import redis_server_url

    state = RedisState(f"{redis_server_url()}/12")

    async def full(*args, **kwargs):
        raise redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'.")

    state._redis.set = full  # type: ignore[method-assign]  # a full Redis with noeviction, say
    state._redis.mget = full  # type: ignore[method-assign]
    memory = ToolTurnMemory(shared=state)
    memory.remember(REASONING, "key-a", KEY, "Look up Oslo.")
    await memory.close()
    assert await ToolTurnMemory(shared=state).recall(REASONING, "key-a", [KEY]) == {}
    assert await memory.recall(REASONING, "key-a", [KEY]) == {KEY: "Look up Oslo."}  # (kept in process)
    await state.close()


def fallbacks(gateway, kind: str, deployment: str) -> str:
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    prefix = f'gateway_tool_turn_fallbacks_total{{deployment="{deployment}",kind="{kind}"}} '
    return next((line.removeprefix(prefix) for line in metrics.splitlines() if line.startswith(prefix)), "none")


def test_thinking_asked_for_with_unknown_turns_goes_to_another_host_and_fallbacks_are_counted(gateway, upstream):
    upstream.handler = deepseek_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    answer = client.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS,
                                            extra_body={"thinking": {"type": "enabled"}})
    assert answer.choices[0].message.content == "It is 12 C and raining in Oslo."
    assert [seen.path for seen in upstream.seen] == ["/deepseek-v4-pro@together/v1/chat/completions"]
    assert upstream.seen[-1].body["thinking"] == {"type": "enabled"}
    assert fallbacks(gateway, "reasoning", "deepseek-v4-pro@deepseek") == "1.0"
    client.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    assert fallbacks(gateway, "reasoning", "deepseek-v4-pro@deepseek") == "2.0"
    assert upstream.seen[-1].body["thinking"] == {"type": "disabled"}
    upstream.handler = gemini_like
    client.chat.completions.create(model="gemini-3.1-pro", messages=follow_up(), tools=TOOLS)
    assert fallbacks(gateway, "signature", "gemini-3.1-pro@google") == "1.0"


def test_one_keys_tool_turns_are_not_anothers(start_gateway, upstream, tmp_path):
    database = f"sqlite:///{tmp_path}/ledger.db"
    upgrade(database)
    gateway = start_gateway(database_url=database, admin_key="gw-admin-test", spool_dir=tmp_path / "spool")
    keys = [httpx.post(gateway.base_url.replace("/v1", "/admin/keys"), json={"team": team},
                       headers={"Authorization": "Bearer gw-admin-test"}).json()["key"] for team in ("a", "b")]
    upstream.handler = deepseek_like
    first, other = (openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0) for key in keys)
    first.chat.completions.create(model="deepseek-v4-pro", messages=[ASK], tools=TOOLS)
    other.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    assert "reasoning_content" not in upstream.seen[-1].body["messages"][1]  # not the first key's reasoning
    first.chat.completions.create(model="deepseek-v4-pro", messages=follow_up(), tools=TOOLS)
    assert upstream.seen[-1].body["messages"][1]["reasoning_content"] == "Look up Oslo."


SIGNED_THINKING = {"type": "thinking", "thinking": "Look up Oslo.", "signature": "EqQBCgIYAh=="}


def claude_like(path: str, body: dict[str, Any]) -> Reply:
    """Anthropic's Messages API with thinking on: a tool loop's last assistant turn must start with its signed
    thinking; the first turn thinks and calls a tool, the second answers."""
    usage = {"input_tokens": 20, "output_tokens": 9}
    if len(body["messages"]) > 1:
        if body.get("thinking") and body["messages"][-2]["content"][0] != SIGNED_THINKING:
            return Reply(status=400, json={"type": "error", "error": {"type": "invalid_request_error", "message":
                         "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."}})
        return Reply(json={"id": "msg_2", "type": "message", "role": "assistant", "model": body["model"],
                           "content": [{"type": "text", "text": "It is 12 C and raining in Oslo."}],
                           "stop_reason": "end_turn", "usage": usage})
    tool_use = {"type": "tool_use", "id": "toolu_01Oslo", "name": "get_weather", "input": {"city": "Oslo"}}
    if not body.get("stream"):
        return Reply(json={"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                           "content": [SIGNED_THINKING, tool_use], "stop_reason": "tool_use", "usage": usage})
    events = [("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": body["model"],
                                                                      "usage": usage}}),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "thinking_delta", "thinking": "Look up Oslo."}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "signature_delta", "signature": "EqQBCgIYAh=="}}),
              ("content_block_stop", {"type": "content_block_stop", "index": 0}),
              ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": tool_use}),
              ("content_block_stop", {"type": "content_block_stop", "index": 1}),
              ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": usage}),
              ("message_stop", {"type": "message_stop"})]
    return Reply(sse=events)


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_through_claude_keeps_thinking(gateway, upstream, stream):
    upstream.handler = claude_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    first = client.chat.completions.create(model="claude-opus-4.7", messages=[ASK], tools=TOOLS, stream=stream,
                                           extra_body=thinking)
    if stream:
        deltas = [choice.delta for chunk in first for choice in chunk.choices]
        reasoning = "".join(getattr(delta, "reasoning_content", None) or "" for delta in deltas)
        calls = [call for delta in deltas for call in delta.tool_calls or ()]
    else:
        reasoning, calls = first.choices[0].message.reasoning_content, first.choices[0].message.tool_calls
    assert reasoning == "Look up Oslo." and calls[0].id == "toolu_01Oslo"  # the client sees the thinking too
    oslo = {**CALL, "id": "toolu_01Oslo"}
    answer = client.chat.completions.create(model="claude-opus-4.7", messages=follow_up(oslo), tools=TOOLS,
                                            extra_body=thinking)
    assert answer.choices[0].message.content == "It is 12 C and raining in Oslo."
    sent = upstream.seen[-1].body
    assert sent["thinking"] == thinking["thinking"] and sent["messages"][1]["content"][0] == SIGNED_THINKING
    # Thinking disabled asks for no blocks; a turn the gateway did not keep goes without thinking (counted).
    client.chat.completions.create(model="claude-opus-4.7", messages=follow_up(oslo), tools=TOOLS,
                                   extra_body={"thinking": {"type": "disabled"}})
    assert upstream.seen[-1].body["messages"][1]["content"][0]["type"] == "tool_use"
    assert "thinking" not in upstream.seen[-1].body
    client.chat.completions.create(model="claude-opus-4.7", messages=follow_up({**CALL, "id": "toolu_02"}),
                                   tools=TOOLS, extra_body=thinking)
    assert "thinking" not in upstream.seen[-1].body
    assert fallbacks(gateway, "thinking", "claude-opus-4.7@anthropic") == "1.0"


def test_a_cut_thinking_stream_is_charged_for_its_thinking(gateway, upstream):
    thought = "Considering the weather in Oslo. " * 250  # 8,250 characters of thinking, then the stream is cut
    events = [("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude",
                                                                      "usage": {"input_tokens": 20, "output_tokens": 1}}}),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "thinking_delta", "thinking": thought}})]
    upstream.handler = lambda path, body: Reply(sse=events)  # (ends without message_stop: a cut)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = []
    with pytest.raises(openai.APIError, match="ended the stream before message_stop"):  # (the error event)
        for chunk in client.chat.completions.create(model="claude-opus-4.7", messages=[ASK], stream=True,
                                                    extra_body={"thinking": {"type": "enabled", "budget_tokens": 4096}}):
            chunks.append(chunk)
    assert "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices) == thought
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    output = next(line for line in metrics.splitlines()
                  if line.startswith('gateway_tokens_total{kind="output",model="claude-opus-4.7"}'))
    assert float(output.rsplit(" ", 1)[1]) >= len(thought) // 4  # not the 1 token message_start reported


def test_one_tool_loop_across_claude_gemini_and_deepseek(gateway, upstream):
    """A conversation the SDK keeps as the gateway answered it (the assistant message as returned, reasoning
    included) moves from Claude to Gemini to DeepSeek: each API gets the history in a shape it takes."""
    known = {"role", "content", "tool_calls", "tool_call_id", "name"}

    def handler(path: str, body: dict[str, Any]) -> Reply:
        if path.endswith("/v1/messages"):
            return claude_like(path, body)
        if "@google/" in path:
            unknown = {key for message in body["messages"] for key in message} - known
            if unknown:  # Gemini's endpoint refuses names it does not know
                return Reply(status=400, json=[{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                                                          f"Invalid JSON payload received. Unknown name {unknown}"}}])
            return gemini_like(path, body)
        return deepseek_like(path, body)

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    first = client.chat.completions.create(model="claude-opus-4.7", messages=[ASK], tools=TOOLS,
                                           extra_body={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    turn = first.choices[0].message.model_dump(exclude_none=True)
    assert turn["reasoning_content"] == "Look up Oslo."
    history = [ASK, turn, {"role": "tool", "tool_call_id": turn["tool_calls"][0]["id"], "content": "12 C, rain"}]
    for model in ("gemini-3.1-pro", "deepseek-v4-pro"):
        answer = client.chat.completions.create(model=model, messages=history, tools=TOOLS)
        assert answer.choices[0].message.content == "It is 12 C and raining in Oslo.", model
    sent_to_gemini, sent_to_deepseek = (seen.body for seen in upstream.seen[-2:])
    assert sent_to_gemini["messages"][1]["tool_calls"][0]["extra_content"] == \
        {"google": {"thought_signature": SKIP_SIGNATURE}}
    assert sent_to_deepseek["messages"][1]["reasoning_content"] == "Look up Oslo."  # Claude's, as the client kept it
    assert "thinking" not in sent_to_deepseek


def test_gpt_55_gets_no_gemini_signature_and_gemini_keeps_its_own():
    body = {"model": "auto", "messages": follow_up({**CALL, "extra_content": SIGNED}, reasoning_content="Oslo.")}
    sent = adapted_request(body, CATALOGUE.deployment("gpt-5.5@openai"))
    assert sent["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [CALL]}
    assert body["messages"][1]["tool_calls"][0]["extra_content"] == SIGNED  # the client's request is not changed
    kept = adapted_request(body, GEMINI)["messages"][1]
    assert kept["tool_calls"][0]["extra_content"] == SIGNED and "reasoning_content" not in kept
