"""Every Prometheus metric the gateway exports, declared once with its labels and buckets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
GaugeMode = Literal["livesum", "livemax", "livemin"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 20.0)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its base name (counters without `_total`), type, help text and label names."""

    name: str
    kind: Kind
    doc: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    # How a gauge is merged across worker processes in multiprocess mode ("live": a worker's
    # value disappears when it is marked dead on shutdown).
    mode: GaugeMode = "livesum"

    def exposed_names(self, created: bool = True) -> tuple[str, ...]:
        """The sample names Prometheus scrapes for this metric (`_created` only in single-process mode)."""
        if self.kind == "gauge":
            return (self.name,)
        suffixes = ("_total",) if self.kind == "counter" else ("_bucket", "_sum", "_count")
        return tuple(self.name + s for s in (*suffixes, *(("_created",) if created else ())))


def _c(name: str, doc: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, "counter", doc, labels)


def _h(name: str, doc: str, buckets: tuple[float, ...], *labels: str) -> MetricSpec:
    return MetricSpec(name, "histogram", doc, labels, buckets)


def _g(name: str, doc: str, mode: GaugeMode, *labels: str) -> MetricSpec:
    return MetricSpec(name, "gauge", doc, labels, mode=mode)


# Requests and money. Team is deliberately not a label: spend by team comes from the ledger.
REQUESTS = _c("gateway_requests", "Finished requests.", "model", "deployment", "category", "status")
SPEND = _c("gateway_spend_usd", "Spend in USD at catalogue prices.", "model", "category")
BASELINE_SPEND = _c("gateway_baseline_spend_usd", "What the same tokens would have cost on the baseline model.",
                    "model", "category")
CACHE_SAVINGS = _c("gateway_cache_savings_usd", "USD saved by cached input versus full input price.", "model")
TOKENS = _c("gateway_tokens", "Tokens by billing bucket (input, cached_input, cache_write, output).",
            "model", "kind")

# Latency.
REQUEST_DURATION = _h("gateway_request_duration_seconds", "Request latency seen by the client.",
                      LATENCY_BUCKETS, "model", "stream")
TTFT = _h("gateway_time_to_first_token_seconds", "Time to the first streamed chunk.", TTFT_BUCKETS, "model", "stream")
UPSTREAM_DURATION = _h("gateway_upstream_duration_seconds", "Latency of one upstream attempt.",
                       LATENCY_BUCKETS, "deployment", "outcome")

# Dispatch.
FALLBACKS = _c("gateway_fallbacks", "Attempts after the first needed to serve a request.", "model")
RETRIES = _c("gateway_retries", "Retries of an upstream call on the same deployment.", "deployment")
TOOL_TURN_FALLBACKS = _c("gateway_tool_turn_fallbacks", "Upstream attempts whose earlier tool calls went without "
                         "what their API wants back: DeepSeek thinking disabled (reasoning), Gemini's skip signature "
                         "(signature), Claude's thinking left out (thinking).", "deployment", "kind")
TOOL_REPAIRS = _c("gateway_tool_call_repairs", "Tool calls repaired or escalated after failing validation.", "model")
CIRCUIT_STATE = _g("gateway_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                   "livemax", "deployment")
CLASSIFIER_CONFIDENCE = _h("gateway_classifier_confidence", "Confidence of the request classifier.",
                           CONFIDENCE_BUCKETS, "category")

# Ledger (gauges are per worker and summed across workers).
LEDGER_QUEUE_DEPTH = _g("gateway_ledger_queue_depth", "Records waiting for the ledger writer.", "livesum")
LEDGER_QUEUE_CAPACITY = _g("gateway_ledger_queue_capacity", "Capacity of the ledger writer queue.", "livesum")
LEDGER_SPOOL_ROWS = _g("gateway_ledger_spool_rows", "Rows in the local spool awaiting the database.", "livesum")
LEDGER_WRITE_DURATION = _h("gateway_ledger_write_duration_seconds", "Latency of one ledger batch write.",
                           WRITE_BUCKETS)
LEDGER_ROWS_WRITTEN = _c("gateway_ledger_rows_written", "Rows written to the ledger database.")
LEDGER_WRITE_ERRORS = _c("gateway_ledger_write_errors", "Failed ledger batch writes.")

# Budgets, rate limits, policy, shared state.
BUDGET_REJECTIONS = _c("gateway_budget_rejections", "Requests refused by a budget.", "scope", "reason")
RATE_LIMIT_REJECTIONS = _c("gateway_rate_limit_rejections", "Requests refused by a rate limit.", "scope", "limit")
POLICY_RELOADS = _c("gateway_policy_reloads", "Policy reload attempts (ok or refused).", "outcome")
REDIS_UP = _g("gateway_redis_up", "Whether Redis answers (1 up, 0 down); absent without Redis.", "livemin", "role")
REDIS_FAIL_OPEN = _c("gateway_redis_fail_open", "Decisions allowed without Redis because it was down.", "operation")

SPECS: tuple[MetricSpec, ...] = (
    REQUESTS, SPEND, BASELINE_SPEND, CACHE_SAVINGS, TOKENS,
    REQUEST_DURATION, TTFT, UPSTREAM_DURATION,
    FALLBACKS, RETRIES, TOOL_TURN_FALLBACKS, TOOL_REPAIRS, CIRCUIT_STATE, CLASSIFIER_CONFIDENCE,
    LEDGER_QUEUE_DEPTH, LEDGER_QUEUE_CAPACITY, LEDGER_SPOOL_ROWS, LEDGER_WRITE_DURATION,
    LEDGER_ROWS_WRITTEN, LEDGER_WRITE_ERRORS,
    BUDGET_REJECTIONS, RATE_LIMIT_REJECTIONS, POLICY_RELOADS, REDIS_UP, REDIS_FAIL_OPEN,
)


def exported_metric_names(created: bool = True) -> frozenset[str]:
    """Every sample name the gateway exposes on /metrics, suffixes included (no metric is created)."""
    return frozenset(name for spec in SPECS for name in spec.exposed_names(created))
