"""Prometheus metrics: definitions, the request recorder, and the /metrics exposition."""

from gateway.metrics.definitions import SPECS, MetricSpec, exported_metric_names
from gateway.metrics.exposition import metrics_endpoint, render
from gateway.metrics.instruments import CircuitState, GatewayMetrics, LedgerStats
from gateway.metrics.labels import LabelGuard
from gateway.metrics.recorder import MetricsRecorder

__all__ = [
    "SPECS", "CircuitState", "GatewayMetrics", "LabelGuard", "LedgerStats", "MetricSpec", "MetricsRecorder",
    "exported_metric_names", "metrics_endpoint", "render",
]
