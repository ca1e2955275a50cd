"""`GatewayMetrics`: the metric objects of one app, on its own registry, and the calls that feed them."""

from __future__ import annotations

import logging
import os
import threading
from enum import IntEnum
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway.metrics import definitions as d
from gateway.metrics.labels import LabelGuard

log = logging.getLogger("gateway.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class CircuitState(IntEnum):
    """Circuit breaker states, as the gauge reports them."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class LedgerStats(Protocol):
    """What the ledger writer reports about itself (`queue_capacity` is optional)."""

    queue_depth: int
    spool_rows: int
    last_write_latency_s: float | None
    rows_written: int
    write_errors: int


def _counter(spec: d.MetricSpec, registry: CollectorRegistry) -> Counter:
    assert spec.kind == "counter", spec.name
    return Counter(spec.name, spec.doc, spec.labels, registry=registry)


def _histogram(spec: d.MetricSpec, registry: CollectorRegistry) -> Histogram:
    assert spec.kind == "histogram", spec.name
    return Histogram(spec.name, spec.doc, spec.labels, registry=registry, buckets=spec.buckets)


def _gauge(spec: d.MetricSpec, registry: CollectorRegistry) -> Gauge:
    assert spec.kind == "gauge", spec.name
    return Gauge(spec.name, spec.doc, spec.labels, registry=registry, multiprocess_mode=spec.mode)


class GatewayMetrics:
    """All gateway metrics on one `CollectorRegistry` (a fresh one per app unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None, multiproc_dir: str | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        # prometheus_client switches to file-backed values when this variable is set at import;
        # the exposition must then read every worker's files, not this registry.
        # An explicit "" means single-process even where the variable is set.
        chosen = multiproc_dir if multiproc_dir is not None else os.environ.get(MULTIPROC_ENV)
        self.multiproc_dir = chosen or None
        r = self.registry
        self.requests = _counter(d.REQUESTS, r)
        self.spend_usd = _counter(d.SPEND, r)
        self.baseline_spend_usd = _counter(d.BASELINE_SPEND, r)
        self.cache_savings_usd = _counter(d.CACHE_SAVINGS, r)
        self.tokens = _counter(d.TOKENS, r)
        self.request_duration = _histogram(d.REQUEST_DURATION, r)
        self.ttft = _histogram(d.TTFT, r)
        self.upstream_duration = _histogram(d.UPSTREAM_DURATION, r)
        self.fallbacks = _counter(d.FALLBACKS, r)
        self.retries = _counter(d.RETRIES, r)
        self.tool_repairs = _counter(d.TOOL_REPAIRS, r)
        self.tool_turn_fallbacks = _counter(d.TOOL_TURN_FALLBACKS, r)
        self.circuit_state = _gauge(d.CIRCUIT_STATE, r)
        self.classifier_confidence = _histogram(d.CLASSIFIER_CONFIDENCE, r)
        self.ledger_queue_depth = _gauge(d.LEDGER_QUEUE_DEPTH, r)
        self.ledger_queue_capacity = _gauge(d.LEDGER_QUEUE_CAPACITY, r)
        self.ledger_spool_rows = _gauge(d.LEDGER_SPOOL_ROWS, r)
        self.ledger_write_duration = _histogram(d.LEDGER_WRITE_DURATION, r)
        self.ledger_rows_written = _counter(d.LEDGER_ROWS_WRITTEN, r)
        self.ledger_write_errors = _counter(d.LEDGER_WRITE_ERRORS, r)
        self.budget_rejections = _counter(d.BUDGET_REJECTIONS, r)
        self.rate_limit_rejections = _counter(d.RATE_LIMIT_REJECTIONS, r)
        self.policy_reloads = _counter(d.POLICY_RELOADS, r)
        self.redis_up = _gauge(d.REDIS_UP, r)
        self.redis_fail_open = _counter(d.REDIS_FAIL_OPEN, r)

        # Guards for every label whose values come from configuration or callers.
        self.model_label = LabelGuard(64)
        self.deployment_label = LabelGuard(128)
        self.category_label = LabelGuard(64)
        self.reason_label = LabelGuard(32)
        self.operation_label = LabelGuard(16)
        self.role_label = LabelGuard(8)
        self.scope_label = LabelGuard(2, allowed=("key", "team"))
        self.limit_label = LabelGuard(4, allowed=("requests", "tokens"))
        self.kind_label = LabelGuard(3, allowed=("reasoning", "signature", "thinking"))
        self._upstream_children: dict[tuple[str, bool], Histogram] = {}

        self._ledger_source: LedgerStats | None = None
        self._ledger_latency_pushed = False
        self._ledger_seen = (0, 0)
        self._ledger_lock = threading.Lock()

    @property
    def multiprocess(self) -> bool:
        """Whether values live in PROMETHEUS_MULTIPROC_DIR files shared by the workers."""
        return bool(self.multiproc_dir)

    # Dispatch -----------------------------------------------------------------------------

    def retry(self, deployment: str) -> None:
        """Count one retry of an upstream call on `deployment`."""
        self.retries.labels(deployment=self.deployment_label(deployment)).inc()

    def tool_turn_fallback(self, deployment: str, kind: str) -> None:
        """Count an upstream attempt whose earlier tool calls went without what `deployment`'s API wants back."""
        self.tool_turn_fallbacks.labels(deployment=self.deployment_label(deployment),
                                        kind=self.kind_label(kind)).inc()

    def observe_upstream(self, deployment: str, seconds: float, ok: bool = True) -> None:
        """Record the latency of one upstream attempt."""
        child = self._upstream_children.get((deployment, ok))
        if child is None:  # labels() and the guard cost microseconds; deployments are few
            if len(self._upstream_children) >= 1024:
                self._upstream_children.clear()
            child = self._upstream_children[deployment, ok] = self.upstream_duration.labels(
                deployment=self.deployment_label(deployment), outcome="ok" if ok else "error")
        child.observe(seconds)

    def set_circuit_state(self, deployment: str, state: CircuitState | int | str) -> None:
        """Report a breaker's state: CircuitState, 0/1/2, or "closed"/"half_open"/"open"."""
        if isinstance(state, str):
            state = CircuitState[state.upper().replace("-", "_")]
        self.circuit_state.labels(deployment=self.deployment_label(deployment)).set(int(CircuitState(state)))

    # Budgets, rate limits, policy, Redis -----------------------------------------------

    def budget_rejected(self, scope: str, reason: str) -> None:
        """Count a request refused by a budget (`scope` "key" or "team")."""
        self.budget_rejections.labels(scope=self.scope_label(scope), reason=self.reason_label(reason)).inc()

    def rate_limited(self, scope: str, limit: str = "requests") -> None:
        """Count a request refused by a rate limit (`limit` "requests" or "tokens")."""
        self.rate_limit_rejections.labels(scope=self.scope_label(scope), limit=self.limit_label(limit)).inc()

    def policy_reloaded(self, ok: bool) -> None:
        """Count a policy reload: applied (ok) or refused (the old policy stays)."""
        self.policy_reloads.labels(outcome="ok" if ok else "refused").inc()

    def set_redis_up(self, up: bool, role: str = "state") -> None:
        """Report whether Redis answers (only call this when Redis is configured)."""
        self.redis_up.labels(role=self.role_label(role)).set(1 if up else 0)

    def redis_failed_open(self, operation: str) -> None:
        """Count a decision (e.g. "budget", "rate_limit", "circuit") allowed because Redis was down."""
        self.redis_fail_open.labels(operation=self.operation_label(operation)).inc()

    # Ledger -----------------------------------------------------------------------------

    def observe_ledger(self, queue_depth: int, spool_rows: int, write_latency_s: float | None = None,
                       queue_capacity: int | None = None) -> None:
        """Report the writer's queue and spool, and the latency of a batch write when one just happened."""
        self.ledger_queue_depth.set(queue_depth)
        self.ledger_spool_rows.set(spool_rows)
        if queue_capacity is not None:
            self.ledger_queue_capacity.set(queue_capacity)
        if write_latency_s is not None:
            self.ledger_write_duration.observe(write_latency_s)

    def observe_ledger_write(self, seconds: float, rows: int, ok: bool = True) -> None:
        """Record one batch write: its latency, and its rows or its failure."""
        self.ledger_write_duration.observe(seconds)
        if ok:
            self.ledger_rows_written.inc(rows)
        else:
            self.ledger_write_errors.inc()

    def observe_ledger_stats(self, stats: LedgerStats) -> None:
        """Copy a ledger stats object into the metrics (counters advance by the change since last call)."""
        with self._ledger_lock:
            written, errors = int(stats.rows_written), int(stats.write_errors)
            seen_written, seen_errors = self._ledger_seen
            self._ledger_seen = (written, errors)
        # A writer that restarted its counts is taken as starting from zero.
        new_written = written - seen_written if written >= seen_written else written
        new_errors = errors - seen_errors if errors >= seen_errors else errors
        capacity = getattr(stats, "queue_capacity", None)
        pushed = self._ledger_latency_pushed
        latency = stats.last_write_latency_s if (new_written or new_errors) and not pushed else None
        self.observe_ledger(int(stats.queue_depth), int(stats.spool_rows), latency,
                            int(capacity) if capacity is not None else None)
        if new_written > 0:
            self.ledger_rows_written.inc(new_written)
        if new_errors > 0:
            self.ledger_write_errors.inc(new_errors)

    def watch_ledger(self, stats: LedgerStats, latency_pushed: bool = False) -> None:
        """Read `stats` at every `refresh` (each scrape; each writer tick when it calls it).

        With `latency_pushed` the writer reports every batch's latency itself (`observe_ledger_batch`),
        so the copy leaves the histogram alone.
        """
        self._ledger_source = stats
        self._ledger_latency_pushed = latency_pushed

    def observe_ledger_batch(self, seconds: float) -> None:
        """Record the latency of one ledger batch write (called by the writer, per batch)."""
        self.ledger_write_duration.observe(seconds)

    def refresh(self) -> None:
        """Pull the values that are read rather than pushed (the watched ledger stats); never raises."""
        source = self._ledger_source
        if source is None:
            return
        try:
            self.observe_ledger_stats(source)
        except Exception:  # a broken stats object must not break the scrape
            log.exception("could not read ledger stats")

    # Lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """On worker shutdown: drop this process's live gauges from the shared multiprocess files."""
        if not self.multiproc_dir:
            return
        from prometheus_client import multiprocess

        try:
            multiprocess.mark_process_dead(os.getpid(), self.multiproc_dir)
        except OSError:
            log.warning("could not remove this worker's metric files from %s", self.multiproc_dir)
