"""Shared key-value state (sticky sessions, later budgets and breakers): memory or Redis."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol


class StateStore(Protocol):
    """Small string values with a time to live, shared across replicas when backed by Redis."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...


class MemoryState:
    """In-process state with TTLs and a size bound (the embedded default)."""

    def __init__(self, max_items: int = 100_000) -> None:
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max_items = max_items

    async def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] < time.monotonic():
            del self._items[key]
            return None
        return item[0]

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        """Store `value` for `ttl_s` seconds, evicting the oldest entries past the bound."""
        self._items[key] = (value, time.monotonic() + ttl_s)
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)
