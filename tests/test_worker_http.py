"""The worker over HTTP: the OpenAI SDK, streaming, cancellation on disconnect, back-pressure and errors."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from gateway.worker.server import create_worker_app
from tests.worker_helpers import SYSTEM, WorkerServer, make_engine, stop_engine, tiny_model_dir, wait_for

__all__ = ["tiny_model_dir"]

LONG = {"max_tokens": 900, "ignore_eos": True}


@pytest.fixture(scope="module")
def worker(tiny_model_dir: Path) -> Iterator[WorkerServer]:
    server = WorkerServer(make_engine(tiny_model_dir, max_batch=8)).start()
    yield server
    server.stop()


@pytest.fixture
def small_worker(tiny_model_dir: Path) -> Iterator[WorkerServer]:
    """One batch slot and one queue place, to make capacity effects visible."""
    server = WorkerServer(make_engine(tiny_model_dir, max_batch=1, max_queue=1)).start()
    yield server
    server.stop()


def client(server: WorkerServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)


def chat(text: str, system: str | None = None) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


async def test_sdk_non_stream_and_stream_agree(worker: WorkerServer) -> None:
    sdk = client(worker)
    messages = chat("Tell me a story about a knight")
    whole = await sdk.chat.completions.create(model="tiny", messages=messages, temperature=0, max_tokens=24)
    assert whole.object == "chat.completion" and whole.choices[0].message.role == "assistant"
    assert whole.choices[0].finish_reason in ("stop", "length")
    assert whole.usage.completion_tokens > 0 and whole.usage.prompt_tokens > 0

    stream = await sdk.chat.completions.create(
        model="tiny",
        messages=messages,
        temperature=0,
        max_completion_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


async def test_stream_without_usage_option_has_no_usage_chunk(worker: WorkerServer) -> None:
    async with httpx.AsyncClient(base_url=worker.url) as http:
        body = {"messages": chat("Hi"), "max_tokens": 5, "stream": True}
        response = await http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    payloads = [orjson.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert all(p["choices"] and "usage" not in p for p in payloads)


async def test_concurrent_streams_interleave(tiny_model_dir: Path) -> None:
    worker = WorkerServer(make_engine(tiny_model_dir)).start()
    sdk = client(worker)
    arrivals: dict[str, list[float]] = {"a": [], "b": []}
    a_started = asyncio.Event()

    async def run(name: str) -> None:
        stream = await sdk.chat.completions.create(
            model="tiny", messages=chat(f"story {name}"), stream=True, max_tokens=150, extra_body={"ignore_eos": True}
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals[name].append(time.perf_counter())
                a_started.set()

    async def second() -> None:
        await a_started.wait()  # b starts only once a is already streaming
        await run("b")

    try:
        await asyncio.gather(run("a"), second())
    finally:
        await asyncio.to_thread(worker.stop)
    # Both were in the decode batch at once (arrival times alone could come from client-side buffering).
    assert worker.engine.stats().peak_running == 2
    a, b = arrivals["a"], arrivals["b"]
    assert len(a) > 60 and len(b) > 60
    # b's first token came while a was still streaming, and a kept streaming while b did: neither waited.
    assert a[0] < b[0] < a[-1]
    assert sum(b[0] < t < b[-1] for t in a) > 10


async def test_cached_tokens_reported_through_the_api(worker: WorkerServer) -> None:
    sdk = client(worker)
    system = "Ledger clerk: list every charge with its model, its tokens and its price per million tokens."
    first = await sdk.chat.completions.create(model="tiny", messages=chat("Charges today?", system), max_tokens=3)
    second = await sdk.chat.completions.create(model="tiny", messages=chat("Charges this week?", system), max_tokens=3)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 16 and cached < second.usage.prompt_tokens


async def test_client_disconnect_frees_the_slot(small_worker: WorkerServer) -> None:
    engine = small_worker.engine
    body = {"messages": chat("go on"), "stream": True, **LONG}
    async with httpx.AsyncClient(base_url=small_worker.url) as http:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = response.aiter_lines()
            for _ in range(6):
                await anext(lines)
            assert engine.stats().running == 1
        # Leaving the block closes the connection mid-stream.
        freed_after = await asyncio.to_thread(wait_for, lambda: engine.stats().running == 0, 2.0)
        steps = engine.stats().decode_steps
        assert freed_after < 1.0 and steps < 450, "the abandoned request kept decoding"
        follow = await http.post("/v1/chat/completions", json={"messages": chat("next"), "max_tokens": 4})
    assert follow.status_code == 200 and follow.json()["usage"]["completion_tokens"] == 4
    metrics = await asyncio.to_thread(httpx.get, f"{small_worker.url}/metrics")
    assert 'worker_requests_total{outcome="cancelled"} 1.0' in metrics.text


async def test_full_queue_gets_503_with_retry_after(small_worker: WorkerServer) -> None:
    engine = small_worker.engine
    async with httpx.AsyncClient(base_url=small_worker.url, timeout=10) as http:
        async with http.stream(
            "POST", "/v1/chat/completions", json={"messages": chat("a"), "stream": True, **LONG}
        ) as a:
            a_lines = a.aiter_lines()  # kept referenced: a dropped iterator would close the stream
            await anext(a_lines)
            queued = asyncio.create_task(
                http.post("/v1/chat/completions", json={"messages": chat("b"), "max_tokens": 3})
            )
            await asyncio.to_thread(wait_for, lambda: engine.stats().waiting == 1)
            rejected = await http.post("/v1/chat/completions", json={"messages": chat("c"), "max_tokens": 3})
        assert rejected.status_code == 503
        assert int(rejected.headers["retry-after"]) >= 1
        error = rejected.json()["error"]
        assert (
            error["type"] == "server_error"
            and error["code"] == "overloaded"
            and set(error)
            == {
                "message",
                "type",
                "param",
                "code",
            }
        )
        done = await queued  # once "a" went away, the queued request ran
    assert done.status_code == 200


async def test_sdk_sees_overload_as_an_api_error(small_worker: WorkerServer) -> None:
    sdk = client(small_worker)
    hog = await sdk.chat.completions.create(model="tiny", messages=chat("a"), stream=True, extra_body=LONG)
    hog_chunks = aiter(hog)
    await anext(hog_chunks)
    waiter = asyncio.create_task(sdk.chat.completions.create(model="tiny", messages=chat("b"), max_tokens=2))
    await asyncio.to_thread(wait_for, lambda: small_worker.engine.stats().waiting == 1)
    with pytest.raises(openai.InternalServerError) as exc:
        await sdk.chat.completions.create(model="tiny", messages=chat("c"), max_tokens=2)
    assert exc.value.status_code == 503 and exc.value.response.headers["retry-after"]
    await hog.close()
    assert (await waiter).usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (b'{"messages": [', None, "invalid_json"),
        (b"[1, 2]", None, "invalid_json"),
        (b'{"model": "tiny"}', "messages", "missing_required_parameter"),
        (b'{"messages": []}', "messages", None),
        (b'{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role", None),
        (b'{"messages": [{"role": {"name": "user"}, "content": "hi"}]}', "messages[0].role", None),  # was a 500
        (b'{"messages": [{"role": ["user"], "content": "hi"}]}', "messages[0].role", None),
        (b'{"messages": [{"role": "user", "content": 5}]}', "messages[0].content", None),
        (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": 3}', "temperature", None),
        (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens", None),
        (b'{"messages": [{"role": "user", "content": "hi"}], "stop": [1]}', "stop", None),
        (b'{"messages": [{"role": "user", "content": "hi"}], "n": 2}', "n", "unsupported_parameter"),
        (
            b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5000}',
            "max_tokens",
            "context_length_exceeded",
        ),
    ],
)
async def test_bad_requests_get_openai_shaped_400s(
    worker: WorkerServer, body: bytes, param: str | None, code: str | None
) -> None:
    async with httpx.AsyncClient(base_url=worker.url) as http:
        response = await http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["code"] == code
    assert error["message"]


async def test_prompt_longer_than_context_is_a_400_via_sdk(worker: WorkerServer) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        await client(worker).chat.completions.create(model="tiny", messages=chat("zebra quartz " * 600), max_tokens=2)
    assert exc.value.code == "context_length_exceeded" and "maximum context length is 1024" in exc.value.message


async def test_models_health_and_metrics(worker: WorkerServer) -> None:
    models = await client(worker).models.list()
    assert [m.id for m in models.data] == [worker.engine.model_name]
    async with httpx.AsyncClient(base_url=worker.url) as http:
        await http.post("/v1/chat/completions", json={"messages": chat("Hi", SYSTEM), "max_tokens": 2})
        health = (await http.get("/health")).json()
        metrics = await http.get("/metrics")
        missing = await http.get("/v2/nothing")
    assert health["status"] == "ok" and health["max_batch"] == 8 and health["running"] == 0
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in ("worker_requests_total", "worker_completion_tokens_total", "worker_time_to_first_token_seconds"):
        assert name in metrics.text
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_each_app_has_its_own_registry(tiny_model_dir: Path) -> None:
    engine = make_engine(tiny_model_dir)
    try:
        first, second = create_worker_app(engine), create_worker_app(engine)
        assert first.state.metrics.registry is not second.state.metrics.registry
    finally:
        stop_engine(engine)


async def test_asgi_transport_non_stream(tiny_model_dir: Path) -> None:
    engine = make_engine(tiny_model_dir)
    app = create_worker_app(engine)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as http:
            body = {"messages": chat("Hi"), "max_tokens": 3, "temperature": 0, "stop": "zzz", "seed": 1}
            response = await http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200
        assert response.json()["usage"]["completion_tokens"] <= 3
    finally:
        await engine.stop()


def test_python_dash_m_serves_a_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gateway.worker", "--model", str(tiny_model_dir), "--port", str(port)]
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([*command, "--threads", "1", "--log-level", "warning"], stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            try:
                return httpx.get(f"{url}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=60)
        reply = httpx.post(f"{url}/v1/chat/completions", json={"messages": chat("Hi"), "max_tokens": 3}, timeout=10)
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 3
    finally:
        process.terminate()
        process.wait(10)
        log.close()
