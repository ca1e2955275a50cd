"""The hot chat route served ahead of the framework: disconnects, bugs and accounting."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, openai_answer, openai_stream, wait_for

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
V4 = {"model": "deepseek-v4-pro", "messages": [{"role": "user", "content": "Say hello to the whole team, please."}]}


def test_a_client_gone_mid_answer_stops_the_wait_and_is_still_billed(gateway, upstream):
    upstream.handler = lambda path, body: Reply(json=openai_answer(body), delay=4.0)
    sent = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.base_url + "/chat/completions", json=V4, headers=AUTH, timeout=0.4)
    # The gateway notices at once, not when the upstream answers 4 s later.
    assert wait_for(lambda: gateway.recorder.records, timeout=2.0)
    assert time.monotonic() - sent < 2.5
    record = gateway.recorder.records[-1]
    assert record.status == 499 and record.error_code == "client_disconnected"
    assert record.usage.input > 0 and record.usage.output == 0  # the prompt the upstream was sent is billed
    assert record.cost_usd > 0


def test_a_client_gone_before_the_stream_starts_is_settled(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["a", "b"]), delay=4.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.base_url + "/chat/completions", json={**V4, "stream": True}, headers=AUTH, timeout=0.4)
    assert wait_for(lambda: gateway.recorder.records, timeout=2.0)
    record = gateway.recorder.records[-1]
    assert record.status == 499 and record.usage.input > 0


def test_a_bug_in_the_hot_route_is_an_openai_shaped_500_without_a_trace(gateway, upstream, monkeypatch, caplog):
    ctx = gateway.app.state.ctx

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ctx.dispatcher, "complete_valid", broken)
    response = httpx.post(gateway.base_url + "/chat/completions", json=V4, headers=AUTH)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and "secret internals" not in response.text
    assert wait_for(lambda: gateway.recorder.records)
    assert gateway.recorder.records[-1].status == 500  # the failed request still has its record


def test_streams_still_stream_through_the_hot_route(gateway, upstream):
    upstream.handler = lambda path, body: Reply(sse=openai_stream(body, ["one ", "two ", "three"], pause=0.3))
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    arrivals = []
    sent = time.monotonic()
    for chunk in client.chat.completions.create(**V4, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - sent)
    assert len(arrivals) == 3
    assert arrivals[0] < arrivals[-1] - 0.4  # the first piece arrived well before the last was produced


def test_a_stream_is_settled_before_its_end_reaches_the_client(gateway, upstream):
    # [DONE] and the end of the response go out together, after the relay has settled the request:
    # a client that has read the whole stream finds it in the ledger and the metrics at once.
    for pieces in (["a", "b", "c"], []):
        upstream.handler = lambda path, body, pieces=pieces: Reply(sse=openai_stream(body, pieces))
        before = len(gateway.recorder.records)
        with httpx.stream("POST", gateway.base_url + "/chat/completions", json={**V4, "stream": True},
                          headers=AUTH) as response:
            text = b"".join(response.iter_bytes()).decode()
        assert response.status_code == 200 and text.endswith("data: [DONE]\n\n") and text.count("[DONE]") == 1
        assert len(gateway.recorder.records) == before + 1  # no waiting
        record = gateway.recorder.records[-1]
        assert record.status == 200 and record.usage.input > 0


def test_other_routes_still_go_through_the_framework(gateway):
    response = httpx.get(gateway.url + "/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"
    response = httpx.get(gateway.base_url + "/chat/completions", headers=AUTH)
    assert response.status_code == 405
