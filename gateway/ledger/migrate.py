"""Schema migrations for the ledger (Alembic, configured here so an installed package carries them)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from gateway.ledger.engine import async_url, create_engine

__all__ = [
    "UPGRADE_COMMAND", "LedgerSchemaError", "LedgerOutOfDate", "async_url", "upgrade", "downgrade",
    "current_revision", "head_revision", "check_up_to_date", "upgrade_async", "downgrade_async",
    "current_revision_async", "check_up_to_date_async",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "gateway db upgrade"

T = TypeVar("T")


class LedgerSchemaError(RuntimeError):
    """The ledger database's schema does not match this gateway."""


class LedgerOutOfDate(LedgerSchemaError):
    """The ledger database is empty or at an older revision; `gateway db upgrade` fixes it."""


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migrations inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """The newest revision this gateway knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the ledger ships no migrations"
    return head


async def _on_connection(database_url: str, work: Callable[..., T], *args: Any) -> T:
    # NullPool: a migration is a one-off; nothing should stay connected afterwards.
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work, *args)
    finally:
        await engine.dispose()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from async code (an app's startup, a test): asyncio.run would refuse this thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _command(connection: Connection, name: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, name)(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    await _on_connection(database_url, _command, "upgrade", revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` ("base" removes every ledger table)."""
    await _on_connection(database_url, _command, "downgrade", revision)


async def current_revision_async(database_url: str) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    return await _on_connection(database_url, _current)


async def check_up_to_date_async(database_url: str) -> None:
    """Raise LedgerOutOfDate unless the database is at this gateway's head revision."""
    current = await current_revision_async(database_url)
    _check(current)


def _check(current: str | None) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return
    if current is None:
        raise LedgerOutOfDate(f"the ledger database has no schema yet (this gateway needs revision {head}): "
                              f"run `{UPGRADE_COMMAND}`")
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise LedgerSchemaError(f"the ledger database is at revision {current}, which this gateway does not know "
                                f"(its newest is {head}): was it upgraded by a newer gateway?")
    raise LedgerOutOfDate(f"the ledger database is at revision {current}, older than this gateway's {head}: "
                          f"run `{UPGRADE_COMMAND}`")


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision` (what `gateway db upgrade` runs)."""
    _run(upgrade_async(database_url, revision))


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision`."""
    _run(downgrade_async(database_url, revision))


def current_revision(database_url: str) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    return _run(current_revision_async(database_url))


def check_up_to_date(database_url: str) -> None:
    """Raise LedgerOutOfDate (naming `gateway db upgrade`) unless the database is at the head revision."""
    _run(check_up_to_date_async(database_url))
