"""Database URLs and async engines for the ledger (aiosqlite or asyncpg, chosen from a plain URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Table

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class UnsupportedDatabase(ValueError):
    """The database URL names neither SQLite nor PostgreSQL."""


def async_url(url: str) -> str:
    """The async-driver form of a plain ledger URL (creating a SQLite file's parent directory)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgres":  # Heroku-style alias
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported GATEWAY_DATABASE_URL scheme {parsed.drivername!r}: use sqlite:///path or postgresql://..."
        )
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets reports read while the writer appends; NORMAL is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(database_url: str, *, connect_timeout_s: float = 5.0, **kwargs: Any) -> AsyncEngine:
    """An async engine for a plain or async ledger URL, with short connect timeouts."""
    url = async_url(database_url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": connect_timeout_s}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 4)
        kwargs.setdefault("max_overflow", 4)
    # A dead server must fail fast (so rows go to the spool), and pooled connections from
    # before a restart must be noticed before use rather than fail a batch.
    return create_async_engine(url, pool_pre_ping=True, connect_args={"timeout": connect_timeout_s}, **kwargs)


def upsert(table: Table, dialect: Dialect, values: dict[str, Any], update: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET the `update` columns."""
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect.name)
    if module is None:
        raise UnsupportedDatabase(f"unsupported ledger dialect {dialect.name!r}")
    stmt = module.insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                      set_={name: stmt.excluded[name] for name in update})
