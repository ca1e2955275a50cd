"""Virtual keys and budgets served from memory, refreshed from the ledger in the background.

The database is never on the request path: a slow or saturated PostgreSQL delays the next
refresh, not a request. Keys created or revoked through this replica apply at once; other
replicas pick them up on their next refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger import BudgetRow, KeyRow, hash_key, load_budgets, load_keys

log = logging.getLogger("gateway.keys")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """What the request path needs about a virtual key."""

    key_id: str
    team: str | None
    rpm: int | None
    tpm: int | None


class KeyCache:
    """key hash → KeyEntry and (scope, id) → budgets, swapped atomically on each refresh."""

    def __init__(self, engine: AsyncEngine, refresh_s: float = 5.0) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._keys: Mapping[str, KeyEntry] = {}
        self._budgets: Mapping[tuple[str, str], tuple[BudgetRow, ...]] = {}
        self._task: asyncio.Task | None = None
        # Changes made through this replica win over a refresh that read the database before them.
        self._revoked: set[str] = set()
        self._added: dict[str, KeyEntry] = {}
        self.loaded = False

    def lookup(self, plaintext: str) -> KeyEntry | None:
        """The active key whose hash matches `plaintext`, or None."""
        return self._keys.get(hash_key(plaintext))

    def budgets(self, scope: str, scope_id: str | None) -> tuple[BudgetRow, ...]:
        """Budgets of a key or team (empty when none)."""
        return self._budgets.get((scope, scope_id), ()) if scope_id else ()

    def all_budgets(self) -> list[BudgetRow]:
        """Every budget in the cached view."""
        return [budget for budgets in self._budgets.values() for budget in budgets]

    def add(self, row: KeyRow) -> None:
        """Make a just-created key usable immediately on this replica."""
        entry = KeyEntry(row.id, row.team, row.rpm, row.tpm)
        self._added[row.key_hash] = entry
        self._keys = {**self._keys, row.key_hash: entry}

    def remove(self, key_id: str) -> None:
        """Make a just-revoked key unusable immediately on this replica."""
        self._revoked.add(key_id)
        self._added = {h: e for h, e in self._added.items() if e.key_id != key_id}
        self._keys = {h: e for h, e in self._keys.items() if e.key_id != key_id}

    async def refresh(self) -> None:
        """Reload keys and budgets from the database (keeps the old view if it fails)."""
        try:
            async with asyncio.timeout(10):
                rows = await load_keys(self._engine)
                budget_rows = await load_budgets(self._engine)
        except Exception as exc:  # any database trouble: keep serving from the cached view
            log.warning("key cache refresh failed, serving the cached view: %s", exc)
            return
        budgets: dict[tuple[str, str], list[BudgetRow]] = {}
        for budget in budget_rows:
            budgets.setdefault((budget.scope, budget.scope_id), []).append(budget)
        keys = {row.key_hash: KeyEntry(row.id, row.team, row.rpm, row.tpm) for row in rows
                if row.id not in self._revoked}
        self._added = {h: e for h, e in self._added.items() if h not in keys}  # now in the database
        self._keys = {**keys, **self._added}
        self._budgets = {scope: tuple(items) for scope, items in budgets.items()}
        self.loaded = True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            await self.refresh()

    async def start(self) -> None:
        """Load once, then refresh in the background."""
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="key-cache-refresh")

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
