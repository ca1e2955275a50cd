"""Golden translation tests: OpenAI chat completions ⇄ Anthropic Messages."""

from __future__ import annotations

import re

import pytest

from gateway.errors import InvalidRequest, UpstreamError
from gateway.providers.anthropic_answers import StreamTranslator, from_messages_response, thinking_turn
from gateway.providers.anthropic_translate import to_messages_request
from gateway.usage import Usage

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time"}}]


def test_tools_round_trip_with_multi_turn_tool_results():
    body = {
        "model": "claude-opus-4.7", "max_tokens": 300, "temperature": 1.5, "top_p": 0.8, "stop": "###",
        "user": "u-7", "tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Weather in Oslo and the time?"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "4C, rain"},
            {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "14:02"}]},
            {"role": "user", "content": "Thanks. Umbrella?"},
        ],
    }
    assert to_messages_request(body, "claude-opus-4-7") == {
        "model": "claude-opus-4-7",
        "max_tokens": 300,
        "system": "You are terse.\n\nUse metric units.",
        "temperature": 1.0,  # (and no top_p: recent Claude models refuse the two together)
        "stop_sequences": ["###"],
        "metadata": {"user_id": "u-7"},
        "tools": [
            {"name": "get_weather", "description": "Weather",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "get_time", "description": "", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo and the time?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "4C, rain"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": "14:02"},
                {"type": "text", "text": "Thanks. Umbrella?"}]},
        ],
    }


@pytest.mark.parametrize("choice, expected", [
    ("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}),
])
def test_tool_choice_mapping(choice, expected):
    body = {"messages": [{"role": "user", "content": "x"}], "tools": TOOLS, "tool_choice": choice}
    assert to_messages_request(body, "m")["tool_choice"] == expected


def test_defaults_images_json_modes_and_n():
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
        "response_format": {"type": "json_object"}, "stream": True}
    request = to_messages_request(body, "m")
    assert request["max_tokens"] == 8192 and request["stream"] is True
    assert request["messages"][0]["content"][1] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    assert request["messages"][0]["content"][2]["source"] == {"type": "url", "url": "https://x/y.png"}
    assert "JSON" in request["system"]
    schema = {"type": "object"}
    request = to_messages_request({"messages": [{"role": "user", "content": "x"}], "response_format": {
        "type": "json_schema", "json_schema": {"name": "s", "schema": schema}}}, "m")
    assert request["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    with pytest.raises(InvalidRequest, match="n > 1"):
        to_messages_request({"messages": [{"role": "user", "content": "x"}], "n": 2}, "m")
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        to_messages_request({"messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}]}, "m")
    # Parts Messages cannot take are refused, not silently dropped; a past refusal is kept as text.
    with pytest.raises(InvalidRequest, match="'input_audio' cannot be sent to an Anthropic deployment"):
        to_messages_request({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "Transcribe this"}, {"type": "input_audio", "input_audio": {"data": "AA"}}]}]}, "m")
    request = to_messages_request({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": [
        {"type": "refusal", "refusal": "I can't help with that."}]}, {"role": "user", "content": "y"}]}, "m")
    assert request["messages"][1]["content"] == [{"type": "text", "text": "I can't help with that."}]


def test_image_types_are_named_as_messages_takes_them():
    def media_type(url):
        request = to_messages_request({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}]}, "m")
        return request["messages"][0]["content"][0]["source"]["media_type"]

    assert media_type("data:image/jpg;base64,AAAA") == "image/jpeg"
    assert media_type("data:image/PNG;name=a.png;base64,AAAA") == "image/png"
    with pytest.raises(InvalidRequest, match="images of type 'image/svg\\+xml' cannot be sent"):
        media_type("data:image/svg+xml;base64,AAAA")


def test_thinking_is_left_out_of_a_tool_loop_turn_whose_thinking_blocks_cannot_come_back():
    thinking = {"type": "adaptive"}
    question = {"role": "user", "content": "Weather in Oslo?"}
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]}
    result = {"role": "tool", "tool_call_id": "toolu_1", "content": "12C"}
    assert to_messages_request({"messages": [question], "thinking": thinking}, "m")["thinking"] == thinking
    assert "thinking" not in to_messages_request({"messages": [question, call, result], "thinking": thinking}, "m")
    after = [question, call, result, {"role": "assistant", "content": "12C in Oslo."},
             {"role": "user", "content": "And Bergen?"}]
    assert to_messages_request({"messages": after, "thinking": thinking}, "m")["thinking"] == thinking
    # The blocks the gateway kept of that turn go back at its start, and thinking stays on.
    signed = [{"type": "thinking", "thinking": "Oslo first.", "signature": "sig=="},
              {"type": "redacted_thinking", "data": "ZW5j"}]
    request = to_messages_request({"messages": [question, call, result], "thinking": thinking}, "m", signed)
    assert request["thinking"] == thinking
    assert request["messages"][1]["content"] == [*signed, {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                            "input": {"city": "Oslo"}}]


def test_empty_text_and_stop_sequences_are_left_out_and_whitespace_stops_refused():
    request = to_messages_request({"messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": " \n"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "content": "  "},
        {"role": "user", "content": "and now?"}], "stop": ["", "END"]}, "m")
    assert request["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        {"type": "text", "text": "and now?"}]}]
    assert request["stop_sequences"] == ["END"]
    assert "stop_sequences" not in to_messages_request({"messages": [{"role": "user", "content": "x"}],
                                                        "stop": ""}, "m")
    for stop in ("\n", ["END", "\n\n"]):
        with pytest.raises(InvalidRequest, match="stop sequences of only whitespace") as refused:
            to_messages_request({"messages": [{"role": "user", "content": "x"}], "stop": stop}, "m")
        assert refused.value.param == "stop"


def test_reasoning_effort_becomes_messages_effort_beside_a_json_schema():
    schema = {"type": "object"}
    request = to_messages_request({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "minimal",
                                   "response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}, "m")
    assert request["output_config"] == {"format": {"type": "json_schema", "schema": schema}, "effort": "low"}
    assert "thinking" not in request
    for effort, expected in (("medium", "medium"), ("xhigh", "xhigh"), ("max", "max")):
        request = to_messages_request({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": effort},
                                      "m")
        assert request["output_config"] == {"effort": expected}


def test_native_extras_pass_and_legacy_functions_are_refused_not_dropped():
    body = {"messages": [{"role": "user", "content": "x"}], "top_k": 40,
            "thinking": {"type": "enabled", "budget_tokens": 2048}}
    request = to_messages_request(body, "m")
    assert request["top_k"] == 40 and request["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    # Recent Claude models refuse temperature and top_p together: temperature is kept.
    request = to_messages_request({**body, "temperature": 0.2, "top_p": 0.9}, "m")
    assert request["temperature"] == 0.2 and "top_p" not in request
    assert to_messages_request({**body, "top_p": 0.9}, "m")["top_p"] == 0.9
    functions = [{"name": "get_weather", "parameters": {"type": "object"}}]
    with pytest.raises(InvalidRequest, match="'functions' .* send 'tools'"):
        to_messages_request({"messages": [{"role": "user", "content": "x"}], "functions": functions}, "m")
    with pytest.raises(InvalidRequest, match="'function_call'"):
        to_messages_request({"messages": [{"role": "user", "content": "x"}], "function_call": "auto"}, "m")


def test_allowed_tools_become_the_offered_tools_and_custom_tools_are_refused():
    body = {"messages": [{"role": "user", "content": "x"}], "tools": TOOLS, "tool_choice": {
        "type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
            {"type": "function", "function": {"name": "get_time"}}]}}}
    request = to_messages_request(body, "m")
    assert [tool["name"] for tool in request["tools"]] == ["get_time"]
    assert request["tool_choice"] == {"type": "any"}
    custom = {"type": "custom", "custom": {"name": "sql"}}
    with pytest.raises(InvalidRequest, match="custom tools cannot be sent"):
        to_messages_request({"messages": [{"role": "user", "content": "x"}], "tools": [*TOOLS, custom]}, "m")
    with pytest.raises(InvalidRequest, match="custom tool calls cannot be sent"):
        to_messages_request({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None,
                             "tool_calls": [{"id": "c", "type": "custom", "custom": {"name": "sql", "input": "q"}}]}]},
                            "m")


def test_images_in_tool_results_are_kept_and_an_empty_conversation_is_refused():
    body = {"messages": [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [
            {"type": "text", "text": "the screen"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    result = to_messages_request(body, "m")["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["content"] == [
        {"type": "text", "text": "the screen"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]
    plain = {**body, "messages": [*body["messages"][:2], {"role": "tool", "tool_call_id": "c1", "content": "42"}]}
    assert to_messages_request(plain, "m")["messages"][-1]["content"][0]["content"] == "42"
    with pytest.raises(InvalidRequest, match="no user or assistant content"):
        to_messages_request({"messages": [{"role": "system", "content": "be brief"}]}, "m")


def test_cache_control_breakpoints_are_kept():
    part = {"type": "text", "text": "long system prompt", "cache_control": {"type": "ephemeral"}}
    request = to_messages_request({"messages": [{"role": "system", "content": [part]},
                                                {"role": "user", "content": "q"}]}, "m")
    assert request["system"] == [part]


@pytest.mark.parametrize("stop_reason, finish", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"), ("pause_turn", "stop"),
])
def test_stop_reason_mapping(stop_reason, finish):
    body, _ = from_messages_response({"id": "m", "model": "c", "content": [{"type": "text", "text": "x"}],
                                      "stop_reason": stop_reason, "usage": {"input_tokens": 1, "output_tokens": 1}})
    assert body["choices"][0]["finish_reason"] == finish


def test_response_with_tool_use_and_cache_usage():
    body, usage = from_messages_response({
        "id": "msg_9", "model": "claude-opus-4-7", "stop_reason": "tool_use",
        "content": [{"type": "thinking", "thinking": "hmm"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 5,
                  "output_tokens": 20}})
    message = body["choices"][0]["message"]
    assert message["content"] is None and message["reasoning_content"] == "hmm"
    assert message["tool_calls"] == [{"id": "toolu_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]
    assert usage == Usage(input=10, cached_input=90, cache_write=5, output=20)
    assert body["usage"]["prompt_tokens"] == 105
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 90


def test_streaming_event_sequence_to_openai_chunks():
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude-opus-4-7",
                                                                "usage": {"input_tokens": 25, "output_tokens": 1,
                                                                          "cache_read_input_tokens": 100}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Checking"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city":'}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 2,
                                 "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                           "usage": {"output_tokens": 42}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    translator = StreamTranslator()
    chunks = [chunk for event, data in events for chunk in translator.handle(event, data)]
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas == [
        {"role": "assistant", "content": "Checking"},  # the role comes with the first chunk that says something
        {"tool_calls": [{"index": 0, "id": "toolu_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
        {"tool_calls": [{"index": 1, "id": "toolu_2", "type": "function",
                         "function": {"name": "get_time", "arguments": ""}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {},
        None,
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(c["id"] == "chatcmpl-msg_1" and c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["usage"]["completion_tokens"] == 42
    assert chunks[-1]["usage"]["prompt_tokens"] == 125
    assert translator.finished


def test_streamed_thinking_is_reasoning_content_and_its_signed_blocks_are_kept():
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_3", "model": "claude-opus-4-7",
                                                                "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "Oslo "}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "first."}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "EqQBCgIYAh=="}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "redacted_thinking", "data": "ZW5j"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                           "usage": {"output_tokens": 30}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    translator = StreamTranslator()
    chunks = [chunk for event, data in events for chunk in translator.handle(event, data)]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[:2] == [{"role": "assistant", "reasoning_content": "Oslo "}, {"reasoning_content": "first."}]
    assert deltas[2]["tool_calls"][0]["id"] == "toolu_1"
    assert thinking_turn(translator.blocks) == (("toolu_1", "get_weather"), [
        {"type": "thinking", "thinking": "Oslo first.", "signature": "EqQBCgIYAh=="},
        {"type": "redacted_thinking", "data": "ZW5j"}, {"type": "tool_use", "id": "toolu_1"}])


def test_interleaved_thinking_goes_back_in_its_place_and_thinking_must_be_text():
    answer = [{"type": "thinking", "thinking": "First Oslo.", "signature": "s1"},
              {"type": "text", "text": "Checking."},
              {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
              {"type": "redacted_thinking", "data": "ZW5j"},
              {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]
    key, sequence = thinking_turn(answer)
    assert key == ("toolu_1", "get_weather")
    calls = [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
             {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]
    messages = [{"role": "user", "content": "Weather and time in Oslo?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": calls},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "12C"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "noon"}]
    request = to_messages_request({"messages": messages, "thinking": {"type": "adaptive"}}, "m", sequence)
    assert request["messages"][1]["content"] == [answer[0], answer[1], answer[2], answer[3], answer[4]]
    with pytest.raises(ValueError, match="thinking is int"):
        StreamTranslator().handle("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                          "delta": {"type": "thinking_delta", "thinking": 5}})


def test_tool_ids_another_model_made_are_made_fit_for_messages_and_still_pair():
    def loop(call_id: str) -> dict:
        call = {"id": call_id, "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        return to_messages_request({"messages": [
            {"role": "user", "content": "List files."}, {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "content": "a.txt"}]}, "m")["messages"]

    for foreign in ("functions.Bash:0", "fc_68a|rs_91b", "call_" + "x" * 70):
        messages = loop(foreign)
        sent = messages[1]["content"][0]["id"]
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", sent) and messages[2]["content"][0]["tool_use_id"] == sent
    assert loop("toolu_01Abc")[1]["content"][0]["id"] == "toolu_01Abc"  # a fitting id goes as it is
    assert loop("functions.Bash:0")[1]["content"][0]["id"] != loop("functions.Bash_0")[1]["content"][0]["id"]


def test_streamed_tool_without_arguments_gets_an_empty_object():
    start = {"type": "message_start", "message": {"id": "msg_2", "model": "claude-opus-4-7",
                                                  "usage": {"input_tokens": 5, "output_tokens": 1}}}
    events = [
        ("message_start", start),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_t", "name": "get_time", "input": {}}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Oslo"}}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                           "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    translator = StreamTranslator()
    chunks = [chunk for event, data in events for chunk in translator.handle(event, data)]
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas == [
        {"role": "assistant", "tool_calls": [{"index": 0, "id": "toolu_t", "type": "function",
                         "function": {"name": "get_time", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
        {"tool_calls": [{"index": 1, "id": "toolu_w", "type": "function",
                         "function": {"name": "get_weather", "arguments": ""}}]},
        # never stopped and no input_json_delta: the input its start carried, before the finish
        {"tool_calls": [{"index": 1, "function": {"arguments": '{"city":"Oslo"}'}}]},
        {},
        None,
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_error_event_raises():
    translator = StreamTranslator()
    with pytest.raises(UpstreamError, match="overloaded_error"):
        translator.handle("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
