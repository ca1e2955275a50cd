"""What each deployment is sent of an OpenAI request (providers/adapt.py), as the shipped catalogue says."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from gateway.catalogue import load_catalogue
from gateway.errors import UnsupportedByDeployment
from gateway.providers.adapt import adapted_request, refusal, refused_entry, token_cap
from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, openai_answer, openai_stream

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[1] / "policies")
HI = [{"role": "user", "content": "hi"}]
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}}


def deployment(name: str):
    found = CATALOGUE.deployment(name)
    assert found is not None
    return found


@pytest.mark.parametrize("body, param, expected", [
    ({"max_completion_tokens": 50}, "max_tokens", {"max_tokens": 50}),
    ({"max_tokens": 80, "max_completion_tokens": 50}, "max_tokens", {"max_tokens": 50}),  # the newer name wins
    ({"max_tokens": 80, "max_completion_tokens": None}, "max_tokens", {"max_tokens": 80}),
    ({"max_tokens": 80}, "max_tokens", {"max_tokens": 80}),
    ({"max_tokens": 80}, "max_completion_tokens", {"max_completion_tokens": 80}),
    ({"max_tokens": 80, "max_completion_tokens": 50}, "max_completion_tokens", {"max_completion_tokens": 50}),
    ({}, "max_completion_tokens", {}),
])
def test_the_output_cap_goes_by_the_name_the_deployment_reads(body, param, expected):
    assert token_cap(body, param) == expected


def test_refusals_match_a_field_or_its_kind():
    refuses = (("response_format", "json_schema"), ("seed", ""))
    assert refused_entry({"response_format": SCHEMA_FORMAT}, refuses) == ("response_format", "json_schema")
    assert refused_entry({"response_format": {"type": "json_object"}}, refuses) is None
    assert refused_entry({"seed": 0}, refuses) == ("seed", "")
    assert refused_entry({"seed": None, "tool_choice": "required"}, (*refuses, ("tool_choice", "required"))) == \
        ("tool_choice", "required")
    assert deployment("deepseek-v4-flash@deepseek").refuses[0] == ("response_format", "json_schema")


def test_the_shipped_catalogue_adapts_deepseek_gemini_and_gpt():
    deepseek = deployment("deepseek-v4-pro@deepseek")
    assert adapted_request({"messages": HI, "max_completion_tokens": 9}, deepseek) == {"messages": HI, "max_tokens": 9}
    with pytest.raises(UnsupportedByDeployment, match="cannot take response_format of type 'json_schema'") as caught:
        adapted_request({"messages": HI, "response_format": SCHEMA_FORMAT}, deepseek)
    assert caught.value.param == "response_format"
    for forced in ("required", {"type": "function", "function": {"name": "f"}}, {"function": {"name": "f"}}):
        with pytest.raises(UnsupportedByDeployment,
                           match='cannot take tool_choice of type .* in thinking mode; send thinking {"type": "disabled"}'):
            adapted_request({"messages": HI, "tool_choice": forced}, deepseek)
        # ... which a request that turns thinking off does not use: it takes the forced choice.
        unthinking = {"messages": HI, "tool_choice": forced, "thinking": {"type": "disabled"}}
        assert adapted_request(unthinking, deepseek)["tool_choice"] == forced
    assert adapted_request({"messages": HI, "tool_choice": "auto"}, deepseek)["tool_choice"] == "auto"
    together = {"messages": HI, "response_format": SCHEMA_FORMAT}
    assert adapted_request(together, deployment("deepseek-v4-pro@together")) is together  # nothing to change
    gemini = deployment("gemini-3.1-pro@google")
    assert adapted_request({"messages": HI, "store": True, "metadata": {"a": "b"}}, gemini) == {"messages": HI}
    with pytest.raises(UnsupportedByDeployment, match="'web_search_options'"):
        adapted_request({"messages": HI, "web_search_options": {}}, gemini)
    with pytest.raises(UnsupportedByDeployment, match="reasoning_effort of type 'minimal'"):
        adapted_request({"messages": HI, "reasoning_effort": "minimal"}, gemini)
    assert adapted_request({"messages": HI, "reasoning_effort": "low"}, gemini)["reasoning_effort"] == "low"
    # A refused penalty at its default (0) asks for nothing: left out, not refused.
    assert adapted_request({"messages": HI, "frequency_penalty": 0, "presence_penalty": 0.0, "seed": None},
                           gemini) == {"messages": HI}
    with pytest.raises(UnsupportedByDeployment, match="'frequency_penalty'"):
        adapted_request({"messages": HI, "frequency_penalty": 0.5}, gemini)
    plain = {"messages": HI}
    assert adapted_request(plain, deployment("deepseek-v4-pro@self-hosted")) is plain
    developer = {"messages": [{"role": "developer", "content": "Be terse."}, *HI]}
    assert adapted_request(developer, deepseek)["messages"] == [{"role": "system", "content": "Be terse."}, *HI]
    assert adapted_request(developer, deployment("gpt-5.5@openai"))["messages"] == developer["messages"]


def test_a_json_schema_request_for_v4_pro_skips_deepseeks_api(gateway, upstream):
    upstream.handler = lambda path, body: Reply(json=openai_answer(body, '{"answer": 42}'))
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HI, response_format=SCHEMA_FORMAT, max_completion_tokens=40)
    assert raw.headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    assert raw.headers["x-gateway-attempts"] == "1"
    assert [seen.path for seen in upstream.seen] == ["/deepseek-v4-pro@together/v1/chat/completions"]
    assert upstream.seen[-1].body["max_tokens"] == 40 and "max_completion_tokens" not in upstream.seen[-1].body


def test_text_parts_go_to_deepseeks_api_as_one_string():
    parts = [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Cite sources.",
                                                          "cache_control": {"type": "ephemeral"}}]
    image = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    body = {"messages": [{"role": "system", "content": parts}, {"role": "user", "content": image},
                         {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "12C"}]}]}
    sent = adapted_request(body, deployment("deepseek-v4-flash@deepseek"))
    assert [m["content"] for m in sent["messages"]] == ["You are terse.\n\nCite sources.", image, "12C"]
    assert body["messages"][0]["content"] is parts  # the client's request is not changed
    assert adapted_request(body, deployment("deepseek-v4-pro@together")) is body  # OpenAI-compatible hosts take parts


def test_an_sdk_request_with_text_parts_is_served_by_deepseeks_api(gateway, upstream):
    def deepseek_like(path, body):
        if "@deepseek/" in path and any(isinstance(m.get("content"), list) for m in body["messages"]):
            return Reply(status=400, json={"error": {"message": "Failed to deserialize the JSON body into the target "
                                                     "type: messages[0]: invalid type: sequence, expected a string",
                                                     "type": "invalid_request_error"}})
        return Reply(json=openai_answer(body))

    upstream.handler = deepseek_like
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="deepseek-v4-pro", messages=[
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}])
    assert raw.headers["x-gateway-deployment"] == "deepseek-v4-pro@deepseek"
    assert [m["content"] for m in upstream.seen[-1].body["messages"]] == ["Be terse.", "Hi\n\nthere"]


def test_gpt_55_refuses_a_logit_bias_and_takes_an_empty_one():
    gpt = deployment("gpt-5.5@openai")
    with pytest.raises(UnsupportedByDeployment, match="'logit_bias'") as caught:
        adapted_request({"messages": HI, "logit_bias": {"1734": -100}}, gpt)
    assert caught.value.param == "logit_bias"
    assert adapted_request({"messages": HI, "logit_bias": {}}, gpt) == {"messages": HI}


def test_a_forced_tool_choice_without_thinking_stays_on_deepseeks_api(gateway, upstream):
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    upstream.handler = lambda path, body: Reply(json={**openai_answer(body), "choices": [{
        "index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                                                               "tool_calls": [call]}}]})
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    for thinking, served_by in (({"type": "disabled"}, "deepseek-v4-pro@deepseek"),
                                ({"type": "enabled"}, "deepseek-v4-pro@together")):
        raw = client.chat.completions.with_raw_response.create(
            model="deepseek-v4-pro", messages=HI, tools=tools, tool_choice="required", extra_body={"thinking": thinking})
        assert raw.headers["x-gateway-deployment"] == served_by


def test_gemini_refuses_what_its_endpoint_does_not_know_and_is_not_sent_openai_platform_fields():
    gemini = deployment("gemini-3.1-pro@google")
    for name, value in (("logprobs", True), ("top_logprobs", 3), ("logit_bias", {"1734": -100}),
                        ("verbosity", "low"), ("prediction", {"type": "content", "content": "x"})):
        with pytest.raises(UnsupportedByDeployment, match=f"'{name}'") as caught:
            adapted_request({"messages": HI, name: value}, gemini)
        assert caught.value.param == name
    # Fields that ask for nothing (logprobs off, an empty bias) or only mean something to OpenAI's platform
    # are left out rather than refused.
    sent = adapted_request({"messages": HI, "logprobs": False, "logit_bias": {}, "safety_identifier": "user-1",
                            "prompt_cache_key": "k", "user": "u"}, gemini)
    assert sent == {"messages": HI, "user": "u"}


def test_fireworks_takes_a_large_output_cap_only_on_a_stream():
    fireworks = deployment("deepseek-v4-pro@fireworks")
    for name in ("max_tokens", "max_completion_tokens"):
        # Routing refuses a client's request over the cap that does not stream ...
        caught = refusal({"messages": HI, name: 8192}, fireworks)
        assert caught is not None and caught.param == name
        assert f"{name} of at most 4096 on a request that does not stream, got 8192" in caught.message
        assert refusal({"messages": HI, name: 8192, "stream": True}, fireworks) is None
        assert refusal({"messages": HI, name: 4096}, fireworks) is None
        assert adapted_request({"messages": HI, name: 8192, "stream": True}, fireworks)["max_tokens"] == 8192
        # ... and the gateway's own call that does not stream (a streamed answer's repair) asks for what it takes.
        assert adapted_request({"messages": HI, name: 8192}, fireworks)["max_tokens"] == 4096
    # The cap sent is max_completion_tokens when both are given (token_cap): that is the one counted.
    assert refusal({"messages": HI, "max_tokens": 9000, "max_completion_tokens": 100}, fireworks) is None
    assert "max_completion_tokens" in refusal({"messages": HI, "max_tokens": 100, "max_completion_tokens": 9000},
                                              fireworks).message
    assert refusal({"messages": HI, "max_tokens": 8192}, deployment("deepseek-v4-pro@together")) is None


def test_fireworks_is_not_sent_the_thought_signature_of_a_gemini_tool_call():
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
            "extra_content": {"google": {"thought_signature": "sig"}}}
    body = {"messages": [*HI, {"role": "assistant", "content": None, "tool_calls": [call],
                               "reasoning_content": "thought"},
                         {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}
    sent = adapted_request(body, deployment("deepseek-v4-pro@fireworks"))
    assert sent["messages"][1]["tool_calls"] == [{key: value for key, value in call.items() if key != "extra_content"}]
    assert sent["messages"][1]["reasoning_content"] == "thought"  # Fireworks takes it back (interleaved thinking)
    assert body["messages"][1]["tool_calls"][0] is call  # the client's request is not changed


def together_down_and_fireworks_capped(streamed: list[str]):
    """An upstream handler: Together overloaded, Fireworks refusing a cap over 4096 without a stream (as its API
    does), streams answered with `streamed`, other requests with the JSON {"answer": 42}."""
    def hosts(path, body):
        if "@together/" in path:
            return Reply(status=503, json={"error": {"message": "overloaded"}})
        if "@fireworks/" in path and not body.get("stream") and body.get("max_tokens", 0) > 4096:
            return Reply(status=400, json={"error": {"message": "Requests with max_tokens > 4096 must have "
                                                     "stream=true", "type": "invalid_request_error"}})
        if body.get("stream"):
            return Reply(sse=openai_stream(body, streamed))
        return Reply(json=openai_answer(body, '{"answer": 42}'))

    return hosts


def test_a_long_answer_that_does_not_stream_is_not_sent_to_fireworks(gateway, upstream):
    hosts = upstream.handler = together_down_and_fireworks_capped(['{"answer": ', '42}'])
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    # A json_schema format skips DeepSeek's API, and Together is down: Fireworks is next for a stream ...
    stream = client.chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HI, response_format=SCHEMA_FORMAT, max_tokens=8192, stream=True)
    assert stream.headers["x-gateway-deployment"] == "deepseek-v4-pro@fireworks"
    assert [chunk for chunk in stream.parse()]
    # ... and is skipped for the same request without streaming, which it would refuse.
    upstream.reset()
    upstream.handler = hosts
    whole = client.chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HI, response_format=SCHEMA_FORMAT, max_tokens=8192)
    assert whole.headers["x-gateway-deployment"] == "deepseek-v4-pro@self-hosted"
    assert not any("@fireworks/" in seen.path for seen in upstream.seen)


def test_the_repair_of_a_long_streamed_answer_on_fireworks_asks_for_what_it_takes(gateway, upstream):
    upstream.handler = together_down_and_fireworks_capped(["Sure! ", "42"])  # not the JSON the schema asks for
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    schema = {**SCHEMA_FORMAT, "json_schema": {"name": "s", "schema": {
        "type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}}}
    stream = client.chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HI, response_format=schema, max_tokens=8192, stream=True)
    assert stream.headers["x-gateway-deployment"] == "deepseek-v4-pro@fireworks"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream.parse() if chunk.choices)
    assert text == '{"answer": 42}'
    repair = upstream.seen[-1]
    assert "@fireworks/" in repair.path and not repair.body.get("stream") and repair.body["max_tokens"] == 4096
