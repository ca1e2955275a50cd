"""Real databases for the ledger tests (no tests here; the ledger test modules import these fixtures).

PostgreSQL comes from GATEWAY_TEST_POSTGRES_URL when set, else the server on 127.0.0.1:5432,
else a throwaway cluster started from the system's binaries. When none of these works the
fixtures fail loudly: the ledger is never "tested" without its database.
"""

from __future__ import annotations

import asyncio
import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from gateway.ledger import migrate
from gateway.records import RequestRecord
from gateway.usage import Usage

PG_ENV = "GATEWAY_TEST_POSTGRES_URL"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("no PostgreSQL for the ledger tests: set GATEWAY_TEST_POSTGRES_URL, run a server on "
                "127.0.0.1:5432, or install the server binaries (initdb, pg_ctl)")


class PgCluster:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free port."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        # initdb refuses to run as root: run the cluster as the postgres (or nobody) user.
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break
        self.base = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self.data = self.base / "data"
        self.port = free_port()
        self._pg(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])

    def _pg(self, argv: list[str]) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        done = subprocess.run(cmd, user=self.user, capture_output=True, text=True, timeout=60, cwd=self.base)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
                   "-c fsync=off -c full_page_writes=off")
        self._pg(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start"])

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                           user=self.user, capture_output=True, timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)


_admin: dict[str, str] = {}  # one PostgreSQL server per test process


def admin_url() -> str:
    """A superuser URL of the PostgreSQL server the tests use, starting one when needed."""
    if "url" in _admin:
        return _admin["url"]
    given = os.environ.get(PG_ENV)
    if given:
        url = given
        parsed = make_url(given)
        if not _listening(parsed.host or "127.0.0.1", parsed.port or 5432):
            pytest.fail(f"{PG_ENV}={given} is set but nothing listens there")
    elif _listening("127.0.0.1", 5432):
        url = LOCAL_PG
    else:
        cluster = PgCluster()
        cluster.start()
        atexit.register(cluster.destroy)
        url = cluster.url
    _admin["url"] = url
    return url


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(server_url: str) -> str:
    """A fresh, empty database on that server; returns its plain URL."""
    name = f"ledger_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    server = parsed.set(database="postgres")
    conn = await asyncpg.connect(_asyncpg_dsn(server.render_as_string(hide_password=False)), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database (dropped afterwards)."""
    url = await create_database(admin_url())
    yield url
    await drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty ledger database, once per dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    url = await create_database(admin_url())
    yield url
    await drop_database(url)


@pytest.fixture
async def ledger_url(db_url: str) -> str:
    """A ledger database migrated to head, once per dialect."""
    await migrate.upgrade_async(db_url)
    return db_url


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster that a test may stop and start."""
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.destroy()


def make_record(i: int, prefix: str = "req", **overrides: Any) -> RequestRecord:
    """A plausible finished request, distinct per `i`."""
    values: dict[str, Any] = dict(
        request_id=f"{prefix}-{i}", started_at=datetime.now(UTC), key_id=f"key_{i % 3}", team=f"team-{i % 2}",
        requested_model="auto", stream=bool(i % 2), model="deepseek-v4-pro", deployment="deepseek",
        provider="openai_compat", category="P1", confidence=0.9, verdict="substitute", status=200,
        latency_ms=12.5, ttft_ms=3.0, attempts=1, usage=Usage(100 + i, 10, 0, 50, 5),
        cost_usd=Decimal(i % 97) / Decimal(10**9) + Decimal("0.0001234567"),
        baseline_usd=Decimal("0.0123456789"), cache_savings_usd=Decimal("0.0000001"),
    )
    values.update(overrides)
    return RequestRecord(**values)


async def wait_for(predicate: Any, timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll an (async or plain) predicate until true, failing after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def ledger_totals(url: str) -> tuple[int, int, Decimal]:
    """Rows, distinct request ids and the exact cost sum in the `requests` table."""
    from sqlalchemy import func, select

    from gateway.ledger.engine import create_engine
    from gateway.ledger.tables import requests

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(func.count(), func.count(requests.c.request_id.distinct()),
                           func.coalesce(func.sum(requests.c.cost_usd), 0))
            count, distinct, total = (await conn.execute(query)).one()
    finally:
        await engine.dispose()
    return int(count), int(distinct), Decimal(total)


def spool_lines(directory: Path, pattern: str = "spool-*.jsonl") -> int:
    """Complete lines in the spool files of a directory."""
    return sum(path.read_bytes().count(b"\n") for path in directory.glob(pattern))
