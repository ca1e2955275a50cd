"""One `requests` row from a RequestRecord, and its JSON form in the spool."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from gateway.records import RequestRecord

Row = dict[str, Any]

MONEY_FIELDS = ("cost_usd", "baseline_usd", "cache_savings_usd")
TIME_FIELDS = ("started_at",)


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _aware(at: datetime) -> datetime:
    # A naive time would be rejected by the column type: it can only have meant UTC here.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def record_to_row(rec: RequestRecord) -> Row:
    """A snapshot of `rec` as a `requests` row (the record may be reused after this returns)."""
    usage = rec.usage
    return {
        "request_id": rec.request_id,
        "started_at": _aware(rec.started_at),
        "key_id": rec.key_id,
        "team": rec.team,
        "category": rec.category,
        "confidence": rec.confidence,
        "verdict": rec.verdict,
        "requested_model": rec.requested_model,
        "model": rec.model,
        "deployment": rec.deployment,
        "provider": rec.provider,
        "attempts": int(rec.attempts),
        "tool_repairs": int(rec.tool_repairs),
        "fallbacks": int(rec.fallbacks),
        "status": int(rec.status),
        "error_code": rec.error_code,
        "stream": bool(rec.stream),
        "latency_ms": float(rec.latency_ms),
        "ttft_ms": None if rec.ttft_ms is None else float(rec.ttft_ms),
        "input_tokens": int(usage.input),
        "cached_input_tokens": int(usage.cached_input),
        "cache_write_tokens": int(usage.cache_write),
        "output_tokens": int(usage.output),
        "reasoning_tokens": int(usage.reasoning),
        "cost_usd": _money(rec.cost_usd),
        "baseline_usd": _money(rec.baseline_usd),
        # Older records may not carry it; the column stays nullable for rows from before it existed.
        "cache_savings_usd": _money(getattr(rec, "cache_savings_usd", Decimal(0))),
    }


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: a float here would change the money
    raise TypeError(f"cannot spool {type(value).__name__}")


def encode_row(row: Row) -> bytes:
    """One spool line (without the newline)."""
    return orjson.dumps(row, default=_default)


def decode_row(line: bytes) -> Row:
    """A row back from its spool line; raises ValueError on a damaged line."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"undecodable spool line: {exc}") from None
    if not isinstance(row, dict) or "request_id" not in row:
        raise ValueError("spool line is not a request row")
    for name in MONEY_FIELDS:
        if row.get(name) is not None:
            row[name] = Decimal(row[name])
    for name in TIME_FIELDS:
        row[name] = datetime.fromisoformat(row[name])
    return row
