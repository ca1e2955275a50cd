"""Shares open circuits across replicas through the shared state (Redis when configured)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from gateway.breakers import OPEN, CircuitBreakers
from gateway.catalogue import Catalogue
from gateway.errors import GatewayError
from gateway.state import StateStore

log = logging.getLogger("gateway.breakers")


def _key(deployment: str) -> str:
    return f"gw:breaker:{deployment}"


class BreakerSync:
    """Publishes this replica's open circuits and merges the other replicas' every `interval_s`."""

    def __init__(self, breakers: CircuitBreakers, state: StateStore, catalogue: Callable[[], Catalogue],
                 interval_s: float = 1.0) -> None:
        self._breakers = breakers
        self._state = state
        self._catalogue = catalogue  # read on every sync: follows hot-reloaded catalogues
        self._interval_s = interval_s
        self._task: asyncio.Task | None = None

    async def sync_once(self) -> None:
        """Publish open circuits, then merge the ones other replicas published."""
        names = [d.name for m in self._catalogue().models.values() for d in m.deployments]
        for name in names:
            until = self._breakers.open_until(name)
            if until and self._breakers.state(name) == OPEN:
                await self._state.set(_key(name), repr(until), max(until - time.time(), 0.5))
            shared = await self._state.get(_key(name))
            if shared:
                self._breakers.merge_shared(name, float(shared))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sync_once()
            except GatewayError as exc:  # fail-closed state: keep the local view
                log.warning("breaker sync skipped: %s", exc.message)

    def start(self) -> None:
        """Start syncing in the background."""
        self._task = asyncio.create_task(self._run(), name="breaker-sync")

    async def stop(self) -> None:
        """Stop syncing."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
