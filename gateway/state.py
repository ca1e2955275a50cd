"""Shared state: sticky sessions and counters (budgets, rate limits), in memory or in Redis.

With Redis configured, replicas share state; if Redis becomes unreachable the gateway keeps
serving from local state (fail-open, the default) or refuses (fail-closed), and says so in
logs and metrics. A budget reservation is settled in the store that took it (`reserve` says
which): a reservation taken in Redis and given back while Redis is down is owed to Redis and
applied when it returns, never moved to the local counters. An addition that fails is not owed
(its reply may have timed out after Redis applied it): the next reconciliation with the ledger
restores one that was lost. A reservation whose reply timed out is owed back to Redis, where it
may have landed, while the request goes on with a local one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from gateway.errors import NoDeploymentAvailable

log = logging.getLogger("gateway.state")
T = TypeVar("T")

# Raises the counter only if the stored value is lower (ledger reconciliation never lowers it).
_RAISE_TO = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) return ARGV[1] end
return tostring(current)
"""


SHARED_WARNING_EVERY_S = 60.0  # how often a failing shared-only operation is logged

class StateStore(Protocol):
    """Small values with a time to live, shared across replicas when backed by Redis."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def incr(self, key: str, amount: float, ttl_s: float) -> float: ...

    async def raise_to(self, key: str, value: float, ttl_s: float) -> float: ...

    async def reserve(self, key: str, amount: float, ttl_s: float) -> tuple[float, str]: ...

    async def settle(self, store: str, key: str, amount: float, ttl_s: float) -> None: ...

    async def close(self) -> None: ...


class MemoryState:
    """In-process state with TTLs and a size bound (the embedded default)."""

    def __init__(self, max_items: int = 200_000) -> None:
        self._items: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._max_items = max_items

    def _live(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] < time.monotonic():
            del self._items[key]
            return None
        return item[0]

    def _put(self, key: str, value: Any, ttl_s: float) -> None:
        self._items[key] = (value, time.monotonic() + ttl_s)
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)

    async def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        value = self._live(key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        """Store `value` for `ttl_s` seconds."""
        self._put(key, value, ttl_s)

    async def incr(self, key: str, amount: float, ttl_s: float) -> float:
        """Add `amount` and return the new total (the TTL is set when the counter is created)."""
        item = self._items.get(key)
        if item is None or item[1] < time.monotonic():
            self._put(key, float(amount), ttl_s)
            return float(amount)
        total = float(item[0]) + amount
        self._items[key] = (total, item[1])
        return total

    async def raise_to(self, key: str, value: float, ttl_s: float) -> float:
        """Set the counter to `value` if it is lower; return the counter."""
        current = float(self._live(key) or 0.0)
        if current < value:
            self._put(key, float(value), ttl_s)
            return float(value)
        return current

    async def reserve(self, key: str, amount: float, ttl_s: float) -> tuple[float, str]:
        """Add `amount`; return the new total and the store that holds it (always this one)."""
        return await self.incr(key, amount, ttl_s), "memory"

    async def settle(self, store: str, key: str, amount: float, ttl_s: float) -> None:
        """Add `amount` to a counter that `reserve` changed."""
        await self.incr(key, amount, ttl_s)

    async def close(self) -> None:
        """Nothing to release."""


class RedisState:
    """Redis-backed state with a local fallback when Redis is unreachable."""

    def __init__(self, url: str, fail_open: bool = True, on_health: Callable[[bool], None] = lambda up: None,
                 on_fail_open: Callable[[str], None] = lambda operation: None) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                           decode_responses=True)
        self._local = MemoryState()
        self._fail_open = fail_open
        self._on_health = on_health
        self._on_fail_open = on_fail_open
        self._up = True
        # Settlements owed to Redis counters while it was unreachable, applied when it returns.
        self._owed: deque[tuple[str, float, float]] = deque(maxlen=100_000)
        self._repaying: asyncio.Task | None = None
        self._shared_warned_at = -SHARED_WARNING_EVERY_S

    def _down(self, exc: BaseException) -> None:
        if self._up:
            log.error("Redis unreachable (%s): %s", exc.__class__.__name__,
                      "serving from local state (fail-open)" if self._fail_open else "refusing (fail-closed)")
            self._up = False
            self._on_health(False)

    def _back(self) -> None:
        if not self._up:
            log.warning("Redis reachable again")
            self._up = True
            self._on_health(True)
        if self._owed and self._repaying is None:
            self._repaying = asyncio.get_running_loop().create_task(self._repay(), name="redis-repay")

    async def _call(self, operation: str, remote: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]) -> T:
        import redis.exceptions

        try:
            result = await remote()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self._down(exc)
            if not self._fail_open:
                raise NoDeploymentAvailable("shared state (Redis) is unreachable and the gateway is configured to "
                                            "fail closed; retry shortly", code="state_unavailable",
                                            headers={"retry-after": "5"}) from None
            self._on_fail_open(operation)
            return await local()
        self._back()
        return result

    async def _incr_remote(self, key: str, amount: float, ttl_s: float) -> float:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(key, amount)
            pipe.expire(key, int(ttl_s) + 1, nx=True)
            total, _ = await pipe.execute()
        return float(total)

    async def get(self, key: str) -> str | None:
        """The value, or None."""
        return await self._call("get", lambda: self._redis.get(key), lambda: self._local.get(key))

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        """Store `value` for `ttl_s` seconds."""
        await self._call("set", lambda: self._redis.set(key, value, px=int(ttl_s * 1000)),
                         lambda: self._local.set(key, value, ttl_s))

    async def get_shared_many(self, keys: list[str]) -> list[str | None]:
        """The values in Redis (one MGET); None for each when Redis has none or fails (no local fallback: for
        what only helps when shared, and must not pile up locally while Redis is down)."""
        return await self._shared_only(lambda: self._redis.mget(keys), [None] * len(keys))

    async def set_shared(self, key: str, value: str, ttl_s: float) -> None:
        """Store `value` in Redis for `ttl_s` seconds, or nowhere when Redis fails (full, read-only, down)."""
        await self._shared_only(lambda: self._redis.set(key, value, px=int(ttl_s * 1000)), None)

    async def _shared_only(self, remote: Callable[[], Awaitable[T]], failed: T) -> T:
        import redis.exceptions

        try:
            return await remote()
        except (redis.exceptions.RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._shared_warned_at >= SHARED_WARNING_EVERY_S:  # (a full Redis fails every write)
                self._shared_warned_at = now
                log.warning("Redis refused a shared-only operation (%s: %s): what replicas share is kept in "
                            "process only until it answers", exc.__class__.__name__, exc)
            return failed

    async def incr(self, key: str, amount: float, ttl_s: float) -> float:
        """Atomically add `amount` (INCRBYFLOAT) and return the new total."""
        return await self._call("incr", lambda: self._incr_remote(key, amount, ttl_s),
                                lambda: self._local.incr(key, amount, ttl_s))

    async def raise_to(self, key: str, value: float, ttl_s: float) -> float:
        """Raise the counter to `value` if lower (atomic, Lua), locally too."""
        async def remote() -> float:
            return float(await self._redis.eval(_RAISE_TO, 1, key, repr(value), int(ttl_s) + 1))

        # The local copy is raised as well, so fail-open counters start from the ledger, not zero.
        await self._local.raise_to(key, value, ttl_s)
        return await self._call("raise_to", remote, lambda: self._local.raise_to(key, value, ttl_s))

    async def reserve(self, key: str, amount: float, ttl_s: float) -> tuple[float, str]:
        """Add `amount` in Redis (or locally when it is unreachable); return the total and which store took it."""
        import redis.exceptions

        async def remote() -> tuple[float, str]:
            try:
                return await self._incr_remote(key, amount, ttl_s), "redis"
            except redis.exceptions.TimeoutError:
                # Redis may have applied it before its reply was lost, and the request goes on with a local
                # reservation (or is refused): give it back there. A give-back is safe to owe (see settle).
                self._owed.append((key, -amount, ttl_s))
                raise

        async def local() -> tuple[float, str]:
            return await self._local.incr(key, amount, ttl_s), "local"

        return await self._call("incr", remote, local)

    async def settle(self, store: str, key: str, amount: float, ttl_s: float) -> None:
        """Add `amount` to the store that took the reservation; a give-back is owed to Redis while it is down."""
        import redis.exceptions

        if store != "redis":
            await self._local.incr(key, amount, ttl_s)
            return
        try:
            await self._incr_remote(key, amount, ttl_s)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self._down(exc)
            # A timed-out reply may hide an applied change, so what is owed must be safe to apply twice.
            # Giving back (< 0) is: twice means a count too low until the next reconciliation raises it to
            # the ledger's spend. Adding (> 0) twice would count spend that never happened, for the rest of
            # the period (reconciliation never lowers a counter), so it is not owed: an addition that was
            # lost is restored by that same reconciliation.
            if amount < 0:
                self._owed.append((key, amount, ttl_s))
            return
        self._back()

    async def _repay(self) -> None:
        """Apply the settlements owed to Redis, in one pipeline; kept for later if Redis drops again."""
        import redis.exceptions

        owed = list(self._owed)
        self._owed.clear()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:  # all or nothing: never applied twice
                for key, amount, ttl_s in owed:
                    pipe.incrbyfloat(key, amount)
                    pipe.expire(key, int(ttl_s) + 1, nx=True)
                await pipe.execute()
            log.info("applied %d budget settlements owed to Redis", len(owed))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self._owed.extendleft(reversed(owed))
            self._down(exc)
        finally:
            self._repaying = None

    async def close(self) -> None:
        """Apply what is still owed to Redis if it is reachable, then close the connection pool."""
        if self._repaying is not None:
            await asyncio.gather(self._repaying, return_exceptions=True)
        elif self._owed:
            await self._repay()
        await self._redis.aclose()
