"""The ledger survives its database going away and its own process dying: every request once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

from gateway.ledger import LedgerWriter, migrate
from tests.test_ledger_support import (  # noqa: F401
    PgCluster,
    create_database,
    db_url,
    ledger_totals,
    ledger_url,
    make_record,
    pg_cluster,
    spool_lines,
    wait_for,
)

REPO = Path(__file__).resolve().parents[1]


async def test_database_stopped_mid_load_and_restarted_counts_every_request_once(
        pg_cluster: PgCluster, tmp_path: Path) -> None:  # noqa: F811
    url = await create_database(pg_cluster.url)
    await migrate.upgrade_async(url)
    spool = tmp_path / "spool"
    writer = LedgerWriter(url, spool, batch_size=100, flush_interval_s=0.05, retry_max_s=0.3)
    await writer.start()
    total, tasks = 6000, 20
    costs = [Decimal(i % 1000 + 1) / Decimal(10**7) for i in range(total)]
    recorded = 0
    spooled_during_outage = 0

    async def client(task: int) -> None:
        nonlocal recorded
        for i in range(task, total, tasks):
            writer.record(make_record(i, cost_usd=costs[i]))
            recorded += 1
            await asyncio.sleep(0.01)

    async def outage() -> None:
        nonlocal spooled_during_outage
        await wait_for(lambda: writer.rows_written >= 1000, what="traffic before the outage")
        await asyncio.to_thread(pg_cluster.stop)  # kills live connections, refuses new ones
        await wait_for(lambda: spool_lines(spool) >= 500, what="rows to land in the spool during the outage")
        spooled_during_outage = spool_lines(spool)
        assert recorded < total, "the outage should happen while clients are still sending"
        await asyncio.to_thread(pg_cluster.start)

    await asyncio.gather(outage(), *(client(task) for task in range(tasks)))
    await wait_for(lambda: writer.queue_depth == 0 and writer.spool_rows == 0 and not list(spool.glob("spool-*")),
                   what="the spool to drain after the restart")
    await writer.close()

    assert spooled_during_outage >= 500 and writer.write_errors >= 1
    assert await ledger_totals(url) == (total, total, sum(costs))
    assert writer.rows_rejected == 0 and writer.rows_dropped == 0
    assert not list(spool.glob("rejected-*"))
    print(f"outage: {spooled_during_outage} rows spooled, {writer.write_errors} failed writes, "
          f"{writer.rows_duplicate} duplicates ignored on replay")


CRASHING_WRITER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from decimal import Decimal
    from gateway.ledger import LedgerWriter
    from tests.test_ledger_support import make_record

    async def main():
        writer = LedgerWriter("postgresql://postgres@127.0.0.1:9/nowhere", sys.argv[1], flush_interval_s=60)
        await writer.start()
        for i in range(int(sys.argv[2])):
            writer.record(make_record(i, prefix="crash", cost_usd=Decimal("0.0000000003")))
        await writer.flush()  # the database refuses: the rows go to the fsync'd spool
        print(writer.spool_rows, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(): the process just dies

    asyncio.run(main())
""")


async def test_a_crashed_writers_spool_is_replayed_once_by_the_next_one(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", CRASHING_WRITER, str(spool), "1500"], cwd=REPO,
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "1500"
    assert spool_lines(spool) == 1500

    # Some of those rows reached the database before the crash (a commit whose acknowledgement
    # was lost): the replay must not count them twice.
    first = LedgerWriter(ledger_url, tmp_path / "other-spool", flush_interval_s=60)
    await first.start()
    for i in range(200):
        first.record(make_record(i, prefix="crash", cost_usd=Decimal("0.0000000003")))
    await first.close()

    writer = LedgerWriter(ledger_url, spool, flush_interval_s=0.05)
    await writer.start()
    await wait_for(lambda: not list(spool.glob("spool-*")), what="the crashed writer's spool to be replayed")
    await writer.close()
    assert await ledger_totals(ledger_url) == (1500, 1500, Decimal("0.00000045"))
    assert (writer.rows_written, writer.rows_duplicate) == (1300, 200)


async def test_a_torn_last_line_is_kept_aside_and_the_rest_replayed(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    down = LedgerWriter("postgresql://postgres@127.0.0.1:9/nowhere", spool, flush_interval_s=60)
    await down.start()
    for i in range(10):
        down.record(make_record(i))
    await down.close()
    [path] = spool.glob("spool-*.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"request_id": "req-torn", "start')  # a write cut short by a crash

    writer = LedgerWriter(ledger_url, spool, flush_interval_s=0.05)
    await writer.start()
    await wait_for(lambda: not list(spool.glob("spool-*")), what="replay")
    await writer.close()
    assert (await ledger_totals(ledger_url))[:2] == (10, 10)
    assert b"req-torn" in b"".join(p.read_bytes() for p in spool.glob("rejected-*.jsonl"))

