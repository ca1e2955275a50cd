"""`MetricsRecorder`: turns each finished `RequestRecord` into metric updates."""

from __future__ import annotations

import logging
from decimal import Decimal

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
        m.requests.labels(model=model, deployment=m.deployment_label(rec.deployment), category=category,
                          status=status_label(rec.status)).inc()
        _add(m.spend_usd.labels(model=model, category=category), rec.cost_usd)
        _add(m.baseline_spend_usd.labels(model=model, category=category), rec.baseline_usd)
        _add(m.cache_savings_usd.labels(model=model), rec.cache_savings_usd)
        for kind in TOKEN_KINDS:
            count = getattr(rec.usage, kind)
            if count > 0:
                m.tokens.labels(model=model, kind=kind).inc(count)
        stream = flag_label(rec.stream)
        m.request_duration.labels(model=model, stream=stream).observe(max(rec.latency_ms, 0.0) / 1000)
        if rec.ttft_ms is not None:
            m.ttft.labels(model=model, stream=stream).observe(max(rec.ttft_ms, 0.0) / 1000)
        if rec.fallbacks > 0:
            m.fallbacks.labels(model=model).inc(rec.fallbacks)
        if rec.tool_repairs > 0:
            m.tool_repairs.labels(model=model).inc(rec.tool_repairs)
        if rec.confidence is not None:
            m.classifier_confidence.labels(category=category).observe(rec.confidence)


def _add(counter: Counter, usd: Decimal) -> None:
    # Counters only go up; zero-cost requests still create the series so rates read 0, not absent.
    counter.inc(float(usd) if usd > 0 else 0.0)
