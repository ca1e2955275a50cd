#!/usr/bin/env python3
"""Ledger writer benchmark: sustained rows/second into PostgreSQL through the batched writer.

Creates a throwaway database on the server (default: $GATEWAY_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:5432/postgres), migrates it, and drives one LedgerWriter for
--duration seconds. By default the load is closed-loop (the producer keeps a few batches queued,
so the number is what the writer and database sustain); --rate R offers R rows/s open-loop instead
and reports whether the writer kept up. At the end every recorded row is checked to be in the
database exactly once, with the exact cost sum.

Reported: rows/s committed, batch write latency p50/p99 (one multi-row INSERT + COMMIT each), rows
per batch, the cost of `record()` on the request path (µs per call), this process's CPU use.

    .venv/bin/python bench/ledger.py                       # 10 s closed loop, batches of 500
    .venv/bin/python bench/ledger.py --rate 5000 --duration 30
    .venv/bin/python bench/ledger.py --database-url sqlite:////tmp/bench-ledger.db

Through the gateway itself: bench/ledger_overhead.py (request latency with the ledger on versus
off, same run) and bench/soak.py (20 minutes of load, resident memory every minute).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.ledger import LedgerWriter, create_engine, migrate  # noqa: E402
from gateway.ledger.tables import requests  # noqa: E402
from gateway.records import RequestRecord  # noqa: E402
from gateway.usage import Usage  # noqa: E402

DEFAULT_SERVER = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(server: str) -> str:
    name = f"ledger_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(_dsn(server))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def _drop_database(url: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(_dsn(parsed.set(database="postgres").render_as_string(hide_password=False)))
    await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await conn.close()


def _record(i: int, run: str) -> RequestRecord:
    return RequestRecord(
        request_id=f"{run}-{i}", started_at=datetime.now(UTC), key_id=f"key_{i % 50}", team=f"team-{i % 7}",
        requested_model="auto", stream=bool(i & 1), model="deepseek-v4-pro", deployment="deepseek",
        provider="openai_compat", category=f"P{i % 10 + 1}", confidence=0.87, verdict="substitute",
        latency_ms=240.5, ttft_ms=80.25, attempts=1, usage=Usage(1200 + i % 300, 800, 0, 350, 40),
        cost_usd=Decimal(i % 1000 + 1) / Decimal(10**8), baseline_usd=Decimal("0.0123"),
        cache_savings_usd=Decimal("0.0001"),
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(args: argparse.Namespace) -> int:
    url = args.database_url or await _create_database(args.server)
    await migrate.upgrade_async(url)
    run_id = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-spool-") as spool:
        writer = LedgerWriter(url, spool, batch_size=args.batch_size, flush_interval_s=args.flush_interval)
        await writer.start()
        produced, record_s = 0, 0.0
        expected = Decimal(0)
        backlog = 4 * args.batch_size
        cpu0, started = time.process_time(), time.perf_counter()
        written0 = writer.rows_written
        deadline = started + args.duration
        max_depth = 0
        while (now := time.perf_counter()) < deadline:
            if args.rate:
                target = int((now - started) * args.rate)
                chunk = max(0, target - produced)
            else:
                chunk = max(0, backlog - writer.queue_depth)
            for _ in range(min(chunk, 2000)):
                rec = _record(produced, run_id)
                expected += rec.cost_usd
                t0 = time.perf_counter()
                writer.record(rec)
                record_s += time.perf_counter() - t0
                produced += 1
            max_depth = max(max_depth, writer.queue_depth)
            await asyncio.sleep(0.001 if chunk == 0 else 0)
        elapsed = time.perf_counter() - started
        committed = writer.rows_written - written0
        cpu = time.process_time() - cpu0
        latencies = list(writer.batch_latencies_s)
        batches = len(latencies)
        await writer.close()
        stats = writer.stats()

    engine = create_engine(url)
    async with engine.connect() as conn:
        count, distinct, total = (await conn.execute(
            select(func.count(), func.count(requests.c.request_id.distinct()), func.sum(requests.c.cost_usd))
            .where(requests.c.request_id.like(f"{run_id}-%")))).one()
    await engine.dispose()
    if not args.database_url and not args.keep:
        await _drop_database(url)

    mode = f"open loop at {args.rate} rows/s offered" if args.rate else "closed loop"
    print(f"ledger writer → {make_url(url).get_backend_name()} ({mode}, batch_size={args.batch_size}, "
          f"flush_interval={args.flush_interval}s, {args.duration:.0f}s)")
    print(f"  rows/s committed    {committed / elapsed:10.0f}   ({committed} rows in {elapsed:.1f}s)")
    print(f"  batch latency p50   {_pct(latencies, 0.50) * 1000:10.1f} ms")
    print(f"  batch latency p99   {_pct(latencies, 0.99) * 1000:10.1f} ms   (max {max(latencies) * 1000:.1f} ms)")
    print(f"  rows per batch      {committed / max(batches, 1):10.0f}")
    print(f"  record() per call   {record_s / max(produced, 1) * 1e6:10.2f} µs   (request-path cost)")
    print(f"  max queue depth     {max_depth:10d}")
    print(f"  bench process CPU   {cpu / elapsed * 100:10.0f} %  of one core")
    print(f"  write errors        {stats.write_errors:10d}   spooled now {stats.spool_rows}")
    exact = (count, distinct, total) == (produced, produced, expected)
    print(f"  exactness           {'ok' if exact else 'MISMATCH'}: {count} rows ({distinct} distinct) for "
          f"{produced} recorded; cost sum {total} (expected {expected})")
    return 0 if exact else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL to create a database on")
    parser.add_argument("--database-url", help="use this (migrated on the fly) database instead, e.g. sqlite:///x")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=0, help="offered rows/s (0: closed loop, as fast as it goes)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--flush-interval", type=float, default=0.2)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
