"""Every bad input and upstream failure gets an OpenAI-shaped error with an actionable message."""

from __future__ import annotations

import gzip
import logging
import re
import time

import httpx
import openai
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, anthropic_stream_events, openai_answer, openai_stream
from tests.servers import UPSTREAM_KEYS

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
HELLO = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}


def post(gateway, body=None, *, content=None, headers=AUTH, timeout=20.0) -> httpx.Response:
    url = gateway.base_url + "/chat/completions"
    if content is not None:
        return httpx.post(url, content=content, headers={**headers, "content-type": "application/json"},
                          timeout=timeout)
    return httpx.post(url, json=body, headers=headers, timeout=timeout)


def assert_openai_error(response: httpx.Response, status: int, fragment: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert fragment.lower() in error["message"].lower()
    for secret in UPSTREAM_KEYS.values():
        assert secret not in response.text
    # Every answer carries a request id, as OpenAI's do (the SDK's error.request_id), errors before routing too.
    assert re.fullmatch(r"req_[0-9a-f]{28}", response.headers.get("x-request-id", "")), dict(response.headers)
    assert response.headers["x-gateway-request-id"] == response.headers["x-request-id"]
    return error


@pytest.mark.parametrize("content, fragment", [
    (b"{not json", "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "JSON object"),
    ('{"model": "auto"}'.encode("utf-16"), "encoded as UTF-8"),
    ('{"model": "auto"}'.encode("utf-16-le"), "encoded as UTF-8"),
])
def test_malformed_bodies(gateway, content, fragment):
    assert_openai_error(post(gateway, content=content), 400, fragment)


@pytest.mark.parametrize("body, param, fragment", [
    ({"messages": [{"role": "user", "content": "x"}]}, "model", "'model' is required"),
    ({"model": "auto"}, "messages", "non-empty array"),
    ({"model": "auto", "messages": []}, "messages", "non-empty array"),
    ({"model": "auto", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]", "role must be one of"),
    ({"model": "auto", "messages": [{"role": "user", "content": 5}]}, "messages[0]", "string or an array"),
    ({"model": "auto", "messages": [{"role": "tool", "content": "x"}]}, "messages[0]", "tool_call_id"),
    ({**HELLO, "temperature": 3}, "temperature", "between 0 and 2"),
    ({**HELLO, "n": 0}, "n", "at least 1"),
    ({**HELLO, "max_tokens": "many"}, "max_tokens", "integer"),
    ({**HELLO, "stream": "yes"}, "stream", "true or false"),
    ({**HELLO, "stop": [1]}, "stop", "array of up to 4 strings"),
    ({**HELLO, "model": "claude-opus-4.7", "reasoning_effort": ["high"]}, "reasoning_effort", "must be a string"),
    ({**HELLO, "tools": [{"type": "function", "function": {}}]}, "tools", "name is required"),
    ({**HELLO, "tool_choice": "required"}, "tool_choice", "needs at least one tool"),
    ({**HELLO, "response_format": {"type": "xml"}}, "response_format", "must be one of"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "bogus"}}}]},
     "tools", "tools[0].function.parameters is not a valid JSON Schema"),
    ({**HELLO, "response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "required": "city"}}}},
     "response_format", "response_format.json_schema.schema is not a valid JSON Schema"),
    # a $ref that does not resolve inside the schema (these were 500s; a remote one was fetched)
    ({**HELLO, "response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}}}},
     "response_format", "'#/$defs/missing' does not resolve within the schema"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"$ref": "https://schemas.example/a.json"}}}}}]},
     "tools", "the gateway does not fetch schemas"),
    ({**HELLO, "tools": [{"type": "custom", "custom": {"description": "no name"}}]}, "tools", "needs {'custom'"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {
        "type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
            {"type": "function", "function": {"name": "g"}}]}}}, "tool_choice", "names 'g', which is not in 'tools'"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {
        "type": "allowed_tools", "allowed_tools": {"mode": "sometimes", "tools": [
            {"type": "function", "function": {"name": "f"}}]}}}, "tool_choice", "'auto' or 'required'"),
    ({**HELLO, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "$schema": 5, "type": "object"}}}}, "response_format", "cannot be compiled"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": ["function"]}},
     "tool_choice", "not in 'tools'"),
    ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model", "must be a string"),
    # JSON arrays and objects where a name belongs (found by fuzzing: these were 500s, not 400s)
    ({"model": "auto", "messages": [{"role": {"name": "user"}, "content": "x"}]}, "messages[0]", "role must be one of"),
    ({"model": "auto", "messages": [{"role": ["user"], "content": "x"}]}, "messages[0]", "role must be one of"),
    ({**HELLO, "response_format": {"type": ["json_object"]}}, "response_format", "must be one of"),
    ({**HELLO, "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": ["f"]}}}, "tool_choice", "not in 'tools'"),
    ({"model": "claude-opus-4.7", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": ["x"]}}]}]}, "messages[0]", "image_url must be an object"),
    ({"model": "claude-opus-4.7", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None,
      "tool_calls": [{"id": "c1", "function": ["f"]}]}]}, "messages[1]", "tool_calls[0] must be"),
    ({"model": "claude-opus-4.7", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None,
      "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"a": 1}}}]}]}, "messages[1]",
     "arguments must be a string of JSON"),
])
def test_schema_violations_name_the_field(gateway, body, param, fragment):
    error = assert_openai_error(post(gateway, body), 400, fragment)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_named_tool_choice_is_accepted_and_checked(gateway, upstream):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    named = {"type": "function", "function": {"name": "lookup"}}
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    upstream.handler = lambda path, body: Reply(json={**openai_answer(body), "choices": [
        {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                                                               "tool_calls": [call]}}]})
    assert post(gateway, {**HELLO, "tools": tools, "tool_choice": named}).status_code == 200
    assert upstream.seen[-1].body["tool_choice"] == named
    wrong = {"type": "function", "function": {"name": "delete_everything"}}
    error = assert_openai_error(post(gateway, {**HELLO, "tools": tools, "tool_choice": wrong}), 400, "not in 'tools'")
    assert error["param"] == "tool_choice"
    assert_openai_error(post(gateway, {**HELLO, "tools": tools, "tool_choice": 7}), 400, "tool_choice must be")


def test_unknown_model_is_404_and_lists_the_choices(gateway):
    error = assert_openai_error(post(gateway, {**HELLO, "model": "gpt-9"}), 404, "does not exist")
    assert error["code"] == "model_not_found" and "auto" in error["message"]


def test_body_over_the_limit_is_413(start_gateway):
    gateway = start_gateway(max_body_bytes=1000)
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 2000}]}
    assert_openai_error(post(gateway, big), 413, "limit")


def test_missing_and_bad_keys_are_401(gateway):
    assert_openai_error(post(gateway, HELLO, headers={}), 401, "Missing API key")
    assert_openai_error(post(gateway, HELLO, headers={"Authorization": "Bearer wrong"}), 401, "Invalid API key")
    assert_openai_error(post(gateway, HELLO, headers={"Authorization": "Basic abc"}), 401, "Bearer")
    sdk = openai.OpenAI(base_url=gateway.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        sdk.chat.completions.create(**HELLO)
    assert refused.value.request_id and refused.value.request_id.startswith("req_")


def test_a_compressed_body_is_415_saying_to_send_it_uncompressed(gateway, upstream):
    packed = gzip.compress(b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}')
    response = httpx.post(gateway.base_url + "/chat/completions", content=packed, timeout=20,
                          headers={**AUTH, "content-type": "application/json", "content-encoding": "gzip"})
    error = assert_openai_error(response, 415, "Content-Encoding 'gzip' are not accepted; send the JSON uncompressed")
    assert error["code"] == "unsupported_content_encoding"
    assert upstream.seen == []


def test_a_trailing_slash_is_served_as_without_one(gateway, upstream):
    response = httpx.post(gateway.base_url + "/chat/completions/", json=HELLO, headers=AUTH, timeout=20)
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    # Other paths answer for themselves: no bodyless redirect (to http://, behind a TLS proxy).
    assert_openai_error(httpx.post(gateway.base_url + "/routing/explain/", json=HELLO, headers=AUTH), 404,
                        "Unknown path")


def test_stream_options_without_a_stream_are_not_sent_upstream(gateway, upstream):
    # OpenAI's API answers 400 "The 'stream_options' parameter is only allowed when 'stream' is enabled".
    for stream in (False, None):
        upstream.seen.clear()
        body = {**HELLO, "stream_options": {"include_usage": True}, **({"stream": stream} if stream is False else {})}
        assert post(gateway, body).status_code == 200
        assert "stream_options" not in upstream.seen[-1].body


def test_upstream_429_is_passed_on_with_retry_after(gateway, upstream):
    upstream.handler = lambda path, body: Reply(status=429, json={"error": {"message": "slow down"}},
                                                headers={"Retry-After": "7"})
    response = post(gateway, HELLO)
    error = assert_openai_error(response, 429, "rate limiting")
    assert response.headers["retry-after"] == "7"
    assert error["type"] == "rate_limit_error"


def test_upstream_5xx_is_502(gateway, upstream):
    upstream.handler = lambda path, body: Reply(status=503, json={"error": {"message": "overloaded"}})
    error = assert_openai_error(post(gateway, HELLO), 502, "HTTP 503")
    assert error["code"] == "upstream_error"


def test_upstream_auth_failure_names_the_variable_not_the_key(gateway, upstream):
    upstream.handler = lambda path, body: Reply(
        status=401, json={"error": {"message": "Incorrect API key provided: sk-openai-SECRET-5555"}})
    assert_openai_error(post(gateway, HELLO), 502, "OPENAI_API_KEY")


def test_upstream_400_is_relayed_with_secrets_scrubbed(gateway, upstream):
    upstream.handler = lambda path, body: Reply(
        status=400, json={"error": {"message": "context too long for key sk-openai-SECRET-5555"}})
    error = assert_openai_error(post(gateway, HELLO), 400, "context too long")
    assert "[redacted]" in error["message"]


def test_an_upstream_4xx_keeps_its_param_and_code(gateway, upstream):
    upstream.handler = lambda path, body: Reply(status=400, json={"error": {
        "message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error",
        "param": "messages", "code": "context_length_exceeded"}})
    error = assert_openai_error(post(gateway, HELLO), 400, "maximum context length")
    assert (error["param"], error["code"]) == ("messages", "context_length_exceeded")
    upstream.handler = lambda path, body: Reply(status=422, json={"error": {"message": "no", "code": ["odd"]}})
    error = assert_openai_error(post(gateway, HELLO), 400, "rejected the request")
    assert (error["param"], error["code"]) == (None, "upstream_invalid_request")


OPENAI_KEY, ANTHROPIC_KEY = UPSTREAM_KEYS["OPENAI_API_KEY"], UPSTREAM_KEYS["ANTHROPIC_API_KEY"]


def no_key_in(text: str) -> bool:
    return not any(secret[:-3] in text for secret in UPSTREAM_KEYS.values())


def test_upstream_error_events_are_scrubbed_in_streams_bodies_and_logs(gateway, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    cases = [
        # an error event after two chunks (relayed as the stream's error event) ...
        ("gpt-5.5", lambda body: [*openai_stream(body, ["a"])[:2],
                                  {"error": {"message": f"internal failure for key {OPENAI_KEY}"}}]),
        # ... as the first event (retried, then the 502 body) ...
        ("gpt-5.5", lambda body: [{"error": {"message": f"bad key {OPENAI_KEY}", "type": "server_error"}}]),
        # ... and an Anthropic error event mid-stream.
        ("claude-opus-4.7", lambda body: [*anthropic_stream_events("hi")[:4],
                                          ("error", {"type": "error", "error": {
                                              "type": "api_error", "message": f"x-api-key {ANTHROPIC_KEY} invalid"}})]),
    ]
    for model, events in cases:
        upstream.handler = lambda path, body, events=events: Reply(sse=events(body))
        response = post(gateway, {"model": model, "messages": [{"role": "user", "content": "x"}], "stream": True})
        assert "[redacted]" in response.text, (model, response.text)
        assert no_key_in(response.text), response.text
    assert "[redacted]" in caplog.text
    assert no_key_in(caplog.text)


def test_a_key_cut_by_the_message_limit_leaves_no_prefix(gateway, upstream):
    # Each key ends 3 characters past the cut (1,000 characters of a message, 300 of other text).
    for status, payload in [(500, {"error": {"message": "x" * (1003 - len(OPENAI_KEY)) + f"{OPENAI_KEY} and more"}}),
                            (503, "y" * (303 - len(OPENAI_KEY)) + OPENAI_KEY)]:
        upstream.handler = lambda path, body, status=status, payload=payload: Reply(status=status, json=payload)
        response = post(gateway, HELLO)
        assert response.status_code == 502, response.text
        assert no_key_in(response.text), response.text


def test_upstream_timeout_is_504_within_the_configured_time(start_gateway, upstream):
    gateway = start_gateway(read_timeout_s=0.5, total_timeout_s=1.0, retries=1, retry_base_s=0.1)
    upstream.handler = lambda path, body: Reply(json={}, delay=3.0)
    started = time.monotonic()
    response = post(gateway, HELLO)
    assert_openai_error(response, 504, "did not answer in time")
    assert response.headers["x-gateway-attempts"] == "2"  # one retry, then a clean error
    assert time.monotonic() - started < 2.0


def test_unreachable_upstream_is_502(start_gateway, tmp_path):
    from tests.servers import write_mock_policies
    policies = write_mock_policies(tmp_path / "p", 1)  # nothing listens on port 1
    gateway = start_gateway(policies=policies)
    assert_openai_error(post(gateway, HELLO), 502, "could not reach")


def test_model_without_configured_key_is_503_naming_the_variable(start_gateway):
    gateway = start_gateway(env={"OPENAI_API_KEY": ""})
    error = assert_openai_error(post(gateway, HELLO), 503, "OPENAI_API_KEY")
    assert "GATEWAY_SIMULATE" in error["message"]


def test_stream_cut_midway_ends_with_an_error_event(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["a", "b", "c"]), cut_after=2)
    sdk = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.APIError):
        list(sdk.chat.completions.create(**HELLO, stream=True))
    record = gateway.recorder.records[-1]
    assert record.status == 502 and record.usage.output >= 1  # billed what was produced


def test_unknown_path_and_method_are_openai_shaped(gateway):
    response = httpx.get(gateway.base_url.replace("/v1", "/v2/nothing"), headers=AUTH)
    assert_openai_error(response, 404, "Unknown path")
    response = httpx.get(gateway.base_url + "/chat/completions", headers=AUTH)
    assert_openai_error(response, 405, "not allowed")


def test_browsers_get_cors_answers_only_from_configured_origins(start_gateway, upstream):
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    closed = start_gateway()
    # Without GATEWAY_CORS_ORIGINS no origin is allowed: the preflight is refused as any OPTIONS is.
    response = httpx.options(closed.base_url + "/chat/completions", headers=preflight)
    assert response.status_code == 405 and "access-control-allow-origin" not in response.headers
    gateway = start_gateway(cors_origins=("https://app.example",))
    response = httpx.options(gateway.base_url + "/chat/completions", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    answer = httpx.post(gateway.base_url + "/chat/completions", json=HELLO,
                        headers={**AUTH, "Origin": "https://app.example"}, timeout=20)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-gateway-cost-usd" in answer.headers["access-control-expose-headers"]
    # An error answer may be read too, and another origin gets no grant.
    refused = httpx.post(gateway.base_url + "/chat/completions", json=HELLO, headers={"Origin": "https://app.example"})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.post(gateway.base_url + "/chat/completions", json=HELLO, headers={**AUTH, "Origin": "https://evil.example"},
                       timeout=20)
    assert "access-control-allow-origin" not in other.headers
    assert httpx.options(gateway.base_url + "/chat/completions",
                         headers={**preflight, "Origin": "https://evil.example"}).status_code == 400
