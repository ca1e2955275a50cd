"""Budgets and rate limits per key and team, enforced before the upstream call.

Spend counters live in the shared state (Redis INCRBYFLOAT, or memory when embedded). A request
reserves its estimated cost atomically before it is sent and settles the difference when it
ends, so concurrent requests cannot overspend beyond estimation error. Each counter a reservation
touched remembers the store that took it (Redis or the local fallback) and is settled there. A
reservation is bound to the request's task: if the task ends without settling it (an unexpected
error), it is released. Counters are raised to the ledger's spend for the current period at
start-up and then periodically (reconciliation), never lowered: an embedded gateway does not
forget the period's spend when it restarts, and fail-open local counters do not start at zero.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth import Caller
from gateway.errors import GatewayError, RateLimited
from gateway.keycache import KeyCache
from gateway.ledger import BudgetRow, spends_since
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


_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


def _usd(amount: Decimal) -> str:
    """$0.0010000000 as 0.001 (the ledger stores fixed-point), never in exponent form."""
    return format(amount.normalize(), "f")


def _tpm_key(key_id: str) -> str:
    return f"gw:tpm:{key_id}:{int(time.time() // 60)}"


def _counter_key(budget: BudgetRow, start: datetime) -> str:
    return f"gw:spend:{budget.scope}:{budget.scope_id}:{budget.period}:{start:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class Counter:
    """A budget counter a reservation added to, and the store (Redis or local) that took the addition."""

    key: str
    ttl_s: float
    store: str


@dataclass(slots=True)
class Reservation:
    """Estimated spend reserved against a request's budgets; settled once, in the stores that took it."""

    counters: list[Counter] = field(default_factory=list)
    micro_usd: int = 0  # what the counters still hold for this request (0 once settled or released)
    settled: bool = False
    tpm_counter: str | None = None  # the key's tokens-per-minute counter: output tokens join it when settled


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
        self._reconciler: asyncio.Task | None = None

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
            used = await self._state.incr(_tpm_key(caller.key_id), prompt_tokens, 120)
            if used > caller.tpm:
                self._on_rate_limit("key", "tokens")
                raise RateLimited(f"rate limit of {caller.tpm} tokens per minute reached for key "
                                  f"{caller.key_id}; retry in {retry_after}s", headers={"retry-after": retry_after})
        return Admission(await self.soft_limited(caller))

    async def soft_limited(self, caller: Caller) -> bool:
        """Whether a budget of this caller has crossed its soft limit (read-only: counts nothing)."""
        now = datetime.now(UTC)
        for budget in self._budgets(caller):
            if budget.soft_fraction is None:
                continue
            start, _ = period_bounds(budget.period, now)
            spent = float(await self._state.get(_counter_key(budget, start)) or 0) / MICRO
            if spent >= float(budget.limit_usd) * budget.soft_fraction:
                return True
        return False

    async def reserve(self, caller: Caller, estimate_usd: Decimal) -> Reservation:
        """Atomically reserve the estimated cost against every budget; 429 if one would be exceeded."""
        budgets = self._budgets(caller)
        reservation = Reservation(micro_usd=int(estimate_usd * MICRO) + 1)
        if caller.tpm:
            reservation.tpm_counter = _tpm_key(caller.key_id)
        if not budgets:
            return reservation
        self._bind_to_task(reservation)  # before the first counter changes, so no failure below can leak it
        now = datetime.now(UTC)
        for budget in budgets:
            start, end = period_bounds(budget.period, now)
            key, ttl = _counter_key(budget, start), (end - now).total_seconds() + 86400
            total, store = await self._state.reserve(key, reservation.micro_usd, ttl)
            reservation.counters.append(Counter(key, ttl, store))
            if total > float(budget.limit_usd) * MICRO:
                await self.release(reservation)
                self._on_reject(budget.scope, "budget")
                raise BudgetExceeded(
                    f"the {_ADJECTIVE[budget.period]} budget of ${_usd(budget.limit_usd)} for {budget.scope} "
                    f"{budget.scope_id} is spent; it resets at {end:%Y-%m-%d %H:%M} UTC",
                    headers={"retry-after": str(int(ttl - 86400))})
        return reservation

    def _bind_to_task(self, reservation: Reservation) -> None:
        """Release the reservation if the request's task ends without settling it."""
        task = asyncio.current_task()
        if task is not None:
            task.add_done_callback(lambda _task: self._abandoned(reservation))

    def _abandoned(self, reservation: Reservation) -> None:
        """Give back what an unsettled reservation holds; a late settlement then adds the whole actual cost."""
        if reservation.settled or not reservation.micro_usd or not reservation.counters:
            return
        amount, reservation.micro_usd = reservation.micro_usd, 0
        log.warning("released a budget reservation its request never settled (it ended with an unexpected error)")
        self._spawn(self._apply(reservation.counters, -amount))

    def _close(self, reservation: Reservation, actual_usd: Decimal) -> int:
        """Mark the reservation settled; the counter change that turns what it holds into `actual_usd`."""
        if reservation.settled:
            return 0
        reservation.settled = True
        # Bookkeeping is synchronous, so settlement, release and abandonment never count twice.
        delta, reservation.micro_usd = int(actual_usd * MICRO) - reservation.micro_usd, 0
        return delta

    async def _apply(self, counters: list[Counter], delta: int) -> None:
        """Add `delta` micro-USD to each counter, in the store that took its reservation."""
        if delta:
            for counter in counters:
                await self._state.settle(counter.store, counter.key, delta, counter.ttl_s)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def release(self, reservation: Reservation) -> None:
        """Give back a reservation entirely (the request never reached an upstream)."""
        await self.adjust(reservation, Decimal(0))

    async def adjust(self, reservation: Reservation, actual_usd: Decimal) -> None:
        """Replace the reserved estimate with the actual cost."""
        await self._apply(reservation.counters, self._close(reservation, actual_usd))

    def settle_later(self, reservation: Reservation, actual_usd: Decimal, output_tokens: int = 0) -> None:
        """Settle from synchronous code (the end of a stream) without blocking it.

        Admission counted the prompt against tokens per minute; the answer's tokens count too.
        """
        if reservation.tpm_counter and output_tokens > 0:
            self._spawn(self._count_tokens(reservation.tpm_counter, output_tokens))
        if not reservation.counters:
            return
        delta = self._close(reservation, actual_usd)
        if delta:
            self._spawn(self._apply(reservation.counters, delta))

    async def _count_tokens(self, key: str, tokens: int) -> None:
        try:
            await self._state.incr(key, tokens, 120)
        except GatewayError as exc:  # fail-closed state is down: the answer is already delivered
            log.warning("output tokens not counted against the rate limit: %s", exc.message)

    async def reconcile(self, engine: AsyncEngine) -> None:
        """Raise each current-period counter to the ledger's spend (counters include in-flight reservations)."""
        if self._keys is None:
            return
        now = datetime.now(UTC)
        budgets = self._keys.all_budgets()
        periods = [period_bounds(budget.period, now) for budget in budgets]
        spent = await spends_since(engine, [(b.scope, b.scope_id, start)
                                            for b, (start, _) in zip(budgets, periods, strict=True)])
        for budget, (start, end), amount in zip(budgets, periods, spent, strict=True):
            await self._state.raise_to(_counter_key(budget, start), float(amount * MICRO),
                                       (end - now).total_seconds() + 86400)

    async def _reconcile_safely(self, engine: AsyncEngine) -> None:
        try:
            async with asyncio.timeout(30):
                await self.reconcile(engine)
        except Exception as exc:  # database or Redis trouble: counters keep counting, the next round catches up
            log.warning("budget reconciliation with the ledger failed: %s", exc)

    async def _reconcile_forever(self, engine: AsyncEngine, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self._reconcile_safely(engine)

    async def start(self, engine: AsyncEngine, every_s: float) -> None:
        """Reconcile with the ledger now (after the key cache has loaded), then every `every_s` seconds."""
        await self._reconcile_safely(engine)
        self._reconciler = asyncio.create_task(self._reconcile_forever(engine, every_s), name="budget-reconcile")

    async def stop(self) -> None:
        """Stop reconciling and finish the settlements in flight."""
        if self._reconciler is not None:
            self._reconciler.cancel()
            await asyncio.gather(self._reconciler, return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)
