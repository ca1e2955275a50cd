"""Settling a request: price every upstream call it made and hand the record to the recorders."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from decimal import Decimal

from gateway.budgets import Reservation
from gateway.context import GatewayContext
from gateway.dispatch import Charge, DispatchLog
from gateway.pricing import request_cost
from gateway.records import RequestRecord
from gateway.usage import Usage

log = logging.getLogger("gateway.accounting")
COST_QUANTUM = Decimal("1e-10")


def money(value: Decimal) -> str:
    """USD as a fixed-point string for headers and JSON."""
    return format(value.quantize(COST_QUANTUM), "f")


def emit(ctx: GatewayContext, record: RequestRecord) -> None:
    """Hand a finished record to every recorder; a failing recorder never breaks the response."""
    for recorder in ctx.recorders:
        try:
            recorder.record(record)
        except Exception:
            log.exception("recorder %s failed for request %s", type(recorder).__name__, record.request_id)


def price(ctx: GatewayContext, record: RequestRecord, charges: Sequence[Charge]) -> None:
    """Fill the record's usage and costs from every upstream call (repairs and escalations included)."""
    baseline = ctx.catalogue.baseline()
    if len(charges) == 1:  # most requests: one upstream call, nothing to sum
        charge = charges[0]
        cost = request_cost(charge.usage, charge.deployment, baseline, record.started_at)
        record.usage, record.cost_usd, record.baseline_usd = charge.usage, cost.usd, cost.baseline_usd
        record.cache_savings_usd = cost.cache_savings_usd
        return
    usage, usd, baseline_usd, cache_savings = Usage(), Decimal(0), Decimal(0), Decimal(0)
    for charge in charges:
        cost = request_cost(charge.usage, charge.deployment, baseline, record.started_at)
        usage = usage + charge.usage
        usd += cost.usd
        baseline_usd += cost.baseline_usd
        cache_savings += cost.cache_savings_usd
    record.usage, record.cost_usd, record.baseline_usd = usage, usd, baseline_usd
    record.cache_savings_usd = cache_savings


def settle(ctx: GatewayContext, record: RequestRecord, dispatch_log: DispatchLog, started: float,
           reservation: Reservation | None = None) -> None:
    """Price, time and emit a finished (or failed) request, and settle its budget reservation."""
    record.attempts = len(dispatch_log.tried)
    record.fallbacks = dispatch_log.fallbacks
    record.tool_repairs = dispatch_log.repairs
    record.retries = dispatch_log.retries
    price(ctx, record, dispatch_log.charges)
    record.latency_ms = (time.perf_counter() - started) * 1000
    emit(ctx, record)
    if reservation is not None:
        ctx.guard.settle_later(reservation, record.cost_usd, record.usage.output)
