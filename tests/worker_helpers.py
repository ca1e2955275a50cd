"""Shared pieces for the worker tests: the tiny model fixture and a worker served by uvicorn in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import uvicorn

from gateway.worker.batched import BatchedEngine
from gateway.worker.engine import Finished, GenerationRequest, SamplingParams, TextDelta
from gateway.worker.server import create_worker_app
from gateway.worker.tiny import build_tiny_model

# Long enough that a decode of this many tokens takes seconds on CPU, so "freed promptly" is measurable.
CONTEXT = 1024
SYSTEM = (
    "You are a helpful assistant. Answer briefly and precisely. Routing sends cheap questions to small "
    "models and hard ones to frontier models."
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A random Llama (hidden 64, 2 layers) with a locally trained tokenizer, saved once per session."""
    # One intra-op thread: a model this small gains nothing from more, and on a busy 2-core machine
    # OpenMP threads waiting on each other make every step tens of times slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_tiny_model(tmp_path_factory.mktemp("tiny-model"), context=CONTEXT)
    torch.set_num_threads(previous)


def make_engine(model_dir: Path, **options: int) -> BatchedEngine:
    """A built-in engine on the tiny model (CPU)."""
    return BatchedEngine.from_dir(model_dir, device="cpu", **options)


def stop_engine(engine: BatchedEngine) -> None:
    """Stop an engine's thread from synchronous fixture teardown."""
    asyncio.run(engine.stop())


def user(text: str, system: str | None = None) -> tuple[dict[str, str], ...]:
    """A one-turn conversation."""
    messages = [{"role": "system", "content": system}] if system else []
    return (*messages, {"role": "user", "content": text})


async def generate(
    engine: BatchedEngine, request_id: str, messages: tuple[dict[str, str], ...], **sampling: object
) -> tuple[list[int], str, Finished]:
    """Run one request to the end: its token ids, its text and its final event."""
    events = await engine.submit(GenerationRequest(request_id, messages, SamplingParams(**sampling)))
    ids: list[int] = []
    text: list[str] = []
    finished = None
    async for event in events:
        if isinstance(event, TextDelta):
            ids += event.token_ids
            text.append(event.text)
        else:
            finished = event
    assert isinstance(finished, Finished)
    return ids, "".join(text), finished


class WorkerServer:
    """The worker app served by uvicorn on a free loopback port in a background thread."""

    def __init__(self, engine: BatchedEngine) -> None:
        self.engine = engine
        self.app = create_worker_app(engine)
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> WorkerServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("worker server failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll until `condition()` holds; return the seconds it took (fails the test on timeout)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.005)
    return time.perf_counter() - start
