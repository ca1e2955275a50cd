"""Metrics: the recorder's mapping, bounded labels, the helpers, and rendering in one or many processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.metrics import (
    SPECS,
    CircuitState,
    GatewayMetrics,
    MetricsRecorder,
    exported_metric_names,
    metrics_endpoint,
    render,
)
from gateway.records import RequestRecord
from gateway.usage import Usage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def metrics() -> GatewayMetrics:
    return GatewayMetrics(multiproc_dir="")


def make_record(i: int = 0, **overrides: object) -> RequestRecord:
    fields: dict[str, object] = dict(
        request_id=f"req_{i}", started_at=datetime(2026, 9, 1, tzinfo=UTC), key_id=f"key_{i}", team=f"team_{i}",
        requested_model="auto", stream=False, model="deepseek-v4-pro", deployment="deepseek-v4-pro@deepseek",
        provider="openai_compat", category="P5", confidence=0.83, status=200, latency_ms=1500.0,
        usage=Usage(input=1000, cached_input=3000, cache_write=0, output=500, reasoning=100),
        cost_usd=Decimal("0.0025"), baseline_usd=Decimal("0.0400"), cache_savings_usd=Decimal("0.0047"),
    )
    fields.update(overrides)
    return RequestRecord(**fields)  # type: ignore[arg-type]


def value(m: GatewayMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def series_count(m: GatewayMetrics) -> int:
    return sum(len(family.samples) for family in m.registry.collect())


def sample_names(body: bytes) -> set[str]:
    return {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def test_recorder_maps_a_record_to_counters(metrics: GatewayMetrics) -> None:
    MetricsRecorder(metrics).record(make_record(fallbacks=1, attempts=2, tool_repairs=2))
    model, cat = "deepseek-v4-pro", "P5"
    assert value(metrics, "gateway_requests_total", model=model, deployment="deepseek-v4-pro@deepseek",
                 category=cat, status="200") == 1
    assert value(metrics, "gateway_spend_usd_total", model=model, category=cat) == pytest.approx(0.0025)
    assert value(metrics, "gateway_baseline_spend_usd_total", model=model, category=cat) == pytest.approx(0.04)
    assert value(metrics, "gateway_cache_savings_usd_total", model=model) == pytest.approx(0.0047)
    assert value(metrics, "gateway_tokens_total", model=model, kind="input") == 1000
    assert value(metrics, "gateway_tokens_total", model=model, kind="cached_input") == 3000
    assert value(metrics, "gateway_tokens_total", model=model, kind="output") == 500
    assert value(metrics, "gateway_tokens_total", model=model, kind="cache_write") is None  # zero: no series
    assert value(metrics, "gateway_request_duration_seconds_sum", model=model, stream="false") == 1.5
    assert value(metrics, "gateway_request_duration_seconds_bucket", model=model, stream="false", le="2.5") == 1
    assert value(metrics, "gateway_request_duration_seconds_bucket", model=model, stream="false", le="1.0") == 0
    assert value(metrics, "gateway_time_to_first_token_seconds_count", model=model, stream="false") is None
    assert value(metrics, "gateway_fallbacks_total", model=model) == 1
    assert value(metrics, "gateway_tool_call_repairs_total", model=model) == 2
    assert value(metrics, "gateway_classifier_confidence_bucket", category=cat, le="0.9") == 1
    assert value(metrics, "gateway_classifier_confidence_bucket", category=cat, le="0.8") == 0


def test_recorder_labels_missing_fields_and_errors(metrics: GatewayMetrics) -> None:
    recorder = MetricsRecorder(metrics)
    recorder.record(make_record(category=None, confidence=None, deployment=None, status=502,
                                error_code="upstream_error", usage=Usage(), cost_usd=Decimal(0),
                                baseline_usd=Decimal(0), cache_savings_usd=Decimal(0)))
    recorder.record(make_record(stream=True, ttft_ms=250.0, status=200))
    assert value(metrics, "gateway_requests_total", model="deepseek-v4-pro", deployment="none",
                 category="none", status="502") == 1
    # A free request still creates its spend series, so rates read 0 rather than "no data".
    assert value(metrics, "gateway_spend_usd_total", model="deepseek-v4-pro", category="none") == 0
    assert value(metrics, "gateway_classifier_confidence_count", category="none") is None
    assert value(metrics, "gateway_time_to_first_token_seconds_sum", model="deepseek-v4-pro",
                 stream="true") == 0.25


def test_recorder_never_raises(metrics: GatewayMetrics) -> None:
    broken = make_record(usage=None)  # an attribute error inside the mapping
    MetricsRecorder(metrics).record(broken)


def test_series_do_not_grow_with_keys_teams_or_requests(metrics: GatewayMetrics) -> None:
    recorder = MetricsRecorder(metrics)
    recorder.record(make_record(0))
    baseline = series_count(metrics)
    for i in range(1, 1000):
        recorder.record(make_record(i))
    assert series_count(metrics) == baseline
    # Even label values that do vary (a misbehaving caller's model names) are capped.
    for i in range(1000):
        recorder.record(make_record(i, model=f"bogus-model-{i}", category=f"cat-{i}", status=1000 + i))
    models = {s.labels["model"] for f in metrics.registry.collect() for s in f.samples if "model" in s.labels}
    assert len(models) <= metrics.model_label.limit + 1
    assert "other" in models
    statuses = {s.labels["status"] for f in metrics.registry.collect() for s in f.samples if "status" in s.labels}
    assert statuses == {"200", "other"}


def test_remembered_series_keep_counting_past_the_memo_bound(metrics: GatewayMetrics,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The recorder resolves each kind of request's children once; when its memo is full it starts
    # over, and nothing recorded before or after is lost or sent to another series.
    monkeypatch.setattr("gateway.metrics.recorder.MAX_SERIES", 3)
    recorder = MetricsRecorder(metrics)
    kinds = [dict(status=s, stream=st) for s in (200, 429, 502) for st in (False, True)]
    for _ in range(4):
        for kind in kinds:
            recorder.record(make_record(**kind, ttft_ms=100.0 if kind["stream"] else None))
    for status in ("200", "429", "502"):
        assert value(metrics, "gateway_requests_total", model="deepseek-v4-pro",
                     deployment="deepseek-v4-pro@deepseek", category="P5", status=status) == 8
    for stream in ("false", "true"):
        assert value(metrics, "gateway_request_duration_seconds_count", model="deepseek-v4-pro", stream=stream) == 12
    assert value(metrics, "gateway_time_to_first_token_seconds_count", model="deepseek-v4-pro", stream="true") == 12
    assert value(metrics, "gateway_time_to_first_token_seconds_count", model="deepseek-v4-pro", stream="false") is None
    assert value(metrics, "gateway_tokens_total", model="deepseek-v4-pro", kind="input") == 24 * 1000
    assert value(metrics, "gateway_spend_usd_total", model="deepseek-v4-pro", category="P5") == pytest.approx(24 * 0.0025)
    assert value(metrics, "gateway_classifier_confidence_count", category="P5") == 24


def test_upstream_latency_keeps_outcomes_apart(metrics: GatewayMetrics) -> None:
    for ok in (True, False, True):
        metrics.observe_upstream("a@x", 0.5, ok=ok)
    assert value(metrics, "gateway_upstream_duration_seconds_count", deployment="a@x", outcome="ok") == 2
    assert value(metrics, "gateway_upstream_duration_seconds_count", deployment="a@x", outcome="error") == 1


def test_helpers(metrics: GatewayMetrics) -> None:
    metrics.retry("a@x")
    metrics.retries.labels(deployment="a@x").inc()
    metrics.observe_upstream("a@x", 0.3, ok=False)
    metrics.set_circuit_state("a@x", "half-open")
    metrics.set_circuit_state("b@x", CircuitState.OPEN)
    metrics.set_circuit_state("c@x", 0)
    metrics.budget_rejected("team", "monthly_usd")
    metrics.budget_rejected("tenant", "monthly_usd")  # not a scope: reported as "other"
    metrics.rate_limited("key", "tokens")
    metrics.policy_reloaded(True)
    metrics.policy_reloaded(False)
    metrics.set_redis_up(False)
    metrics.redis_failed_open("budget")
    assert value(metrics, "gateway_retries_total", deployment="a@x") == 2
    assert value(metrics, "gateway_upstream_duration_seconds_count", deployment="a@x", outcome="error") == 1
    assert value(metrics, "gateway_circuit_state", deployment="a@x") == 1
    assert value(metrics, "gateway_circuit_state", deployment="b@x") == 2
    assert value(metrics, "gateway_circuit_state", deployment="c@x") == 0
    assert value(metrics, "gateway_budget_rejections_total", scope="team", reason="monthly_usd") == 1
    assert value(metrics, "gateway_budget_rejections_total", scope="other", reason="monthly_usd") == 1
    assert value(metrics, "gateway_rate_limit_rejections_total", scope="key", limit="tokens") == 1
    assert value(metrics, "gateway_policy_reloads_total", outcome="ok") == 1
    assert value(metrics, "gateway_policy_reloads_total", outcome="refused") == 1
    assert value(metrics, "gateway_redis_up", role="state") == 0
    assert value(metrics, "gateway_redis_fail_open_total", operation="budget") == 1


def test_ledger_stats_are_copied_with_counter_deltas(metrics: GatewayMetrics) -> None:
    stats = SimpleNamespace(queue_depth=7, spool_rows=0, last_write_latency_s=0.02, rows_written=100,
                            write_errors=0, queue_capacity=10_000)
    metrics.watch_ledger(stats)
    render(metrics)  # a scrape pulls the watched stats
    render(metrics)  # nothing new written: counters and the histogram do not move
    assert value(metrics, "gateway_ledger_queue_depth") == 7
    assert value(metrics, "gateway_ledger_queue_capacity") == 10_000
    assert value(metrics, "gateway_ledger_rows_written_total") == 100
    assert value(metrics, "gateway_ledger_write_duration_seconds_count") == 1
    stats.rows_written, stats.write_errors, stats.spool_rows = 150, 2, 40
    metrics.observe_ledger_stats(stats)
    assert value(metrics, "gateway_ledger_rows_written_total") == 150
    assert value(metrics, "gateway_ledger_write_errors_total") == 2
    assert value(metrics, "gateway_ledger_spool_rows") == 40
    metrics.observe_ledger(queue_depth=1, spool_rows=0, write_latency_s=0.5)
    metrics.observe_ledger_write(0.01, rows=5)
    assert value(metrics, "gateway_ledger_write_duration_seconds_count") == 4
    assert value(metrics, "gateway_ledger_rows_written_total") == 155
    metrics.watch_ledger(SimpleNamespace())  # broken stats: the scrape still works
    assert render(metrics)[0]


def exercise_everything(metrics: GatewayMetrics) -> None:
    MetricsRecorder(metrics).record(make_record(stream=True, ttft_ms=100.0, fallbacks=1, tool_repairs=1,
                                                usage=Usage(1, 2, 3, 4)))
    metrics.retry("a@x")
    metrics.tool_turn_fallback("a@x", "reasoning")
    metrics.observe_upstream("a@x", 0.3)
    metrics.set_circuit_state("a@x", "open")
    metrics.budget_rejected("key", "daily_usd")
    metrics.rate_limited("team")
    metrics.policy_reloaded(True)
    metrics.set_redis_up(True)
    metrics.redis_failed_open("rate_limit")
    metrics.observe_ledger(3, 4, 0.01, 100)
    metrics.observe_ledger_write(0.01, 5, ok=False)
    metrics.observe_ledger_write(0.01, 5)


def test_specs_cover_the_registry_and_every_rendered_name_is_exported(metrics: GatewayMetrics) -> None:
    assert {f.name for f in metrics.registry.collect()} == {s.name for s in SPECS}
    exercise_everything(metrics)
    body, content_type = render(metrics)
    assert content_type.startswith("text/plain")
    names = sample_names(body)
    assert names <= exported_metric_names()
    assert {n for n in exported_metric_names() if not n.endswith("_created")} <= names


def test_endpoint_reads_app_state() -> None:
    app = Starlette(routes=[Route("/metrics", metrics_endpoint)])
    app.state.metrics = GatewayMetrics(multiproc_dir="")
    MetricsRecorder(app.state.metrics).record(make_record())
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'gateway_requests_total{category="P5"' in response.text


def test_separate_apps_have_separate_registries() -> None:
    first, second = GatewayMetrics(multiproc_dir=""), GatewayMetrics(multiproc_dir="")
    assert not first.multiprocess and first.multiproc_dir is None
    MetricsRecorder(first).record(make_record())
    assert value(second, "gateway_requests_total", model="deepseek-v4-pro", deployment="deepseek-v4-pro@deepseek",
                 category="P5", status="200") is None


WORKER = textwrap.dedent("""
    import sys
    from tests.test_metrics import make_record
    from gateway.metrics import GatewayMetrics, MetricsRecorder
    m = GatewayMetrics()
    MetricsRecorder(m).record(make_record())
    m.observe_ledger(queue_depth=int(sys.argv[1]), spool_rows=0, queue_capacity=100)
    m.set_circuit_state("a@x", int(sys.argv[2]))
    m.set_redis_up(sys.argv[3] == "up")
    if sys.argv[4] == "close":
        m.close()
""")

SCRAPE = textwrap.dedent("""
    import sys
    from gateway.metrics import GatewayMetrics, render
    body, content_type = render(GatewayMetrics())
    sys.stdout.write(body.decode())
""")


def run_python(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_render_merges_worker_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    run_python(WORKER, env, "3", "2", "up", "keep")
    run_python(WORKER, env, "4", "0", "down", "keep")
    run_python(WORKER, env, "50", "1", "down", "close")  # a worker that shut down cleanly
    body = run_python(SCRAPE, env)
    families = {f.name: f for f in text_string_to_metric_families(body)}
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    key = (("category", "P5"), ("deployment", "deepseek-v4-pro@deepseek"), ("model", "deepseek-v4-pro"),
           ("status", "200"))
    assert values[("gateway_requests_total", key)] == 3  # counters survive their process
    assert values[("gateway_ledger_queue_depth", ())] == 7  # live gauges: summed over live workers
    assert values[("gateway_ledger_queue_capacity", ())] == 200
    assert values[("gateway_circuit_state", (("deployment", "a@x"),))] == 2  # worst breaker wins
    assert values[("gateway_redis_up", (("role", "state"),))] == 0  # any worker seeing Redis down
    assert sample_names(body.encode()) <= exported_metric_names(created=False)
