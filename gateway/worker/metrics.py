"""Prometheus metrics for one worker app, kept in the app's own registry (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.worker.engine import EngineStats, Usage

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class WorkerMetrics:
    """Request outcomes, token counts, latencies and engine load."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("worker_requests", "Chat completion requests by outcome.", ["outcome"], registry=r)
        self.prompt_tokens = Counter(
            "worker_prompt_tokens", "Prompt tokens processed, cached ones included.", registry=r
        )
        self.cached_tokens = Counter(
            "worker_cached_prompt_tokens", "Prompt tokens served from the prefix cache.", registry=r
        )
        self.completion_tokens = Counter("worker_completion_tokens", "Tokens generated.", registry=r)
        self.ttft = Histogram(
            "worker_time_to_first_token_seconds", "Time to first token.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.duration = Histogram(
            "worker_request_duration_seconds", "Time to last token.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.running = Gauge("worker_running_sequences", "Sequences in the decode batch.", registry=r)
        self.waiting = Gauge("worker_waiting_requests", "Requests queued for a batch slot.", registry=r)
        self.max_batch = Gauge("worker_max_batch", "Batch slots.", registry=r)
        self.max_queue = Gauge("worker_max_queue", "Queue bound before requests get 503.", registry=r)
        self.prefix_tokens = Gauge("worker_prefix_cache_tokens", "Tokens held by the prefix KV cache.", registry=r)

    def observe(self, outcome: str, usage: Usage | None, ttft_s: float | None, duration_s: float | None) -> None:
        """Record one finished request."""
        self.requests.labels(outcome=outcome).inc()
        if usage is not None:
            self.prompt_tokens.inc(usage.prompt_tokens)
            self.cached_tokens.inc(usage.cached_tokens)
            self.completion_tokens.inc(usage.completion_tokens)
        if ttft_s is not None:
            self.ttft.observe(ttft_s)
        if duration_s is not None:
            self.duration.observe(duration_s)

    def render(self, stats: EngineStats) -> bytes:
        """The exposition text, with load gauges refreshed from `stats`."""
        self.running.set(stats.running)
        self.waiting.set(stats.waiting)
        self.max_batch.set(stats.max_batch)
        self.max_queue.set(stats.max_queue)
        self.prefix_tokens.set(stats.prefix_cache_tokens)
        return generate_latest(self.registry)
