"""The engine seam: what the HTTP layer asks of any inference backend, and the values it gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length", "cancelled", "error"]


MIN_SAMPLING_TEMPERATURE = 1e-4


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens; `temperature == 0` means greedy."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Not OpenAI; vLLM accepts it too. Benchmarks and tests need fixed-length outputs from random models.
    ignore_eos: bool = False

    @property
    def greedy(self) -> bool:
        """Whether this request decodes by argmax: at temperature 0, and below MIN_SAMPLING_TEMPERATURE, where
        sampling picks the argmax anyway and dividing float32 logits by it would overflow to inf / NaN."""
        return self.temperature < MIN_SAMPLING_TEMPERATURE


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion to run: the conversation and how to sample its reply."""

    request_id: str
    messages: tuple[Mapping[str, str], ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)


@dataclass(frozen=True)
class Usage:
    """OpenAI usage counts; `prompt_tokens` includes `cached_tokens`."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class TextDelta:
    """Tokens sampled in one step and the text they complete (may be empty while text is held back)."""

    text: str
    token_ids: tuple[int, ...]


@dataclass(frozen=True)
class Finished:
    """The last event of every stream."""

    reason: FinishReason
    usage: Usage
    error: str | None = None


Event = TextDelta | Finished


@dataclass(frozen=True)
class EngineStats:
    """A point-in-time view of the engine, for `/health` and `/metrics`."""

    running: int
    waiting: int
    max_batch: int
    max_queue: int
    peak_running: int = 0
    decode_steps: int = 0
    prefix_cache_tokens: int = 0


@runtime_checkable
class Engine(Protocol):
    """An inference backend: the built-in batched engine, or vLLM in production."""

    model_name: str
    context_length: int

    async def start(self) -> None:
        """Get ready to serve (idempotent)."""

    async def stop(self) -> None:
        """Finish or drop in-flight work and release the model's resources."""

    async def submit(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Queue a request; raises `ContextLengthExceeded` or `Overloaded` before any event is produced."""
        ...

    def cancel(self, request_id: str) -> None:
        """Stop a request and free its slot; a no-op for unknown or finished requests."""

    def stats(self) -> EngineStats:
        """Current load."""
        ...
