"""Virtual keys and budgets served from memory, refreshed from the ledger in the background.

The database is never on the request path: a slow or saturated PostgreSQL delays the next
refresh, not a request. Keys created or revoked through this replica apply at once; other
replicas pick them up on their next refresh. With Redis configured each refresh also leaves a
snapshot there (hashes only, never a key), so a replica that starts while the database is down
still knows every key and budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger import BudgetRow, KeyRow, hash_key, load_budgets, load_keys

if TYPE_CHECKING:
    from gateway.state import StateStore

log = logging.getLogger("gateway.keys")
SNAPSHOT_KEY = "gw:keys:snapshot"
SNAPSHOT_TTL_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """What the request path needs about a virtual key."""

    key_id: str
    team: str | None
    rpm: int | None
    tpm: int | None


class KeyCache:
    """key hash → KeyEntry and (scope, id) → budgets, swapped atomically on each refresh."""

    def __init__(self, engine: AsyncEngine, refresh_s: float = 5.0, shared: StateStore | None = None) -> None:
        self._engine = engine
        self._shared = shared
        self._refresh_s = refresh_s
        self._keys: Mapping[str, KeyEntry] = {}
        self._budgets: Mapping[tuple[str, str], tuple[BudgetRow, ...]] = {}
        self._task: asyncio.Task | None = None
        # Changes made through this replica win over a refresh that read the database before them.
        self._revoked: set[str] = set()
        self._added: dict[str, tuple[KeyEntry, float]] = {}  # key hash -> (entry, when it was added)
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
        self._added[row.key_hash] = (entry, time.monotonic())
        self._keys = {**self._keys, row.key_hash: entry}

    def remove(self, key_id: str) -> None:
        """Make a just-revoked key unusable immediately on this replica."""
        self._revoked.add(key_id)
        self._added = {h: added for h, added in self._added.items() if added[0].key_id != key_id}
        self._keys = {h: e for h, e in self._keys.items() if e.key_id != key_id}

    async def refresh(self) -> None:
        """Reload keys and budgets from the database (keeps the old view if it fails)."""
        read_at = time.monotonic()
        try:
            async with asyncio.timeout(10):
                rows = await load_keys(self._engine)
                budget_rows = await load_budgets(self._engine)
        except Exception as exc:  # any database trouble: keep serving from the cached view
            log.warning("key cache refresh failed, serving the cached view: %s", exc)
            if not self.loaded:
                await self._load_snapshot()
            return
        self._install(rows, budget_rows, read_at)
        await self._save_snapshot(rows, budget_rows)

    def _install(self, rows: list[KeyRow], budget_rows: list[BudgetRow], read_at: float) -> None:
        """Swap in a view read from the database from `read_at` on (monotonic time)."""
        budgets: dict[tuple[str, str], list[BudgetRow]] = {}
        for budget in budget_rows:
            budgets.setdefault((budget.scope, budget.scope_id), []).append(budget)
        keys = {row.key_hash: KeyEntry(row.id, row.team, row.rpm, row.tpm) for row in rows
                if row.id not in self._revoked}
        # A key added here stays until a read that began after it: one that read before may have missed it.
        # Then it is in the database's view, or it was revoked meanwhile (by another replica) and is gone.
        self._added = {h: added for h, added in self._added.items() if h not in keys and added[1] >= read_at}
        self._keys = {**keys, **{h: entry for h, (entry, _) in self._added.items()}}
        self._budgets = {scope: tuple(items) for scope, items in budgets.items()}
        self.loaded = True

    async def _save_snapshot(self, rows: list[KeyRow], budget_rows: list[BudgetRow]) -> None:
        if self._shared is None:
            return
        snapshot = {"keys": [[r.key_hash, r.id, r.team, r.rpm, r.tpm] for r in rows],
                    "budgets": [asdict(b) for b in budget_rows]}
        try:
            await self._shared.set(SNAPSHOT_KEY, orjson.dumps(snapshot, default=str).decode(), SNAPSHOT_TTL_S)
        except Exception as exc:  # Redis trouble: the database view is what counts
            log.warning("key snapshot not stored in the shared state: %s", exc)

    async def _load_snapshot(self) -> None:
        if self._shared is None:
            return
        try:
            raw = await self._shared.get(SNAPSHOT_KEY)
        except Exception as exc:
            log.warning("key snapshot unreadable: %s", exc)
            return
        if not raw:
            return
        snapshot = orjson.loads(raw)
        rows = [_SnapshotKey(*item) for item in snapshot["keys"]]
        budgets = [_budget(item) for item in snapshot["budgets"]]
        self._install(rows, budgets, float("-inf"))  # type: ignore[arg-type]  # older than any change here
        log.warning("serving %d keys from the shared snapshot until the database answers", len(rows))

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


@dataclass(frozen=True, slots=True)
class _SnapshotKey:
    """The fields of a KeyRow that a snapshot keeps."""

    key_hash: str
    id: str
    team: str | None
    rpm: int | None
    tpm: int | None


def _budget(item: dict[str, Any]) -> BudgetRow:
    return BudgetRow(item["scope"], item["scope_id"], item["period"], Decimal(item["limit_usd"]),
                     item["soft_fraction"], datetime.fromisoformat(item["updated_at"]))
