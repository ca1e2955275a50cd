"""`MetricsRecorder`: turns each finished `RequestRecord` into metric updates."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from prometheus_client import Counter

from gateway.metrics.instruments import GatewayMetrics
from gateway.metrics.labels import flag_label, status_label
from gateway.records import RequestRecord

log = logging.getLogger("gateway.metrics")

TOKEN_KINDS = ("input", "cached_input", "cache_write", "output")


class MetricsRecorder:
    """A `Recorder` that updates the gateway metrics; never raises into the request path."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        # prometheus-client's labels() costs microseconds per call; the label sets are bounded
        # (capped upstream), so the children are kept and reused.
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def record(self, record: RequestRecord) -> None:
        """Count the request, its money, tokens, latency, fallbacks, repairs and classifier confidence."""
        try:
            self._record(record)
        except Exception:  # metrics are best effort: a bad record must not fail a response
            log.exception("metrics could not record request %s", record.request_id)

    def _record(self, rec: RequestRecord) -> None:
        m = self.metrics
        model = m.model_label(rec.model)
        category = m.category_label(rec.category)
        self._child(m.requests, model, m.deployment_label(rec.deployment), category, status_label(rec.status)).inc()
        _add(self._child(m.spend_usd, model, category), rec.cost_usd)
        _add(self._child(m.baseline_spend_usd, model, category), rec.baseline_usd)
        _add(self._child(m.cache_savings_usd, model), rec.cache_savings_usd)
        for kind in TOKEN_KINDS:
            count = getattr(rec.usage, kind)
            if count > 0:
                self._child(m.tokens, model, kind).inc(count)
        stream = flag_label(rec.stream)
        self._child(m.request_duration, model, stream).observe(max(rec.latency_ms, 0.0) / 1000)
        if rec.ttft_ms is not None:
            self._child(m.ttft, model, stream).observe(max(rec.ttft_ms, 0.0) / 1000)
        if rec.fallbacks > 0:
            self._child(m.fallbacks, model).inc(rec.fallbacks)
        if rec.tool_repairs > 0:
            self._child(m.tool_repairs, model).inc(rec.tool_repairs)
        if rec.confidence is not None:
            self._child(m.classifier_confidence, category).observe(rec.confidence)


def _add(counter: Counter, usd: Decimal) -> None:
    # Counters only go up; zero-cost requests still create the series so rates read 0, not absent.
    counter.inc(float(usd) if usd > 0 else 0.0)
