"""Shared state: sticky sessions and counters (budgets, rate limits), in memory or in Redis.

With Redis configured, replicas share state; if Redis becomes unreachable the gateway keeps
serving from local state (fail-open, the default) or refuses (fail-closed), and says so in
logs and metrics.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
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


class StateStore(Protocol):
    """Small values with a time to live, shared across replicas when backed by Redis."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def incr(self, key: str, amount: float, ttl_s: float) -> float: ...

    async def raise_to(self, key: str, value: float, ttl_s: float) -> float: ...

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

    async def _call(self, operation: str, remote: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]) -> T:
        import redis.exceptions

        try:
            result = await remote()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            if self._up:
                log.error("Redis unreachable (%s): %s", exc.__class__.__name__,
                          "serving from local state (fail-open)" if self._fail_open else "refusing (fail-closed)")
                self._up = False
                self._on_health(False)
            if not self._fail_open:
                raise NoDeploymentAvailable("shared state (Redis) is unreachable and the gateway is configured to "
                                            "fail closed; retry shortly", code="state_unavailable",
                                            headers={"retry-after": "5"}) from None
            self._on_fail_open(operation)
            return await local()
        if not self._up:
            log.warning("Redis reachable again")
            self._up = True
            self._on_health(True)
        return result

    async def get(self, key: str) -> str | None:
        """The value, or None."""
        return await self._call("get", lambda: self._redis.get(key), lambda: self._local.get(key))

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        """Store `value` for `ttl_s` seconds."""
        await self._call("set", lambda: self._redis.set(key, value, px=int(ttl_s * 1000)),
                         lambda: self._local.set(key, value, ttl_s))

    async def incr(self, key: str, amount: float, ttl_s: float) -> float:
        """Atomically add `amount` (INCRBYFLOAT) and return the new total."""
        async def remote() -> float:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrbyfloat(key, amount)
                pipe.expire(key, int(ttl_s) + 1, nx=True)
                total, _ = await pipe.execute()
            return float(total)

        return await self._call("incr", remote, lambda: self._local.incr(key, amount, ttl_s))

    async def raise_to(self, key: str, value: float, ttl_s: float) -> float:
        """Raise the counter to `value` if lower (atomic, Lua)."""
        async def remote() -> float:
            return float(await self._redis.eval(_RAISE_TO, 1, key, repr(value), int(ttl_s) + 1))

        return await self._call("raise_to", remote, lambda: self._local.raise_to(key, value, ttl_s))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
