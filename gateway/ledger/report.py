"""Spend and savings reports from the ledger, grouped by team, key, model, category or day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger.engine import create_engine
from gateway.ledger.tables import requests

GroupBy = Literal["team", "key", "model", "category", "day"]
GROUPS: tuple[str, ...] = ("team", "key", "model", "category", "day")
NONE_LABEL = "(none)"

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


@dataclass(frozen=True, slots=True)
class SpendRow:
    """Totals for one group.

    `saved_usd` is the routing saving: the baseline model's cost for the same usage minus the
    actual cost (negative when a route cost more). `cache_savings_usd` is the cache discount on
    the routed model: cached-input tokens at the full input price minus at the cached price.
    `cache_share` = cache_savings_usd / (saved_usd + cache_savings_usd), the part of both savings
    due to cache hits; None when that sum is not positive.
    """

    key: str
    requests: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal
    baseline_usd: Decimal
    saved_usd: Decimal
    cache_savings_usd: Decimal
    cache_share: Decimal | None


MAX_LOOK_BACK = timedelta(days=36_500)


def parse_since(text: str) -> timedelta:
    """A look-back window such as "7d", "24h", "30m" (also s and w)."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid duration {text!r}: use a positive whole number followed by s, m, h, d or w "
                         "(seconds, minutes, hours, days, weeks), e.g. 7d, 24h or 30m")
    try:
        window: timedelta | None = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:  # past timedelta's own range
        window = None
    if window is None or window > MAX_LOOK_BACK:  # no date that far back can be subtracted from today
        raise ValueError(f"duration {text!r} is too long: at most {MAX_LOOK_BACK.days}d (100 years)")
    return window


def _group_column(by: str, dialect: Dialect) -> ColumnElement[Any]:
    if by == "team":
        return requests.c.team
    if by == "key":
        return requests.c.key_id
    if by == "model":
        return requests.c.model
    if by == "category":
        return requests.c.category
    if by == "day":
        if dialect.name == "postgresql":
            return func.to_char(func.timezone("UTC", requests.c.started_at), "YYYY-MM-DD")
        # SQLite holds UTC text "YYYY-MM-DD HH:MM:SS.ffffff": the day is its first ten characters.
        return func.substr(requests.c.started_at, 1, 10)
    raise ValueError(f"cannot group spend by {by!r}: choose one of {', '.join(GROUPS)}")


def _zero(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(value)


def _share(saved: Decimal, cache: Decimal) -> Decimal | None:
    total = saved + cache
    return cache / total if total > 0 else None


async def spend_report(database: str | AsyncEngine, by: GroupBy, since: timedelta,
                       now: datetime | None = None) -> list[SpendRow]:
    """Spend, tokens and savings per group over the last `since` (days ascending, else costliest first)."""
    engine = create_engine(database) if isinstance(database, str) else database
    try:
        group = _group_column(by, engine.dialect).label("grp")
        c = requests.c
        query = (
            select(
                group,
                func.count().label("requests"),
                func.coalesce(func.sum(c.input_tokens), 0),
                func.coalesce(func.sum(c.cached_input_tokens), 0),
                func.coalesce(func.sum(c.cache_write_tokens), 0),
                func.coalesce(func.sum(c.output_tokens), 0),
                func.coalesce(func.sum(c.reasoning_tokens), 0),
                func.sum(c.cost_usd),
                func.sum(c.baseline_usd),
                func.sum(c.cache_savings_usd),
            )
            .where(c.started_at >= (now or datetime.now(UTC)) - since)
            .group_by(group)
        )
        async with engine.connect() as conn:
            result = (await conn.execute(query)).all()
    finally:
        if isinstance(database, str):
            await engine.dispose()
    rows = []
    for grp, count, inp, cached, written, out, reasoning, cost, baseline, cache in result:
        cost, baseline, cache = _zero(cost), _zero(baseline), _zero(cache)
        saved = baseline - cost
        rows.append(SpendRow(NONE_LABEL if grp is None else str(grp), int(count), int(inp), int(cached),
                             int(written), int(out), int(reasoning), cost, baseline, saved, cache,
                             _share(saved, cache)))
    if by == "day":
        rows.sort(key=lambda row: row.key)
    else:
        rows.sort(key=lambda row: (-row.cost_usd, row.key))
    return rows
