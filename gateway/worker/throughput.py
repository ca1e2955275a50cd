"""Measuring an engine's throughput and latency, and turning throughput into a per-token price."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.worker.engine import Engine, Finished, GenerationRequest, SamplingParams, TextDelta

TOPICS = (
    "the quarterly report",
    "a dragon and a knight",
    "routing cheap questions to small models",
    "a castle by the sea",
    "adding two numbers in Python",
    "why the lazy dog sleeps",
    "frontier models and their prices",
    "how are you today",
)


@dataclass(frozen=True)
class ThroughputResult:
    """Completion tokens per second and latency percentiles for one load level."""

    label: str
    concurrency: int
    requests: int
    completion_tokens: int
    wall_s: float
    ttft_p50_s: float
    ttft_p99_s: float
    latency_p50_s: float
    latency_p99_s: float
    # Median per request of tokens after the first ÷ seconds after the first: decode speed without prefill.
    decode_tokens_per_s_p50: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        """Completion tokens generated per wall-clock second, all requests together."""
        return self.completion_tokens / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def bench_messages(index: int) -> tuple[dict[str, str], ...]:
    """A distinct prompt per request, of varying length, so no prefix is shared between requests."""
    topic = TOPICS[index % len(TOPICS)]
    return ({"role": "user", "content": f"Request {index}: tell me about {topic}. " * (1 + index % 3)},)


async def measured_throughput(
    engine: Engine,
    *,
    concurrency: int,
    requests: int | None = None,
    max_tokens: int = 64,
    label: str = "engine",
) -> ThroughputResult:
    """Send `requests` greedy fixed-length requests from `concurrency` closed-loop clients; time them all."""
    total = requests if requests is not None else max(concurrency * 2, 8)
    pending = iter(range(total))
    ttfts: list[float] = []
    latencies: list[float] = []
    decode_rates: list[float] = []
    tokens = 0

    async def client(worker: int) -> None:
        nonlocal tokens
        for index in pending:
            params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True)
            request = GenerationRequest(f"bench-{label}-{concurrency}-{index}", bench_messages(index), params)
            sent = time.perf_counter()
            first = None
            completion = 0
            async for event in await engine.submit(request):
                if isinstance(event, TextDelta) and first is None:
                    first = time.perf_counter() - sent
                elif isinstance(event, Finished):
                    completion = event.usage.completion_tokens
            tokens += completion
            latencies.append(time.perf_counter() - sent)
            ttfts.append(first if first is not None else latencies[-1])
            if completion > 1 and latencies[-1] > ttfts[-1]:
                decode_rates.append((completion - 1) / (latencies[-1] - ttfts[-1]))

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    wall = time.perf_counter() - start
    return ThroughputResult(
        label=label,
        concurrency=concurrency,
        requests=total,
        completion_tokens=tokens,
        wall_s=wall,
        ttft_p50_s=percentile(ttfts, 50),
        ttft_p99_s=percentile(ttfts, 99),
        latency_p50_s=percentile(latencies, 50),
        latency_p99_s=percentile(latencies, 99),
        decode_tokens_per_s_p50=percentile(decode_rates, 50),
    )


def price_per_million_tokens(hourly_cost_usd: float, tokens_per_s: float) -> float:
    """What one million generated tokens cost on hardware rented at `hourly_cost_usd`, at this throughput."""
    if tokens_per_s <= 0:
        raise ValueError("throughput must be positive to price tokens")
    return hourly_cost_usd / (tokens_per_s * 3600.0) * 1_000_000


def decode_weight_bytes(model: Any) -> int:
    """Weight bytes one batch-1 decode step must read: every parameter once, except that an input
    embedding not shared with the output head costs one row (the lookup reads nothing else of it)."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())  # tied weights are yielded once
    embedding = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    if head is None or head.weight is not embedding:
        total -= (embedding.shape[0] - 1) * embedding.shape[1] * embedding.element_size()
    return total


def roofline_tokens_per_s(weight_bytes: int, bandwidth_gb_per_s: float) -> float:
    """The memory-bandwidth bound on batch-1 decode: one step per full read of the weights."""
    if weight_bytes <= 0 or bandwidth_gb_per_s <= 0:
        raise ValueError("weight bytes and bandwidth must be positive")
    return bandwidth_gb_per_s * 1e9 / weight_bytes
