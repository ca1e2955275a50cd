"""API keys, teams and budgets in the ledger database (read by the auth layer's background cache).

Plaintext keys exist only in `create_key`'s return value: the database keeps a SHA-256 hash
(enough for random 256-bit keys; no slow KDF is needed) and an 8-character prefix for display.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger.engine import upsert
from gateway.ledger.tables import PERIODS, SCOPES, api_keys, budgets, requests, teams
from gateway.ledger.types import MONEY_PRECISION, MONEY_SCALE

Scope = Literal["key", "team"]
Period = Literal["day", "week", "month"]
KEY_PREFIX = "gw-"


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One API key as stored (never the plaintext)."""

    id: str
    key_hash: str
    key_prefix: str
    team: str | None
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    rpm: int | None
    tpm: int | None


@dataclass(frozen=True, slots=True)
class TeamRow:
    """A team and its routing-policy constraints."""

    name: str
    constraints: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """A spend limit for one key or team over a calendar period."""

    scope: Scope
    scope_id: str
    period: Period
    limit_usd: Decimal
    soft_fraction: float | None
    updated_at: datetime


def hash_key(plaintext: str) -> str:
    """The stored form of a key: lowercase SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _key_row(row: RowMapping) -> KeyRow:
    return KeyRow(row["id"], row["key_hash"], row["key_prefix"], row["team"], row["name"], row["created_at"],
                  row["revoked_at"], row["rpm"], row["tpm"])


# What the ledger's columns hold: NUMERIC(20, 10) for money, a 32-bit integer for rpm.
MAX_USD = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE) - 1
MAX_RATE = 2**31 - 1


MIN_USD = Decimal("0.000001")


def budget_limit(value: Any) -> Decimal:
    """A budget in USD as the ledger stores it; ValueError (saying what it must be) for anything else."""
    try:
        amount: Decimal | None = Decimal(str(value))
    except InvalidOperation:
        amount = None
    if isinstance(value, bool) or amount is None or not amount.is_finite():  # NaN would fail later, as a 500
        raise ValueError(f"must be a number of USD, not {value!r}")
    if amount < 0:
        raise ValueError("must not be negative")
    if 0 < amount < MIN_USD:  # budget counters count micro-dollars: a smaller budget would be stored as $0
        raise ValueError(f"must be 0 or at least {MIN_USD} USD")
    if amount > MAX_USD:
        raise ValueError(f"must be at most {MAX_USD} USD")
    return amount


def check_rate(value: Any) -> None:
    """ValueError unless `value` is None (no limit) or a whole number from 1 to MAX_RATE."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE):
        raise ValueError(f"must be a positive integer of at most {MAX_RATE}, not {value!r}")


async def create_key(engine: AsyncEngine, team: str | None, name: str | None = None, rpm: int | None = None,
                     tpm: int | None = None) -> tuple[str, KeyRow]:
    """Create a key; returns its plaintext (shown once, never stored) and its stored row.

    ValueError (naming the field) for an empty team or a rate limit the ledger cannot hold.
    """
    if team is not None and not team.strip():
        raise ValueError("team must not be empty")
    for field_name, limit in (("rpm", rpm), ("tpm", tpm)):
        try:
            check_rate(limit)
        except ValueError as exc:
            raise ValueError(f"{field_name} {exc}") from None
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = KeyRow(id="key_" + secrets.token_hex(8), key_hash=hash_key(plaintext), key_prefix=plaintext[:8],
                 team=team, name=name, created_at=datetime.now(UTC), revoked_at=None, rpm=rpm, tpm=tpm)
    async with engine.begin() as conn:
        await conn.execute(api_keys.insert().values(
            id=row.id, key_hash=row.key_hash, key_prefix=row.key_prefix, team=team, name=name,
            created_at=row.created_at, rpm=rpm, tpm=tpm))
    return plaintext, row


async def revoke_key(engine: AsyncEngine, key_id: str) -> bool:
    """Revoke a key; False when no active key has that id."""
    async with engine.begin() as conn:
        result = await conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                                    .values(revoked_at=datetime.now(UTC)))
    return result.rowcount > 0


async def load_keys(engine: AsyncEngine) -> list[KeyRow]:
    """All active (unrevoked) keys."""
    async with engine.connect() as conn:
        result = await conn.execute(select(api_keys).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.id))
        return [_key_row(row) for row in result.mappings()]


async def key_by_hash(engine: AsyncEngine, key_hash: str) -> KeyRow | None:
    """The active key with this hash, or None."""
    async with engine.connect() as conn:
        result = await conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash,
                                                           api_keys.c.revoked_at.is_(None)))
        row = result.mappings().first()
    return None if row is None else _key_row(row)


async def upsert_team(engine: AsyncEngine, name: str, constraints: Mapping[str, Any]) -> None:
    """Create a team or replace its constraints."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        stmt = upsert(teams, engine.dialect, {"name": name, "constraints": dict(constraints), "created_at": now,
                                              "updated_at": now}, update=("constraints", "updated_at"))
        await conn.execute(stmt)


async def load_teams(engine: AsyncEngine) -> list[TeamRow]:
    """All teams."""
    async with engine.connect() as conn:
        result = await conn.execute(select(teams).order_by(teams.c.name))
        return [TeamRow(r["name"], dict(r["constraints"]), r["created_at"], r["updated_at"]) for r in result.mappings()]


def _check_scope(scope: str, period: str | None = None) -> None:
    if scope not in SCOPES:
        raise ValueError(f"budget scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"budget period must be one of {', '.join(PERIODS)}, not {period!r}")


async def set_budget(engine: AsyncEngine, scope: Scope, scope_id: str, limit_usd: Decimal | int | str,
                     period: Period, soft_fraction: float | None = None) -> None:
    """Create or replace the budget of a key or team for one period."""
    _check_scope(scope, period)
    if soft_fraction is not None and not 0 < soft_fraction <= 1:
        raise ValueError(f"soft_fraction must be in (0, 1], not {soft_fraction}")
    try:
        limit = budget_limit(limit_usd)
    except ValueError as exc:
        raise ValueError(f"budget limit {exc}") from None
    values = {"scope": scope, "scope_id": scope_id, "period": period, "limit_usd": limit,
              "soft_fraction": soft_fraction, "updated_at": datetime.now(UTC)}
    async with engine.begin() as conn:
        await conn.execute(upsert(budgets, engine.dialect, values, update=("limit_usd", "soft_fraction", "updated_at")))


async def load_budgets(engine: AsyncEngine) -> list[BudgetRow]:
    """All budgets."""
    async with engine.connect() as conn:
        result = await conn.execute(select(budgets).order_by(budgets.c.scope, budgets.c.scope_id, budgets.c.period))
        return [BudgetRow(r["scope"], r["scope_id"], r["period"], r["limit_usd"], r["soft_fraction"], r["updated_at"])
                for r in result.mappings()]


def _spend_query(scope: Scope, scope_id: str, since: datetime) -> Select:
    _check_scope(scope)
    column = requests.c.key_id if scope == "key" else requests.c.team
    return select(func.coalesce(func.sum(requests.c.cost_usd), 0)).where(column == scope_id,
                                                                        requests.c.started_at >= since)


def _decimal(total: Any) -> Decimal:
    return total if isinstance(total, Decimal) else Decimal(total)


async def spend_since(engine: AsyncEngine, scope: Scope, scope_id: str, since: datetime) -> Decimal:
    """What a key or team has spent since `since` (to reconcile in-memory budget counters)."""
    async with engine.connect() as conn:
        return _decimal((await conn.execute(_spend_query(scope, scope_id, since))).scalar_one())


async def spends_since(engine: AsyncEngine, budgets: Sequence[tuple[Scope, str, datetime]]) -> list[Decimal]:
    """What each (scope, id) has spent since its start, on one connection (budget reconciliation)."""
    async with engine.connect() as conn:
        return [_decimal((await conn.execute(_spend_query(scope, scope_id, since))).scalar_one())
                for scope, scope_id, since in budgets]
