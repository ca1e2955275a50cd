"""Shared pieces for the worker tests: the tiny model fixture and a worker served by uvicorn in a thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from gateway.worker.batched import BatchedEngine
from gateway.worker.engine import Finished, GenerationRequest, SamplingParams, TextDelta
from gateway.worker.server import create_worker_app
from gateway.worker.tiny import build_tiny_model
from tests.servers import ThreadedServer

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


class WorkerServer(ThreadedServer):
    """The worker app served by uvicorn on a free loopback port in a background thread."""

    def __init__(self, engine: BatchedEngine) -> None:
        self.engine = engine
        super().__init__(create_worker_app(engine))


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll until `condition()` holds; return the seconds it took (fails the test on timeout)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.005)
    return time.perf_counter() - start
