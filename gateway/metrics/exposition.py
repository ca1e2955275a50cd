"""Rendering the metrics for a scrape, in one process or across uvicorn workers."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from gateway.metrics.instruments import GatewayMetrics


def render(metrics: GatewayMetrics) -> tuple[bytes, str]:
    """The exposition body and its content type (all workers' values in multiprocess mode)."""
    metrics.refresh()
    if metrics.multiproc_dir:
        from prometheus_client.multiprocess import MultiProcessCollector

        # A fresh registry per scrape: the collector reads every worker's files, so this
        # process's own registry must not be added on top.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics.multiproc_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: the Prometheus exposition of `request.app.state.metrics`."""
    body, content_type = render(request.app.state.metrics)
    return Response(body, media_type=content_type)
