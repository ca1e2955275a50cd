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


# Distinct (model, deployment, category, status, stream) combinations remembered; past this the
# memo starts over (label values come from the catalogue and policy, so it is never reached normally).
MAX_SERIES = 4096


class _Series:
    """The label values of one kind of request and its children (those not every request touches are
    created on first use, so no series appears before something was observed in it)."""

    __slots__ = ("model", "category", "stream", "requests", "spend", "baseline", "savings", "duration",
                 "tokens", "confidence")

    def __init__(self, m: GatewayMetrics, model: str, deployment: str, category: str, status: str,
                 stream: str) -> None:
        self.model, self.category, self.stream = model, category, stream
        self.requests = m.requests.labels(model, deployment, category, status)
        self.spend = m.spend_usd.labels(model, category)
        self.baseline = m.baseline_spend_usd.labels(model, category)
        self.savings = m.cache_savings_usd.labels(model)
        self.duration = m.request_duration.labels(model, stream)
        self.tokens: list[Any] = [None] * len(TOKEN_KINDS)
        self.confidence: Any = None


class MetricsRecorder:
    """A `Recorder` that updates the gateway metrics; never raises into the request path."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        # prometheus-client's labels() costs microseconds per call, and so do the label guards;
        # the label sets are bounded (capped upstream), so both are resolved once and reused.
        self._series: dict[tuple[object, ...], _Series] = {}
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def _series_of(self, rec: RequestRecord) -> _Series:
        key = (rec.model, rec.deployment, rec.category, rec.status, rec.stream)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= MAX_SERIES:
                self._series.clear()
            m = self.metrics
            series = self._series[key] = _Series(
                m, m.model_label(rec.model), m.deployment_label(rec.deployment), m.category_label(rec.category),
                status_label(rec.status), flag_label(rec.stream))
        return series

    def record(self, record: RequestRecord) -> None:
        """Count the request, its money, tokens, latency, fallbacks, repairs and classifier confidence."""
        try:
            self._record(record)
        except Exception:  # metrics are best effort: a bad record must not fail a response
            log.exception("metrics could not record request %s", record.request_id)

    def _record(self, rec: RequestRecord) -> None:
        m = self.metrics
        series = self._series_of(rec)
        model = series.model
        series.requests.inc()
        _add(series.spend, rec.cost_usd)
        _add(series.baseline, rec.baseline_usd)
        _add(series.savings, rec.cache_savings_usd)
        usage = rec.usage
        counts = (usage.input, usage.cached_input, usage.cache_write, usage.output)  # in TOKEN_KINDS' order
        for i, count in enumerate(counts):
            if count > 0:
                child = series.tokens[i]
                if child is None:
                    child = series.tokens[i] = m.tokens.labels(model, TOKEN_KINDS[i])
                child.inc(count)
        series.duration.observe(max(rec.latency_ms, 0.0) / 1000)
        if rec.ttft_ms is not None:
            self._child(m.ttft, model, series.stream).observe(max(rec.ttft_ms, 0.0) / 1000)
        if rec.fallbacks > 0:
            self._child(m.fallbacks, model).inc(rec.fallbacks)
        if rec.tool_repairs > 0:
            self._child(m.tool_repairs, model).inc(rec.tool_repairs)
        if rec.confidence is not None:
            if series.confidence is None:
                series.confidence = m.classifier_confidence.labels(series.category)
            series.confidence.observe(rec.confidence)


def _add(counter: Counter, usd: Decimal) -> None:
    # Counters only go up; zero-cost requests still create the series so rates read 0, not absent.
    counter.inc(float(usd) if usd > 0 else 0.0)
