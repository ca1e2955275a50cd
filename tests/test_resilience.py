"""Fault tests: every upstream failure ends in a fallback or a clean error, in time, accounted."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import openai
import pydantic
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import (
    MockUpstream,
    Reply,
    anthropic_stream_events,
    default_handler,
    openai_answer,
    openai_stream,
    wait_for,
)

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
    # (budgets a loaded machine cannot make the healthy third deployment miss as well)
    gateway = start_gateway(read_timeout_s=0.5, total_timeout_s=1.5, retries=0)

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


def test_a_200_carrying_an_error_instead_of_choices_is_an_upstream_failure(start_gateway, upstream):
    gateway = start_gateway(retries=0)

    def handler(path, body):
        if "@deepseek" in path:  # a proxy in front of the upstream reports its failure with a 200
            return Reply(json={"error": {"message": "provider overloaded"}})
        return ok(path, body)

    upstream.handler = handler
    response = post(gateway, V4)
    assert response.status_code == 200 and response.headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    upstream.handler = lambda path, body: Reply(json={"error": {"message": "overloaded"}})
    response = post(gateway, V4)
    assert response.status_code == 502 and "answered with an error: overloaded" in response.json()["error"]["message"]
    assert gateway.recorder.records[-1].cost_usd == 0


@pytest.mark.parametrize("model, malformed, billed", [
    # usage.prompt_tokens is not a count: the answer cannot be passed on, and what it cost is estimated
    ("deepseek-v4-pro", lambda body: openai_answer(body, "x" * 400, usage={"prompt_tokens": "12",
                                                                           "completion_tokens": 5}), None),
    # a message that is not an object, with readable usage: that usage is what the upstream bills
    ("deepseek-v4-pro", lambda body: {**openai_answer(body, usage={"prompt_tokens": 30, "completion_tokens": 7}),
                                      "choices": [{"index": 0, "message": "oops", "finish_reason": "stop"}]}, (30, 7)),
    # a text block whose text is an object, with readable usage
    ("claude-opus-4.7", lambda body: {"id": "m", "type": "message", "role": "assistant", "model": "claude",
                                      "content": [{"type": "text", "text": {"value": "x" * 400}}],
                                      "stop_reason": "end_turn", "usage": {"input_tokens": 30, "output_tokens": 7}},
     (30, 7)),
])
def test_a_malformed_answer_is_retried_and_still_charged(gateway, upstream, model, malformed, billed):
    handler, calls = counting([lambda path, body: Reply(json=malformed(body)), default_handler])
    upstream.handler = handler
    response = post(gateway, {**V4, "model": model})
    assert response.status_code == 200 and len(calls) == 2
    record = gateway.recorder.records[-1]
    good = response.json()["usage"]
    if billed is None:  # the good answer's usage and an estimate (its prompt, and ~400 characters produced)
        assert record.usage.input > good["prompt_tokens"] and record.usage.output >= good["completion_tokens"] + 100
    else:
        assert (record.usage.prompt_tokens, record.usage.output) == (good["prompt_tokens"] + billed[0],
                                                                      good["completion_tokens"] + billed[1])


def test_an_anthropic_200_carrying_an_error_is_an_upstream_failure_not_an_empty_answer(start_gateway, upstream):
    gateway = start_gateway(retries=0)
    upstream.handler = lambda path, body: Reply(json={"type": "error", "error": {"type": "overloaded_error",
                                                                                 "message": "Overloaded"}})
    response = post(gateway, {**V4, "model": "claude-opus-4.7"})
    assert response.status_code == 502 and "answered with an error: Overloaded" in response.json()["error"]["message"]
    assert gateway.recorder.records[-1].cost_usd == 0


def test_the_sdk_is_told_not_to_retry_what_the_gateway_already_retried(start_gateway, upstream):
    gateway = start_gateway(retries=1, retry_base_s=0.01)
    upstream.handler = lambda path, body: Reply(status=500, json={"error": {"message": "boom"}})
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=2)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(**V4)
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert len(upstream.seen) == int(failed.value.response.headers["x-gateway-attempts"]) == 8  # one SDK try


def test_an_upstreams_4xx_is_not_padded_with_the_operators_configuration(start_gateway, upstream):
    gateway = start_gateway(env={"FIREWORKS_API_KEY": ""})  # a route skipped for its missing key
    upstream.handler = lambda path, body: Reply(status=400, json={"error": {
        "message": "too many tokens", "code": "context_length_exceeded"}})
    response = post(gateway, V4)
    assert response.status_code == 400 and response.json()["error"]["code"] == "context_length_exceeded"
    assert "FIREWORKS_API_KEY" not in response.text and "x-should-retry" not in response.headers
    upstream.handler = lambda path, body: Reply(status=503, json={"error": {"message": "down"}})
    assert "FIREWORKS_API_KEY is not set" in post(gateway, V4).json()["error"]["message"]  # a 5xx keeps the hint


def test_requests_cut_off_by_the_server_stopping_are_answered_and_recorded_as_such(start_gateway, upstream):
    import threading

    gateway = start_gateway(read_timeout_s=30.0, total_timeout_s=60.0)  # tests/servers.py: a 2 s shutdown grace

    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*openai_stream(body, ["a"])[:2], 30.0])
        return Reply(delay=30.0, json=openai_answer(body))

    upstream.handler = handler
    answers: dict[bool, httpx.Response | bytes] = {}

    def call(stream: bool) -> None:
        with httpx.stream("POST", gateway.base_url + "/chat/completions", json={**V4, "stream": stream},
                          headers=AUTH, timeout=60) as response:
            body = response.read()
            answers[stream] = body if stream else httpx.Response(response.status_code, content=body)

    threads = [threading.Thread(target=call, args=(stream,), daemon=True) for stream in (False, True)]
    for thread in threads:
        thread.start()
    assert wait_for(lambda: len(upstream.seen) == 2)
    gateway.stop()  # uvicorn cancels what still runs after the grace
    for thread in threads:
        thread.join(10)
    assert answers[False].status_code == 503 and answers[False].json()["error"]["code"] == "server_shutting_down"
    assert b'"code":"server_shutting_down"' in answers[True] and answers[True].endswith(b"data: [DONE]\n\n")
    assert sorted((r.stream, r.status, r.error_code) for r in gateway.recorder.records) == [
        (False, 503, "server_shutting_down"), (True, 503, "server_shutting_down")]


def test_a_request_still_uploading_when_the_server_stops_is_answered_503(start_gateway):
    import threading

    gateway = start_gateway()
    body = json.dumps(V4).encode()
    client = socket.create_connection(("127.0.0.1", gateway.port))
    client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
                   + f"authorization: Bearer {MASTER_KEY}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                   + body[:10])  # the rest of the body never comes before the shutdown grace ends
    time.sleep(0.3)
    stopping = threading.Thread(target=gateway.stop)
    stopping.start()
    client.settimeout(15)
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    stopping.join()
    client.close()
    assert answer.startswith(b"HTTP/1.1 503") and b"server_shutting_down" in answer


def test_a_shutdown_503_carries_the_request_id(start_gateway, upstream):
    import threading

    gateway = start_gateway(read_timeout_s=30.0, total_timeout_s=60.0)
    upstream.handler = lambda path, body: Reply(delay=30.0, json=openai_answer(body))
    answers = []
    thread = threading.Thread(target=lambda: answers.append(post(gateway, V4, timeout=60)), daemon=True)
    thread.start()
    assert wait_for(lambda: len(upstream.seen) == 1)
    gateway.stop()
    thread.join(10)
    assert answers[0].status_code == 503
    assert answers[0].headers["x-request-id"] == gateway.recorder.records[-1].request_id


def test_a_stream_cut_after_its_answer_finished_is_a_success(start_gateway, upstream):
    gateway = start_gateway(retries=0)
    # finish_reason and usage arrived; the connection drops before [DONE].
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["a", "b"]), cut_after=5)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**V4, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ab"
    assert chunks[-1].usage.prompt_tokens == 12
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert (record.status, record.error_code, record.usage.input) == (200, None, 12)


def test_an_anthropic_stream_cut_after_its_stop_reason_is_a_success(start_gateway, upstream):
    gateway = start_gateway(retries=0)
    events = anthropic_stream_events("Hello")
    upstream.handler = lambda path, body: Reply(sse=events, cut_after=len(events) - 1)  # no message_stop
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**{**V4, "model": "claude-opus-4.7"}, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert (record.status, record.error_code, record.usage.output) == (200, None, 6)


def test_an_anthropic_stream_failing_right_after_message_start_is_retried(gateway, upstream):
    overloaded = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    handler, calls = counting([lambda path, body: Reply(sse=[*anthropic_stream_events("Hello")[:3], overloaded]),
                               default_handler])
    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**{**V4, "model": "claude-opus-4.7"}, stream=True))
    assert len(calls) == 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from Claude."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert (record.status, record.attempts) == (200, 2)
    # The failed attempt's prompt, which its message_start reported (20 tokens), is billed too.
    assert (record.usage.input, record.usage.output) == (20 + 20, 6 + 1)


def test_a_streams_upstream_connection_goes_back_to_the_pool_when_its_body_ends_after_done(start_gateway, upstream):
    gateway = start_gateway()
    upstream.handler = lambda path, body: Reply(sse=[*openai_stream(body, ["a"]), 0.2])  # the end comes 0.2 s later
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    for _ in range(3):
        assert "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**V4, stream=True)
                       if c.choices) == "a"
        time.sleep(0.4)
    assert len(upstream.seen) == 3 and len({seen.peer for seen in upstream.seen}) == 1  # one connection, reused


def streamed_until_out_of_time(gateway):
    """The contents a streamed SDK call received before the gateway ended it at the request's budget, and the
    seconds it took."""
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    started = time.monotonic()
    pieces = []
    with pytest.raises(openai.APIError, match="GATEWAY_TOTAL_TIMEOUT_S"):
        for chunk in client.chat.completions.create(**V4, stream=True):
            pieces.append(chunk.choices[0].delta.content)
    return pieces, time.monotonic() - started


def test_a_stream_still_flowing_when_the_request_budget_is_spent_ends_there(start_gateway, upstream):
    gateway = start_gateway(read_timeout_s=5.0, total_timeout_s=0.6)
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["x"] * 100, pause=0.1))  # 10 s of chunks
    pieces, took = streamed_until_out_of_time(gateway)
    assert 2 <= len(pieces) <= 7 and took < 2.0  # what came in time, then the budget's end
    assert wait_for(lambda: gateway.recorder.records)
    assert (gateway.recorder.records[-1].status, gateway.recorder.records[-1].error_code) == (504, "upstream_timeout")
    assert wait_for(lambda: ("/deepseek-v4-pro@deepseek/v1/chat/completions", "aborted") in upstream.stream_endings)


def test_a_stream_stalled_past_the_request_budget_ends_at_the_budget_not_the_read_timeout(start_gateway, upstream):
    gateway = start_gateway(read_timeout_s=5.0, total_timeout_s=1.0)
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["a"])[:2] + [10.0])
    pieces, took = streamed_until_out_of_time(gateway)
    assert pieces == ["", "a"] and took < 2.5
    assert wait_for(lambda: gateway.recorder.records)
    assert (gateway.recorder.records[-1].status, gateway.recorder.records[-1].error_code) == (504, "upstream_timeout")


def test_a_client_that_stops_reading_cannot_hold_the_upstream_past_the_request_budget(start_gateway, upstream):
    # The upstream streams more than the sockets buffer; the client reads the headers and then nothing,
    # without leaving. The relay waits on the client, so only a timer can end the stream.
    gateway = start_gateway(read_timeout_s=5.0, total_timeout_s=1.5)
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["x" * 4000] * 25_000))
    payload = json.dumps({**V4, "model": "deepseek-v4-flash", "stream": True}).encode()
    client = socket.create_connection(("127.0.0.1", gateway.port))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
                       + f"authorization: Bearer {MASTER_KEY}\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
                       + payload)
        assert client.recv(64).startswith(b"HTTP/1.1 200")
        assert wait_for(lambda: gateway.recorder.records, timeout=6.0), "the stream was never ended and settled"
        record = gateway.recorder.records[-1]
        assert (record.status, record.error_code) == (504, "upstream_timeout")
        # The upstream stream (100 MB: more than every buffer on the way holds) was dropped unfinished.
        path = "/deepseek-v4-flash@deepseek/v1/chat/completions"  # (earlier tests' streams may still be ending)
        assert wait_for(lambda: [end for end in upstream.stream_endings if end[0] == path] == [(path, "aborted")])
    finally:
        client.close()


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


def test_a_model_whose_circuits_are_all_open_is_a_503_that_says_to_retry_not_to_set_keys(start_gateway, upstream):
    gateway = start_gateway(retries=0, breaker_failures=1, breaker_cooldown_s=60)
    upstream.handler = lambda path, body: Reply(status=500, json={"error": {"message": "down"}})
    body = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}
    failed = post(gateway, body)  # a 502 that opens gpt-5.5's only circuit
    assert failed.status_code == 502 and "GATEWAY_SIMULATE" not in failed.text
    refused = post(gateway, body)
    assert refused.status_code == 503, refused.text
    message = refused.json()["error"]["message"]
    assert "circuit open after repeated failures" in message and message.endswith("retry shortly.")
    assert "set the upstream key" not in message and "GATEWAY_SIMULATE" not in message


def test_a_rate_limited_deployment_keeps_answering_429_and_its_breaker_stays_closed(start_gateway, upstream):
    gateway = start_gateway(retries=1, retry_base_s=0.01, breaker_failures=2)
    upstream.handler = lambda p, b: Reply(status=429, json={"error": {"message": "slow down"}},
                                          headers={"Retry-After": "60"})
    gpt = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(5):  # well past the failure threshold: every client still learns when to come back
        response = post(gateway, gpt)
        assert response.status_code == 429, response.text
        assert response.headers["retry-after"] == "60"
        assert "circuit" not in response.json()["error"]["message"]
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    assert 'gateway_circuit_state{deployment="gpt-5.5@openai"} 2.0' not in metrics  # 2 = open


def test_requests_refused_at_routing_are_recorded_so_an_outage_shows(start_gateway, upstream):
    gateway = start_gateway(retries=0, breaker_failures=1, breaker_cooldown_s=60)
    upstream.handler = lambda p, b: Reply(status=500, json={"error": {"message": "down"}})
    statuses = [post(gateway, V4).status_code for _ in range(4)]
    assert statuses[-1] == 503  # every deployment's circuit is open: refused before any upstream call
    unknown = post(gateway, {**V4, "model": "no-such-model"})
    assert unknown.status_code == 404 and unknown.headers["x-gateway-request-id"].startswith("req_")
    records = gateway.recorder.records[-5:]
    assert [r.status for r in records] == [*statuses, 404]
    assert records[-1].error_code == "model_not_found" and records[-1].cost_usd == 0
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    assert 'status="503"' in metrics and 'status="404"' in metrics


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
    record = gateway.recorder.records[-1]  # recorded as the client's doing, though its 200 had gone out
    assert (record.status, record.error_code) == (499, "client_disconnected")


def test_a_client_gone_while_sending_its_body_is_no_server_error(gateway, caplog):
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(gateway.base_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + MASTER_KEY.encode() + b"\r\nContent-Length: 5000\r\n\r\n"
                     b'{"model": "auto", "messages": [')
        time.sleep(0.3)  # the gateway is reading the body when the client goes
    time.sleep(0.5)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
    assert not gateway.recorder.records  # nothing was routed or sent upstream


# ---- tool calls ---------------------------------------------------------------------------


def tool_answer(body, arguments, call_id="call_1"):
    call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    return Reply(json={**openai_answer(body), "choices": [{
        "index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]})


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_calling_tools_ends_with_tool_calls_even_when_the_upstream_says_stop(gateway, upstream, stream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"city": "Oslo"}'), tool_chunk({}, "stop"), b"data: [DONE]\n\n"])
        answer = tool_answer(body, '{"city": "Oslo"}').json
        answer["choices"][0]["finish_reason"] = "stop"
        return Reply(json=answer)

    upstream.handler = handler
    if stream:
        assert finish_reasons(data_events(gateway, {**V4, "tools": TOOLS, "stream": True}))[-1] == "tool_calls"
    else:
        response = post(gateway, {**V4, "tools": TOOLS})
        assert response.json()["choices"][0]["finish_reason"] == "tool_calls"
        assert response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


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


def tool_chunk(delta, finish=None, usage=None):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return {**chunk, "usage": usage} if usage else chunk


def streamed_call(arguments):
    return [tool_chunk({"role": "assistant", "content": None}),
            tool_chunk({"tool_calls": [{"index": 0, "id": "call_s", "type": "function",
                                        "function": {"name": "get_weather", "arguments": arguments}}]})]


UPSTREAM_USAGE = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}


@pytest.mark.parametrize("checked", [True, False])
def test_parallel_calls_streamed_without_an_index_reach_the_client_as_two_calls(gateway, upstream, checked):
    # Gemini's OpenAI-compatible endpoint leaves tool_calls[].index out.
    calls = [{"id": "fc-1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
             {"id": "fc-2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
    upstream.handler = lambda path, body: Reply(sse=[
        tool_chunk({"role": "assistant", "content": None}), tool_chunk({"tool_calls": calls}),
        tool_chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    request = {"model": "gemini-3.1-pro", "messages": [{"role": "user", "content": "weather in Paris and Oslo?"}],
               "tools": TOOLS if checked else [{"type": "custom", "custom": {"name": "sql"}}, *TOOLS]}
    with client.chat.completions.stream(**request) as stream:  # the SDK's helper folds deltas by index
        final = stream.get_final_completion()
    assert [(c.id, c.function.arguments) for c in final.choices[0].message.tool_calls] == [
        ("fc-1", '{"city": "Paris"}'), ("fc-2", '{"city": "Oslo"}')]
    assert len(upstream.seen) == 1  # valid as sent: no repair


@pytest.mark.parametrize("arguments, repairs", [('{"city": "Rome"}', 0), ('{"town": "Rome"}', 1)])
def test_a_finish_reason_sent_twice_gives_one_checked_call(gateway, upstream, arguments, repairs):
    # Some upstreams repeat the choice, finish_reason included, in the usage chunk.
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call(arguments), tool_chunk({}, "tool_calls"),
                              tool_chunk({}, "tool_calls", UPSTREAM_USAGE), b"data: [DONE]\n\n"])
        return tool_answer(body, '{"city": "Rome"}', call_id="call_fixed")

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and json.loads(calls[0].function.arguments) == {"city": "Rome"}
    assert len(upstream.seen) == 1 + repairs
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert record.tool_repairs == repairs and record.usage.input == 1000 + repairs * 12


def test_a_streamed_repair_that_fails_still_bills_the_upstreams_reported_usage(gateway, upstream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"town": "Rome"}'), tool_chunk({}, "tool_calls"),
                              {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                               "choices": [], "usage": UPSTREAM_USAGE}, b"data: [DONE]\n\n"])
        return Reply(status=500, json={"error": {"message": "down"}})

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert record.status == 502 and (record.usage.input, record.usage.output) == (1000, 500)


def test_a_client_leaving_during_a_streamed_repair_is_billed_the_stream_and_the_cut_repair(gateway, upstream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"town": "Rome"}'), tool_chunk({}, "tool_calls", UPSTREAM_USAGE),
                              b"data: [DONE]\n\n"])
        return Reply(delay=5.0, json={})  # the repair is under way when the client leaves

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0, timeout=1.0)
    with pytest.raises(openai.APITimeoutError):
        list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    assert wait_for(lambda: gateway.recorder.records)
    record = gateway.recorder.records[-1]
    assert (record.status, record.usage.output) == (499, 500)
    assert record.usage.input > 1000  # the stream's 1000 and an estimate of the repair's prompt


def test_a_tool_call_ended_by_done_without_a_finish_reason_is_still_checked(gateway, upstream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"city": '), b"data: [DONE]\n\n"])  # cut, then [DONE]
        return tool_answer(body, '{"city": "Rome"}', call_id="call_fixed")

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert [call.id for call in calls] == ["call_fixed"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def data_events(gateway, body):
    """The data payloads of a streamed answer, parsed (and the [DONE] marker as a string)."""
    with httpx.stream("POST", gateway.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30) as reply:
        assert reply.status_code == 200
        return [line[6:] if line == "data: [DONE]" else json.loads(line[6:])
                for line in reply.iter_lines() if line.startswith("data: ")]


def finish_reasons(events):
    return [choice["finish_reason"] for event in events if isinstance(event, dict)
            for choice in event.get("choices") or () if choice.get("finish_reason")]


def test_a_repeated_finish_chunk_is_rewritten_with_the_first(gateway, upstream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"town": "Rome"}'), tool_chunk({}, "tool_calls"),
                              tool_chunk({}, "tool_calls", UPSTREAM_USAGE), b"data: [DONE]\n\n"])
        return Reply(json=openai_answer(body, text="Which city?"))  # the repair answers in words

    upstream.handler = handler
    events = data_events(gateway, {**V4, "tools": TOOLS, "stream": True})
    assert finish_reasons(events) == ["stop", "stop"] and events[-1] == "[DONE]"


def test_a_streamed_repair_cut_by_max_tokens_keeps_its_length_finish(gateway, upstream):
    cut = {"id": "call_r", "type": "function", "function": {"name": "get_weather", "arguments": '{"ci'}}

    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"town": "Rome"}'), tool_chunk({}, "tool_calls", UPSTREAM_USAGE),
                              b"data: [DONE]\n\n"])
        return Reply(json={**openai_answer(body), "choices": [{"index": 0, "finish_reason": "length", "message": {
            "role": "assistant", "content": None, "tool_calls": [cut]}}]})

    upstream.handler = handler
    assert finish_reasons(data_events(gateway, {**V4, "tools": TOOLS, "stream": True})) == ["length"]


def test_an_escalation_that_cannot_take_the_request_is_skipped_not_a_400(gateway, upstream):
    upstream.handler = lambda path, body: tool_answer(body, '{"town": "Oslo"}')  # always invalid
    # History with a legacy function-role message: Messages has no such role, which only the translation finds.
    history = [{"role": "user", "content": "weather?"}, {"role": "function", "name": "f", "content": "1"}]
    body = {**V4, "model": "auto", "tools": TOOLS, "messages": history}
    response = post(gateway, body, headers={**AUTH, "x-gateway-category": "N4"})  # escalation: Claude
    assert response.status_code == 502 and response.json()["error"]["code"] == "invalid_tool_call"
    assert "escalation to claude-opus-4.7 skipped" in response.json()["error"]["message"]
    assert not [seen for seen in upstream.seen if seen.path.endswith("/v1/messages")]


def test_a_skipped_escalation_keeps_the_repairs_own_failure(gateway, upstream):
    def handler(path, body):
        if len(upstream.seen) == 1:
            return tool_answer(body, '{"town": "Oslo"}')  # invalid: a repair is asked for
        return Reply(status=429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "30"})

    upstream.handler = handler
    body = {**V4, "model": "auto", "tools": TOOLS, "logprobs": True}
    response = post(gateway, body, headers={**AUTH, "x-gateway-category": "N4"})  # escalation: Claude, skipped
    assert response.status_code == 429 and response.headers["retry-after"] == "30"


@pytest.mark.parametrize("stream", [False, True])
def test_a_repair_answered_with_no_choices_is_not_a_500(gateway, upstream, stream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[*streamed_call('{"town": "Rome"}'), tool_chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
        if len(upstream.seen) == 1:
            return tool_answer(body, '{"town": "Rome"}')
        return Reply(json={**openai_answer(body), "choices": []})  # the repair: no choices at all

    upstream.handler = handler
    if stream:
        events = data_events(gateway, {**V4, "tools": TOOLS, "tool_choice": "required", "stream": True})
        assert all(event == "[DONE]" or event.get("error", {}).get("code") != "internal_error" for event in events)
    else:
        response = post(gateway, {**V4, "tools": TOOLS, "tool_choice": "required"})
        assert response.status_code != 500, response.text
    assert wait_for(lambda: gateway.recorder.records)
    assert gateway.recorder.records[-1].status != 500


def test_a_deployment_that_cannot_take_the_request_is_not_counted_as_an_attempt(gateway, upstream):
    response = post(gateway, {**V4, "model": "auto", "logprobs": True}, headers={**AUTH, "x-gateway-category": "P1"})
    assert response.status_code == 200
    assert response.headers["x-gateway-attempts"] == str(len(upstream.seen)) == "1"
    assert (gateway.recorder.records[-1].attempts, gateway.recorder.records[-1].fallbacks) == (1, 0)


class Person(pydantic.BaseModel):
    name: str


def test_a_structured_output_refusal_is_an_answer_not_a_repair(gateway, upstream):
    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[tool_chunk({"role": "assistant", "refusal": "I can't help with that."}),
                              tool_chunk({}, "stop"), b"data: [DONE]\n\n"])
        return Reply(json={**openai_answer(body), "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": None, "refusal": "I can't help with that."}}]})

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    parsed = client.chat.completions.parse(**V4, response_format=Person)
    assert parsed.choices[0].message.refusal == "I can't help with that." and parsed.choices[0].message.parsed is None
    with client.chat.completions.stream(**V4, response_format=Person) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.refusal == "I can't help with that."
    assert len(upstream.seen) == 2  # no repairs


def test_an_answer_cut_by_max_tokens_is_passed_on_not_repaired(gateway, upstream):
    upstream.handler = lambda path, body: Reply(json={**openai_answer(body), "choices": [{
        "index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": '{"na'}}]})
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(**V4, response_format=Person, max_tokens=3)
    assert len(upstream.seen) == 1


def test_several_choices_pass_through_unchecked_streamed_or_not(gateway, upstream):
    def chunk(index, delta, finish=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}

    def start(index, call_id):
        return chunk(index, {"role": "assistant", "tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                                                  "function": {"name": "get_weather", "arguments": ""}}]})

    def arguments(index, text):
        return chunk(index, {"tool_calls": [{"index": 0, "function": {"arguments": text}}]})

    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[start(0, "call_a"), start(1, "call_b"), arguments(0, '{"city": "Paris"}'),
                              arguments(1, '{"town": "Rome"}'), chunk(0, {}, "tool_calls"), chunk(1, {}, "tool_calls"),
                              b"data: [DONE]\n\n"])
        answer = openai_answer(body)
        answer["choices"] = [{"index": i, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {
                "name": "get_weather", "arguments": args}}]}} for i, args in enumerate(('{"town": 1}', '{"city": "Rome"}'))]
        return Reply(json=answer)

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    streamed: dict[int, str] = {}
    for piece in client.chat.completions.create(**V4, tools=TOOLS, n=2, stream=True):
        for choice in piece.choices:
            for call in choice.delta.tool_calls or ():
                streamed[choice.index] = streamed.get(choice.index, "") + (call.function.arguments or "")
    assert streamed == {0: '{"city": "Paris"}', 1: '{"town": "Rome"}'}  # as sent, the invalid one included
    answer = client.chat.completions.create(**V4, tools=TOOLS, n=2)
    assert [c.message.tool_calls[0].function.arguments for c in answer.choices] == ['{"town": 1}', '{"city": "Rome"}']
    assert len(upstream.seen) == 2  # no repair calls
    assert [r.tool_repairs for r in gateway.recorder.records[-2:]] == [0, 0]


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


def test_a_streamed_json_schema_answer_keeps_its_token_logprobs(gateway, upstream):
    # The content is held until it validates; the logprobs the upstream sent with its pieces go out with it.
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    pieces = ['{"name"', ': "Ada"}']
    tokens = [[{"token": '{"name"', "logprob": -0.1, "bytes": None, "top_logprobs": []}],
              [{"token": ': "Ada"}', "logprob": -0.2, "bytes": None, "top_logprobs": []}]]

    def with_logprobs(path, body):
        items = openai_stream(body, pieces)
        content_chunks = [item for item in items if isinstance(item, dict) and item.get("choices")
                          and item["choices"][0]["delta"].get("content")]
        for chunk, token in zip(content_chunks, tokens, strict=True):
            chunk["choices"][0]["logprobs"] = {"content": token, "refusal": None}
        return Reply(sse=items)

    upstream.handler = with_logprobs
    body = {**V4, "logprobs": True, "response_format": {"type": "json_schema",
                                                        "json_schema": {"name": "p", "schema": schema}}}
    status, _, events = stream_events(gateway, body)
    assert status == 200 and streamed_text(events) == '{"name": "Ada"}'
    sent = [choice["logprobs"]["content"] for e in events if isinstance(e, dict)
            for choice in e.get("choices") or () if choice.get("logprobs")]
    assert sent == [tokens[0] + tokens[1]]


# ---- streams: retried until their first chunk, failed cleanly after it ---------------------


def stream_events(gateway, body, timeout=30.0):
    """(HTTP status, headers, decoded SSE data events) of a streamed request read as a raw client."""
    events = []
    with httpx.stream("POST", gateway.base_url + "/chat/completions", json={**body, "stream": True}, headers=AUTH,
                      timeout=timeout) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:] if line == "data: [DONE]" else json.loads(line[6:]))
    return response.status_code, response.headers, events


def streamed_text(events):
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                   if isinstance(e, dict) and e.get("choices"))


def ok_stream(path, body):
    return Reply(sse=openai_stream(body, ["Hel", "lo"]))


def test_streamed_request_is_retried_on_500(start_gateway, upstream):
    gateway = start_gateway(retry_base_s=0.01)
    upstream.handler, calls = counting([lambda p, b: Reply(status=500, json={"error": {"message": "boom"}}),
                                        ok_stream])
    status, headers, events = stream_events(gateway, V4)
    assert status == 200 and streamed_text(events) == "Hello" and events[-1] == "[DONE]"
    assert headers["x-gateway-attempts"] == "2" and len(calls) == 2


def test_streamed_request_honours_429_retry_after(start_gateway, upstream):
    gateway = start_gateway(retry_base_s=0.01)
    upstream.handler, calls = counting([
        lambda p, b: Reply(status=429, json={"error": {"message": "slow"}}, headers={"Retry-After": "0.4"}),
        ok_stream])
    started = time.monotonic()
    status, headers, events = stream_events(gateway, V4)
    assert status == 200 and streamed_text(events) == "Hello"
    assert time.monotonic() - started >= 0.4 and len(calls) == 2
    assert gateway.recorder.records[-1].retries == 1


@pytest.mark.parametrize("dies", [
    Reply(sse=[{"error": {"message": "overloaded", "type": "server_error"}}]),  # 200, then an error event
    Reply(sse=[]),                                                                # 200, then EOF
    Reply(sse=[0.0], cut_after=0),                                                # 200, then a reset
    Reply(sse=[10.0]),                                                            # 200, then a hang
], ids=["error-event", "eof", "reset", "hang"])
def test_stream_dying_before_its_first_chunk_fails_over(start_gateway, upstream, dies):
    # (a read timeout that a loaded machine cannot make the healthy fallback miss as well)
    gateway = start_gateway(retries=0, read_timeout_s=0.8)
    upstream.handler = lambda path, body: dies if "@deepseek" in path else ok_stream(path, body)
    started = time.monotonic()
    status, headers, events = stream_events(gateway, V4)
    assert status == 200 and streamed_text(events) == "Hello" and events[-1] == "[DONE]"
    assert headers["x-gateway-deployment"] == "deepseek-v4-pro@together"
    assert time.monotonic() - started < 3
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].fallbacks == 1)
    record = gateway.recorder.records[-1]
    assert (record.status, record.attempts, record.usage.output) == (200, 2, 2)


def test_stream_cut_cleanly_midway_ends_with_an_error_event(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["Hel", "lo", " there"])[:3])  # EOF
    status, _, events = stream_events(gateway, V4)
    assert status == 200 and streamed_text(events) == "Hello"
    assert events[-2]["error"]["code"] == "upstream_error" and events[-1] == "[DONE]"
    assert len(upstream.seen) == 1  # bytes reached the client: no retry
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].status == 502)
    record = gateway.recorder.records[-1]
    assert record.error_code == "upstream_error" and record.usage.output > 0 and record.cost_usd > 0


def test_a_stream_of_two_choices_cut_after_the_first_finished_ends_with_an_error_event(gateway, upstream):
    def chunk(index, delta, finish=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}

    upstream.handler = lambda path, body: Reply(sse=[chunk(0, {"content": "one"}), chunk(1, {"content": "tw"}),
                                                     chunk(0, {}, "stop")])  # EOF: choice 1 never finished
    status, _, events = stream_events(gateway, {**V4, "n": 2})
    assert status == 200 and events[-2]["error"]["code"] == "upstream_error" and events[-1] == "[DONE]"
    upstream.handler = lambda path, body: Reply(sse=[chunk(0, {"content": "one"}), chunk(1, {"content": "two"}),
                                                     chunk(0, {}, "stop"), chunk(1, {}, "length")])
    status, _, events = stream_events(gateway, {**V4, "n": 2})  # both finished: whole without [DONE]
    assert status == 200 and all("error" not in e for e in events[:-1]) and events[-1] == "[DONE]"


def test_anthropic_stream_cut_before_message_stop_ends_with_an_error_event(gateway, upstream):
    text = "Hello from Claude, and then the connection closed."
    upstream.handler = lambda path, body: Reply(sse=anthropic_stream_events(text)[:4])  # no message_stop
    status, _, events = stream_events(gateway, {**V4, "model": "claude-opus-4.7"})
    assert status == 200 and streamed_text(events) == text
    assert events[-2]["error"]["type"] == "api_error" and events[-1] == "[DONE]"
    assert wait_for(lambda: gateway.recorder.records and gateway.recorder.records[-1].status == 502)
    record = gateway.recorder.records[-1]
    # message_start reported 1 output token; the text streamed after it is billed too
    assert record.error_code == "upstream_error" and record.usage.output >= len(text) // 4


def test_total_timeout_bounds_a_request_across_every_fallback(start_gateway, upstream):
    gateway = start_gateway(total_timeout_s=1.0, read_timeout_s=5.0, retry_base_s=0.01)
    upstream.handler = lambda path, body: Reply(json={}, delay=5.0)  # every deployment hangs
    started = time.monotonic()
    response = post(gateway, V4)
    assert time.monotonic() - started < 1.6
    assert response.status_code == 504 and "GATEWAY_TOTAL_TIMEOUT_S" in response.json()["error"]["message"]


def test_streamed_repair_answering_in_text_delivers_that_text(gateway, upstream):
    def chunk(delta, finish=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def handler(path, body):
        if body.get("stream"):
            return Reply(sse=[chunk({"role": "assistant", "content": ""}),
                              chunk({"tool_calls": [{"index": 0, "id": "call_s", "type": "function",
                                                     "function": {"name": "get_weather", "arguments": "{oops"}}]}),
                              chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
        return Reply(json=openai_answer(body, text="No tool needed: it is sunny in Oslo."))

    upstream.handler = handler
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(client.chat.completions.create(**V4, tools=TOOLS, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.content or "" for d in deltas) == "No tool needed: it is sunny in Oslo."
    assert not any(d.tool_calls for d in deltas)
    assert chunks[-1].choices[0].finish_reason == "stop"


# ---- no leaked connections ---------------------------------------------------------------


def pool_counts(gateway) -> tuple[int, int]:
    """(connections checked out, idle connections kept) across the gateway's upstream pools."""
    sessions = list(gateway.app.state.ctx.clients._sessions.values())

    async def count() -> tuple[int, int]:
        acquired = sum(len(s.connector._acquired) for s in sessions)
        return acquired, sum(len(idle) for s in sessions for idle in s.connector._conns.values())

    return asyncio.run_coroutine_threadsafe(count(), sessions[0]._loop).result(5) if sessions else (0, 0)


def test_fault_scenarios_leak_no_upstream_connections(tmp_path, start_gateway):
    from tests.servers import write_mock_policies

    mock = MockUpstream(cancel_on_disconnect=True).start()  # its own: every connection to it is ours
    gateway = start_gateway(policies=write_mock_policies(tmp_path, mock.port), retries=0, read_timeout_s=0.3,
                            breaker_failures=1000)
    gpt = {**V4, "model": "gpt-5.5"}
    scenarios = {
        "500": lambda p, b: Reply(status=500, json={"error": {"message": "boom"}}),
        "reset": lambda p, b: Reply(sse=[0.0], cut_after=0),
        "timeout": lambda p, b: Reply(json={}, delay=3.0),
        "hang before the first chunk": lambda p, b: Reply(sse=[3.0]),
        "hang after the first chunk": lambda p, b: Reply(sse=[openai_stream(b, ["a"])[0], 3.0]),
        "cut cleanly": lambda p, b: Reply(sse=openai_stream(b, ["a", "b", "c"])[:3]),
        "cut by a reset": lambda p, b: Reply(sse=openai_stream(b, ["a", "b", "c"]), cut_after=3),
        "healthy": default_handler,
    }
    for name, handler in scenarios.items():
        mock.handler = handler
        assert post(gateway, gpt).status_code in (200, 502, 504), name
        status, _, events = stream_events(gateway, gpt)
        assert status in (200, 502, 504) and (status != 200 or events[-1] == "[DONE]"), name
    mock.handler = lambda p, b: Reply(sse=openai_stream(b, ["x"] * 200, pause=0.05))
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    stream = client.chat.completions.create(**gpt, stream=True)
    for n, _ in enumerate(stream):
        if n == 3:
            break
    stream.close()  # the client disconnects midway

    def settled() -> bool:
        acquired, idle = pool_counts(gateway)
        return acquired == 0 and mock.connections() == idle and mock.open_streams == 0

    assert wait_for(settled, timeout=5), (pool_counts(gateway), mock.connections(), mock.open_streams)
    assert len(mock.seen) == 2 * len(scenarios) + 1  # retries=0 and one deployment: one call per request


def test_a_bug_mid_stream_ends_the_stream_with_an_error_event_and_is_accounted(gateway, upstream, monkeypatch):
    from gateway import streaming

    real, sent = streaming.sse_data, []

    def breaks_on_the_third_chunk(payload):
        sent.append(payload)
        if len(sent) == 3:
            raise RuntimeError("a bug in the relay")
        return real(payload)

    monkeypatch.setattr(streaming, "sse_data", breaks_on_the_third_chunk)
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["one", " two", " three", " four"]))
    with httpx.stream("POST", gateway.base_url + "/chat/completions", headers=AUTH,
                      json={**V4, "stream": True}, timeout=10) as response:
        text = "".join(response.iter_text())  # a cut connection would raise here
    assert response.status_code == 200 and text.endswith("data: [DONE]\n\n"), text
    error = json.loads(text.split("data: ")[-2])["error"]
    assert error["code"] == "internal_error" and "a bug" not in error["message"]  # no detail leaks
    metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
    assert 'status="500"' in metrics  # settled: counted with the status the client was told
