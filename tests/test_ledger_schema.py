"""Ledger migrations on PostgreSQL and SQLite: up, down, drift, and the startup check."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gateway.ledger import migrate
from gateway.ledger.engine import UnsupportedDatabase, async_url, create_engine
from gateway.ledger.tables import metadata
from tests.test_ledger_support import db_url  # noqa: F401

LEDGER_TABLES = {"requests", "teams", "api_keys", "budgets"}


async def _tables_and_drift(url: str) -> tuple[set[str], list[object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            def inspect_all(sync_conn):
                names = set(inspect(sync_conn).get_table_names())
                drift = compare_metadata(MigrationContext.configure(sync_conn, opts={"compare_type": True}), metadata)
                return names, drift
            return await conn.run_sync(inspect_all)
    finally:
        await engine.dispose()


async def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns(table)})
    finally:
        await engine.dispose()


async def test_upgrade_matches_the_tables_and_downgrade_removes_them(db_url: str) -> None:  # noqa: F811
    assert await migrate.current_revision_async(db_url) is None
    await migrate.upgrade_async(db_url)
    assert await migrate.current_revision_async(db_url) == migrate.head_revision()
    names, drift = await _tables_and_drift(db_url)
    assert LEDGER_TABLES <= names
    assert drift == [], "the migrations and gateway/ledger/tables.py disagree"

    await migrate.downgrade_async(db_url, "0001")
    assert await migrate.current_revision_async(db_url) == "0001"
    assert "cache_savings_usd" not in await _columns(db_url, "requests")

    await migrate.upgrade_async(db_url)
    assert "cache_savings_usd" in await _columns(db_url, "requests")

    await migrate.downgrade_async(db_url, "base")
    assert await migrate.current_revision_async(db_url) is None
    names, _ = await _tables_and_drift(db_url)
    assert not names & LEDGER_TABLES


async def test_check_up_to_date_names_the_upgrade_command(db_url: str) -> None:  # noqa: F811
    with pytest.raises(migrate.LedgerOutOfDate, match="gateway db upgrade"):
        await migrate.check_up_to_date_async(db_url)  # empty
    await migrate.upgrade_async(db_url, "0001")
    with pytest.raises(migrate.LedgerOutOfDate, match=r"revision 0001.*gateway db upgrade"):
        await migrate.check_up_to_date_async(db_url)
    await migrate.upgrade_async(db_url)
    await migrate.check_up_to_date_async(db_url)


def test_sync_api_works_outside_and_inside_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/ledger.db"
    migrate.upgrade(url)  # creates the missing parent directories
    migrate.check_up_to_date(url)
    assert migrate.current_revision(url) == migrate.head_revision()

    async def from_async_code() -> str | None:
        return migrate.current_revision(url)  # must not trip over the running loop

    import asyncio

    assert asyncio.run(from_async_code()) == migrate.head_revision()
    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None


def test_async_url_picks_the_async_driver(tmp_path: Path) -> None:
    assert async_url(f"sqlite:///{tmp_path}/a/b.db") == f"sqlite+aiosqlite:///{tmp_path}/a/b.db"
    assert (tmp_path / "a").is_dir()
    assert async_url("postgresql://u@h:5433/db") == "postgresql+asyncpg://u@h:5433/db"
    assert async_url("postgres://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    with pytest.raises(UnsupportedDatabase, match="sqlite:///path or postgresql://"):
        async_url("mysql://u@h/db")


def test_migrations_ship_inside_the_package() -> None:
    versions = migrate.MIGRATIONS_DIR / "versions"
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert (migrate.MIGRATIONS_DIR / "__init__.py").is_file() and (versions / "__init__.py").is_file()
    assert migrate.MIGRATIONS_DIR.is_relative_to(Path(migrate.__file__).parent)
