"""End to end with the official openai SDK: only base_url changes, everything keeps working."""

from __future__ import annotations

import time
from decimal import Decimal

import openai
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, anthropic_stream_events, openai_answer, openai_stream

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]


def client(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)


def test_non_streaming_passthrough_of_every_field(gateway, upstream):
    fields = dict(temperature=0.3, top_p=0.9, stop=["END"], seed=7, n=2, logprobs=True, top_logprobs=2,
                  user="u-1", metadata={"team": "search"}, parallel_tool_calls=False, reasoning_effort="low",
                  tools=TOOLS, tool_choice="auto", presence_penalty=0.1, frequency_penalty=0.2, max_tokens=50)
    # Gemini's OpenAI-compatible endpoint refuses seed, the penalties and logprobs (the catalogue says so) and has
    # no use for OpenAI's stored-completion metadata (left out); it gets the rest unchanged.
    refused = {"seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs"}
    dropped = {"metadata"}
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gemini-3.1-pro", messages=[{"role": "user", "content": "hi"}],
        **{name: value for name, value in fields.items() if name not in refused})
    answer = raw.parse()
    assert answer.choices[0].message.content == "Hello from the mock."
    assert answer.model == "gemini-3.1-pro"
    sent = upstream.seen[-1]
    assert sent.path == "/gemini-3.1-pro@google/v1/chat/completions"
    assert sent.body["model"] == "gemini-3.1-pro-preview" and "metadata" not in sent.body
    for name, value in fields.items():
        assert name in refused | dropped or sent.body[name] == value, name
    assert sent.headers["Authorization"] == "Bearer gemini-SECRET-6666"
    assert raw.headers["x-gateway-model"] == "gemini-3.1-pro"
    assert raw.headers["x-gateway-deployment"] == "gemini-3.1-pro@google"
    assert raw.headers["x-gateway-request-id"].startswith("req_")
    # 12 prompt tokens at $2/M + 5 output tokens at $10.50/M
    assert Decimal(raw.headers["x-gateway-cost-usd"]) == Decimal("0.0000765")
    with pytest.raises(openai.BadRequestError, match="gemini-3.1-pro@google cannot take 'seed'") as caught:
        client(gateway).chat.completions.create(model="gemini-3.1-pro", messages=[{"role": "user", "content": "hi"}],
                                                seed=7)
    assert caught.value.body["param"] == "seed"
    # GPT-5.5 (a reasoning model) gets the rest unchanged, with max_tokens sent as max_completion_tokens.
    sampling = {"temperature", "top_p", "max_tokens"}
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "hi"}],
        **{name: value for name, value in fields.items() if name not in sampling}, max_completion_tokens=50)
    sent = upstream.seen[-1]
    assert sent.path == "/gpt-5.5@openai/v1/chat/completions" and sent.body["max_completion_tokens"] == 50
    assert all(sent.body[name] == value for name, value in fields.items() if name not in sampling)
    assert sent.headers["Authorization"] == "Bearer sk-openai-SECRET-5555"
    # 12 prompt tokens at $5/M + 5 output tokens at $30/M
    assert Decimal(raw.headers["x-gateway-cost-usd"]) == Decimal("0.000210")


def test_the_sdk_sees_the_request_id_on_answers_and_errors(gateway, upstream):
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    completion = client.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "hi"}])
    assert completion._request_id == gateway.recorder.records[-1].request_id
    with pytest.raises(openai.NotFoundError) as refused:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.request_id == gateway.recorder.records[-1].request_id


def test_a_base_url_without_v1_serves_chat_and_models(gateway, upstream):
    client = openai.OpenAI(base_url=gateway.url, api_key=MASTER_KEY, max_retries=0)
    assert "auto" in [model.id for model in client.models.list()]
    assert client.models.retrieve("deepseek-v4-pro").id == "deepseek-v4-pro"
    assert client.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "hi"}]).choices


def test_auto_is_routed_by_the_policy(gateway, upstream):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-gateway-category": "N4"})
    assert raw.headers["x-gateway-deployment"] == "deepseek-v4-pro@deepseek"
    assert upstream.seen[-1].body["model"] == "deepseek-v4-pro"
    assert raw.parse().model == "deepseek-v4-pro"


def test_streaming_flushes_each_chunk_as_it_arrives(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["one", " two", " three"], pause=0.4))
    started = time.perf_counter()
    arrivals = []
    pieces = []
    for chunk in client(gateway).chat.completions.create(
            model="gpt-5.5", messages=[{"role": "user", "content": "count"}], stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter() - started)
            pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == "one two three"
    # each piece arrives when the upstream sends it, not all at the end
    assert arrivals[0] < 0.75 and arrivals[-1] > 1.1
    assert arrivals[1] - arrivals[0] > 0.25


def test_usage_is_always_fetched_but_only_shown_when_asked(gateway, upstream):
    usage = {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020,
             "prompt_tokens_details": {"cached_tokens": 800}}
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["a", "b"], usage=usage))
    chunks = list(client(gateway).chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "x"}], stream=True))
    assert upstream.seen[-1].body["stream_options"] == {"include_usage": True}
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    record = gateway.recorder.records[-1]
    assert (record.usage.input, record.usage.cached_input, record.usage.output) == (200, 800, 20)

    chunks = list(client(gateway).chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "x"}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].usage.prompt_tokens == 1000 and chunks[-1].choices == []


def test_stream_and_non_stream_price_the_same_usage_identically(gateway, upstream):
    usage = {"prompt_tokens": 5000, "completion_tokens": 300, "total_tokens": 5300,
             "prompt_cache_hit_tokens": 4096, "prompt_cache_miss_tokens": 904,
             "prompt_tokens_details": {"cached_tokens": 4096}}

    def reply(path, body):
        if body.get("stream"):
            return Reply(sse=openai_stream(body, ["x"], usage=usage))
        return Reply(json=openai_answer(body, usage=usage))

    upstream.handler = reply
    sdk = client(gateway)
    sdk.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "q"}])
    list(sdk.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "q"}],
                                     stream=True))
    plain, streamed = gateway.recorder.records[-2:]
    assert plain.usage == streamed.usage
    assert plain.usage.cached_input == 4096 and plain.usage.input == 904
    assert plain.cost_usd == streamed.cost_usd > 0


def test_deepseeks_cache_hits_reach_the_client_as_openais_cached_tokens_too(gateway, upstream):
    # DeepSeek reports prompt_cache_hit_tokens only; SDK users read usage.prompt_tokens_details.cached_tokens.
    usage = {"prompt_tokens": 5000, "completion_tokens": 300, "total_tokens": 5300,
             "prompt_cache_hit_tokens": 4096, "prompt_cache_miss_tokens": 904}

    def reply(path, body):
        if body.get("stream"):
            return Reply(sse=openai_stream(body, ["x"], usage=dict(usage)))
        return Reply(json=openai_answer(body, usage=dict(usage)))

    upstream.handler = reply
    sdk = client(gateway)
    whole = sdk.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "q"}])
    chunks = list(sdk.chat.completions.create(model="deepseek-v4-pro", messages=[{"role": "user", "content": "q"}],
                                              stream=True, stream_options={"include_usage": True}))
    for reported in (whole.usage, chunks[-1].usage):
        assert reported.prompt_tokens_details.cached_tokens == 4096
        assert reported.model_extra["prompt_cache_hit_tokens"] == 4096  # DeepSeek's own fields stay
    plain, streamed = gateway.recorder.records[-2:]
    assert plain.usage.cached_input == streamed.usage.cached_input == 4096  # billed once, not twice


def test_an_answer_without_usage_is_billed_as_estimated_streamed_or_not(gateway, upstream):
    text = "A fairly long answer. " * 50

    def reply(path, body):
        if body.get("stream"):
            items = openai_stream(body, [text])
            return Reply(sse=[item for item in items if not (isinstance(item, dict) and "usage" in item)])
        answer = openai_answer(body, text=text)
        del answer["usage"]
        return Reply(json=answer)

    upstream.handler = reply
    sdk = client(gateway)
    messages = [{"role": "user", "content": "Write a long essay. " * 200}]
    raw = sdk.chat.completions.with_raw_response.create(model="gpt-5.5", messages=messages)
    chunks = list(sdk.chat.completions.create(model="gpt-5.5", messages=messages, stream=True,
                                              stream_options={"include_usage": True}))
    plain, streamed = gateway.recorder.records[-2:]
    assert Decimal(raw.headers["x-gateway-cost-usd"]) == plain.cost_usd > 0
    for record in (plain, streamed):
        assert record.error_code == "usage_estimated"
        assert record.usage.input > 900 and record.usage.output == (len(text) + 3) // 4
    assert plain.usage == streamed.usage and plain.cost_usd == streamed.cost_usd
    # The client gets the usage it is billed, as every OpenAI answer (and a stream that asked for it) carries.
    billed = (plain.usage.prompt_tokens, plain.usage.output)
    assert (raw.parse().usage.prompt_tokens, raw.parse().usage.completion_tokens) == billed
    assert [(c.usage.prompt_tokens, c.usage.completion_tokens) for c in chunks if c.usage] == [billed]
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    # ... and a stream that did not ask for it gets none.
    assert not [c for c in sdk.chat.completions.create(model="gpt-5.5", messages=messages, stream=True) if c.usage]


def test_unchecked_tool_calls_without_usage_are_estimated_alike_streamed_or_not(gateway, upstream):
    # n=2 answers are relayed unchecked; their tool-call arguments are output all the same.
    arguments = '{"city": "' + "x" * 390 + '"}'
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}

    def reply(path, body):
        if body.get("stream"):
            head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
            return Reply(sse=[
                {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
                    {"index": 0, **call}]}, "finish_reason": None}]},
                {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
                {**head, "choices": [], "usage": {}},  # an empty usage object: reports nothing
                b"data: [DONE]\n\n"])
        answer = openai_answer(body)
        answer["choices"] = [{"index": 0, "finish_reason": "tool_calls",
                              "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]
        answer["usage"] = {}
        return Reply(json=answer)

    upstream.handler = reply
    sdk = client(gateway)
    request = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS, "n": 2}
    whole = sdk.chat.completions.create(**request)
    chunks = list(sdk.chat.completions.create(**request, stream=True, stream_options={"include_usage": True}))
    plain, streamed = gateway.recorder.records[-2:]
    assert plain.usage == streamed.usage and plain.usage.output == (len(arguments) + 3) // 4
    assert whole.usage.completion_tokens == plain.usage.output
    assert [c.usage.completion_tokens for c in chunks if c.usage] == [plain.usage.output]  # one usage chunk


def test_custom_tools_and_allowed_tools_pass_through_unchanged(gateway, upstream):
    grammar = {"type": "custom", "custom": {"name": "sql", "description": "one SQL query",
                                            "format": {"type": "grammar", "grammar": {"syntax": "lark",
                                                                                      "definition": "start: /.+/"}}}}
    history = [{"role": "user", "content": "count users"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_0", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}]},
               {"role": "tool", "tool_call_id": "call_0", "content": "1"},
               {"role": "user", "content": "now count orders"}]
    call = {"id": "call_1", "type": "custom", "custom": {"name": "sql", "input": "SELECT count(*) FROM orders"}}
    upstream.handler = lambda path, body: Reply(json={**openai_answer(body), "choices": [{
        "index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                                                               "tool_calls": [call]}}]})
    sdk = client(gateway)
    tools = [grammar, *TOOLS]
    for choice in ({"type": "custom", "custom": {"name": "sql"}},
                   {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
                       {"type": "custom", "custom": {"name": "sql"}}]}}):
        answer = sdk.chat.completions.create(model="gpt-5.5", messages=history, tools=tools, tool_choice=choice)
        assert answer.choices[0].message.tool_calls[0].custom.input == "SELECT count(*) FROM orders"
        sent = upstream.seen[-1].body
        assert (sent["tools"], sent["tool_choice"], sent["messages"]) == (tools, choice, history)
    assert len(upstream.seen) == 2  # passed through unchecked: no repair of a free-form call


async def test_async_client_streaming_and_not(gateway, upstream):
    sdk = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    answer = await sdk.chat.completions.create(model="cheap", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello from the mock."
    assert answer.model == "deepseek-v4-flash"
    stream = await sdk.chat.completions.create(model="cheap", messages=[{"role": "user", "content": "hi"}],
                                               stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from the mock."
    await sdk.close()


def test_tools_round_trip_through_openai_compatible_upstream(gateway, upstream):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    upstream.handler = lambda path, body: Reply(json={
        **openai_answer(body), "choices": [{"index": 0, "finish_reason": "tool_calls",
                                            "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]})
    answer = client(gateway).chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "weather in Oslo?"}], tools=TOOLS)
    assert answer.choices[0].finish_reason == "tool_calls"
    assert answer.choices[0].message.tool_calls[0].function.arguments == '{"city":"Oslo"}'


def test_response_format_json_schema_passes_through(gateway, upstream):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    upstream.handler = lambda path, body: Reply(json=openai_answer(body, text='{"name": "Ada"}'))
    answer = client(gateway).chat.completions.create(
        model="gemini-3.1-pro", messages=[{"role": "user", "content": "name?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
    assert answer.choices[0].message.content == '{"name": "Ada"}'
    assert upstream.seen[-1].body["response_format"]["json_schema"]["schema"] == schema


def test_anthropic_non_streaming_with_tools_and_system(gateway, upstream):
    upstream.handler = lambda path, body: Reply(json={
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-7",
        "content": [{"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 30, "output_tokens": 12, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 0}})
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="claude-opus-4.7", tools=TOOLS, tool_choice="required",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "weather in Oslo?"}])
    answer = raw.parse()
    sent = upstream.seen[-1]
    assert sent.path == "/claude-opus-4.7@anthropic/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-SECRET-4444"
    assert sent.body["system"] == "Be brief."
    assert sent.body["tool_choice"] == {"type": "any"}
    assert sent.body["tools"][0]["input_schema"]["required"] == ["city"]
    assert answer.choices[0].finish_reason == "tool_calls"
    assert answer.choices[0].message.tool_calls[0].id == "toolu_1"
    assert answer.usage.prompt_tokens == 130 and answer.usage.prompt_tokens_details.cached_tokens == 100
    # 30 x $5 + 100 x $0.50 + 12 x $25, per 1M
    assert Decimal(raw.headers["x-gateway-cost-usd"]) == Decimal("0.000500")


def test_anthropic_streaming_translated_to_openai_chunks(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=anthropic_stream_events("Hi there", output_tokens=9))
    chunks = list(client(gateway).chat.completions.create(
        model="frontier", messages=[{"role": "user", "content": "hello"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hi there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 9  # the last cumulative value, not a sum
    assert gateway.recorder.records[-1].usage.output == 9


@pytest.mark.parametrize("model", ["deepseek-v4-flash", "gemini-3.1-pro", "claude-opus-4.7"])
def test_every_provider_kind_answers_through_the_sdk(gateway, upstream, model):
    answer = client(gateway).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    assert answer.model == model


def test_models_endpoint_lists_models_and_aliases(gateway):
    ids = {m.id for m in client(gateway).models.list()}
    assert {"deepseek-v4-pro", "deepseek-v4-flash", "claude-opus-4.7", "gpt-5.5", "gemini-3.1-pro",
            "local-worker", "auto", "cheap", "frontier"} <= ids
    assert client(gateway).models.retrieve("auto").id == "auto"
