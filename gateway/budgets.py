"""Budgets and rate limits per key and team, enforced before the upstream call.

Spend counters live in the shared state (Redis INCRBYFLOAT, or memory when embedded). A request
reserves its estimated cost atomically before it is sent and settles the difference when it
ends, so concurrent requests cannot overspend beyond estimation error; counters are raised to
the ledger's figure in the background (reconciliation), never lowered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth import Caller
from gateway.errors import RateLimited
from gateway.keycache import KeyCache
from gateway.ledger import BudgetRow, spend_since
from gateway.state import StateStore

log = logging.getLogger("gateway.budgets")
MICRO = 1_000_000  # counters hold micro-USD as floats: exact for integers below 2**53


class BudgetExceeded(RateLimited):
    """429 insufficient_quota: a key or team has spent its budget for the period."""

    error_type = "insufficient_quota"
    default_code = "insufficient_quota"


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar period (UTC) containing `now`."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _counter_key(budget: BudgetRow, start: datetime) -> str:
    return f"gw:spend:{budget.scope}:{budget.scope_id}:{budget.period}:{start:%Y%m%d}"


@dataclass(slots=True)
class Reservation:
    """Estimated spend reserved against a request's budgets; settled when the request ends."""

    keys: list[tuple[str, float]] = field(default_factory=list)  # (counter key, ttl)
    micro_usd: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """What admission found: whether a soft limit was crossed (downgrade to cheaper routes)."""

    soft_limited: bool = False


class BudgetGuard:
    """Checks rate limits and budgets for callers that have them; a no-op for everyone else."""

    def __init__(self, state: StateStore, keys: KeyCache | None,
                 on_reject: Callable[[str, str], None] = lambda scope, reason: None,
                 on_rate_limit: Callable[[str, str], None] = lambda scope, limit: None) -> None:
        self._state = state
        self._keys = keys
        self._on_reject = on_reject
        self._on_rate_limit = on_rate_limit
        self._tasks: set[asyncio.Task] = set()

    def _budgets(self, caller: Caller) -> list[BudgetRow]:
        if self._keys is None:
            return []
        return [*self._keys.budgets("key", caller.key_id), *self._keys.budgets("team", caller.team)]

    async def admit(self, caller: Caller, prompt_tokens: int) -> Admission:
        """Enforce requests- and tokens-per-minute; report whether a soft budget limit is crossed."""
        minute = int(time.time() // 60)
        retry_after = str(60 - int(time.time()) % 60)
        if caller.rpm:
            used = await self._state.incr(f"gw:rpm:{caller.key_id}:{minute}", 1, 120)
            if used > caller.rpm:
                self._on_rate_limit("key", "requests")
                raise RateLimited(f"rate limit of {caller.rpm} requests per minute reached for key "
                                  f"{caller.key_id}; retry in {retry_after}s", headers={"retry-after": retry_after})
        if caller.tpm:
            used = await self._state.incr(f"gw:tpm:{caller.key_id}:{minute}", prompt_tokens, 120)
            if used > caller.tpm:
                self._on_rate_limit("key", "tokens")
                raise RateLimited(f"rate limit of {caller.tpm} tokens per minute reached for key "
                                  f"{caller.key_id}; retry in {retry_after}s", headers={"retry-after": retry_after})
        soft = False
        now = datetime.now(UTC)
        for budget in self._budgets(caller):
            if budget.soft_fraction is None:
                continue
            start, end = period_bounds(budget.period, now)
            spent = float(await self._state.get(_counter_key(budget, start)) or 0) / MICRO
            soft = soft or spent >= float(budget.limit_usd) * budget.soft_fraction
        return Admission(soft)

    async def reserve(self, caller: Caller, estimate_usd: Decimal) -> Reservation:
        """Atomically reserve the estimated cost against every budget; 429 if one would be exceeded."""
        budgets = self._budgets(caller)
        reservation = Reservation(micro_usd=int(estimate_usd * MICRO) + 1)
        if not budgets:
            return reservation
        now = datetime.now(UTC)
        for budget in budgets:
            start, end = period_bounds(budget.period, now)
            key, ttl = _counter_key(budget, start), (end - now).total_seconds() + 86400
            total = await self._state.incr(key, reservation.micro_usd, ttl)
            reservation.keys.append((key, ttl))
            if total > float(budget.limit_usd) * MICRO:
                await self.release(reservation)
                self._on_reject(budget.scope, "budget")
                raise BudgetExceeded(
                    f"the {budget.period}ly budget of ${budget.limit_usd} for {budget.scope} {budget.scope_id} is "
                    f"spent; it resets at {end:%Y-%m-%d %H:%M} UTC", headers={"retry-after": str(int(ttl - 86400))})
        return reservation

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation entirely (the request never reached an upstream)."""
        await self.adjust(reservation, Decimal(0))

    async def adjust(self, reservation: Reservation, actual_usd: Decimal) -> None:
        """Replace the reserved estimate with the actual cost."""
        delta = int(actual_usd * MICRO) - reservation.micro_usd
        for key, ttl in reservation.keys:
            if delta:
                await self._state.incr(key, delta, ttl)
        reservation.keys = []

    def settle_later(self, reservation: Reservation, actual_usd: Decimal) -> None:
        """Settle from synchronous code (the end of a stream) without blocking it."""
        if not reservation.keys:
            return
        task = asyncio.get_running_loop().create_task(self.adjust(reservation, actual_usd))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reconcile(self, engine: AsyncEngine) -> None:
        """Raise each current-period counter to the ledger's spend (counters include in-flight reservations)."""
        if self._keys is None:
            return
        now = datetime.now(UTC)
        for budget in self._keys.all_budgets():
            start, end = period_bounds(budget.period, now)
            spent = await spend_since(engine, budget.scope, budget.scope_id, start)
            await self._state.raise_to(_counter_key(budget, start), float(spent * MICRO),
                                       (end - now).total_seconds() + 86400)
