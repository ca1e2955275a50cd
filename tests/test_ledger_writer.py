"""The batched ledger writer: exact under concurrent load, idempotent, flushes on close, spools."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path

import orjson

from gateway.ledger import LedgerWriter
from gateway.ledger.rows import decode_row, encode_row, record_to_row
from gateway.records import RequestRecord
from tests.test_ledger_support import (  # noqa: F401
    db_url,
    ledger_totals,
    ledger_url,
    make_record,
    spool_lines,
    wait_for,
)

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/nowhere"  # the discard port: connections are refused


async def test_concurrent_load_is_exact(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    writer = LedgerWriter(ledger_url, tmp_path / "spool", batch_size=200, flush_interval_s=0.05)
    await writer.start()
    rng = random.Random(7)
    costs = [Decimal(rng.randrange(10**12)) / Decimal(10**10) for _ in range(5000)]  # ten decimal places

    async def client(task: int) -> None:
        for n in range(250):
            i = task * 250 + n
            writer.record(make_record(i, cost_usd=costs[i]))
            if n % 10 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(client(task) for task in range(20)))
    await writer.close()
    assert await ledger_totals(ledger_url) == (5000, 5000, sum(costs))
    assert writer.rows_written == 5000 and writer.rows_duplicate == 0 and writer.write_errors == 0
    assert writer.queue_depth == 0 and writer.spool_rows == 0
    assert writer.last_write_latency_s is not None


async def test_same_request_id_twice_is_one_row(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    writer = LedgerWriter(ledger_url, tmp_path / "spool", flush_interval_s=0.05)
    await writer.start()
    writer.record(make_record(1, cost_usd=Decimal("1.5")))
    writer.record(make_record(1, cost_usd=Decimal("1.5")))  # same batch
    await writer.flush()
    writer.record(make_record(1, cost_usd=Decimal("1.5")))  # a later batch
    await writer.close()
    assert await ledger_totals(ledger_url) == (1, 1, Decimal("1.5"))
    assert writer.rows_written == 1 and writer.rows_duplicate == 2


async def test_close_flushes_what_is_queued(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    writer = LedgerWriter(ledger_url, tmp_path / "spool", batch_size=10_000, flush_interval_s=60)
    await writer.start()
    for i in range(1234):
        writer.record(make_record(i))
    assert writer.queue_depth == 1234
    await writer.close()
    count, distinct, _ = await ledger_totals(ledger_url)
    assert (count, distinct) == (1234, 1234)
    assert not list((tmp_path / "spool").glob("spool-*.jsonl"))


async def test_close_with_the_database_down_spools_everything_then_a_new_writer_replays(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    down = LedgerWriter(UNREACHABLE, spool, flush_interval_s=60)
    await down.start()
    for i in range(700):
        down.record(make_record(i))
    await down.close()
    assert spool_lines(spool) == 700 and down.write_errors >= 1

    up = LedgerWriter(ledger_url, spool, flush_interval_s=0.05)
    await up.start()
    await wait_for(lambda: not list(spool.glob("spool-*.jsonl")), what="the spool to be replayed")
    await up.close()
    count, distinct, _ = await ledger_totals(ledger_url)
    assert (count, distinct) == (700, 700)


async def test_a_full_queue_spills_to_the_spool_and_nothing_is_dropped(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    writer = LedgerWriter(ledger_url, spool, queue_max=10, flush_interval_s=0.05)
    await writer.start()
    for i in range(100):  # no await: the drain task cannot run, so the queue overflows
        writer.record(make_record(i))
    assert writer.queue_depth == 10 and writer.spool_rows == 90
    await wait_for(lambda: writer.spool_rows == 0 and writer.queue_depth == 0, what="overflow replay")
    await writer.close()
    assert (await ledger_totals(ledger_url))[:2] == (100, 100)
    assert writer.rows_dropped == 0


async def test_a_row_the_database_refuses_is_kept_aside_not_retried_forever(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    writer = LedgerWriter(ledger_url, spool, flush_interval_s=0.05)
    await writer.start()
    for i in range(50):
        writer.record(make_record(i))
    writer.record(make_record(999, requested_model=None))  # violates NOT NULL
    await writer.close()
    assert (await ledger_totals(ledger_url))[:2] == (50, 50)
    assert writer.rows_rejected == 1
    rejected = [orjson.loads(line) for path in spool.glob("rejected-*.jsonl")
                for line in path.read_bytes().splitlines()]
    assert [entry["row"]["request_id"] for entry in rejected] == ["req-999"]
    assert not list(spool.glob("spool-*.jsonl"))


async def test_values_postgresql_refuses_are_kept_aside_and_the_rest_is_written(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    writer = LedgerWriter(ledger_url, spool, flush_interval_s=0.05)
    await writer.start()
    bad = [make_record(900, error_code="bad\x00code"), make_record(901, team="t" * 129),
           make_record(902, error_code="e" * 200)]
    for i in range(30):
        writer.record(make_record(i))
        if i % 10 == 0:
            writer.record(bad[i // 10])
    await writer.close()
    stored = (await ledger_totals(ledger_url))[0]
    if ledger_url.startswith("postgresql"):  # SQLite stores all three as they are
        assert (stored, writer.rows_rejected) == (30, 3)
    else:
        assert (stored, writer.rows_rejected) == (33, 0)
    assert not list(spool.glob("spool-*.jsonl")) and writer.spool_rows == 0  # nothing left to retry forever


async def test_a_live_writers_spool_file_is_not_replayed_under_it(
        ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    down = LedgerWriter(UNREACHABLE, spool, flush_interval_s=60)
    await down.start()
    for i in range(30):
        down.record(make_record(i))
    await down.flush()  # the database refuses: 30 rows in down's (locked) spool file
    assert down.spool_rows == 30

    other = LedgerWriter(ledger_url, spool, flush_interval_s=0.05, rescan_s=0.1)
    await other.start()
    await asyncio.sleep(0.3)
    assert (await ledger_totals(ledger_url))[0] == 0
    await down.close()  # seals its file: now it may be replayed
    await wait_for(lambda: not list(spool.glob("spool-*.jsonl")), what="replay after the owner closed")
    await other.close()
    assert (await ledger_totals(ledger_url))[:2] == (30, 30)


def test_record_never_raises(tmp_path: Path) -> None:
    writer = LedgerWriter("sqlite:///unused.db", tmp_path / "spool")
    writer.record(object())  # type: ignore[arg-type]  # not a record at all
    assert writer.rows_dropped == 1


def test_spool_rows_round_trip_exactly() -> None:
    rec = make_record(5, cost_usd=Decimal("0.0000000001"), baseline_usd=Decimal("12345678.9012345678"))
    row = record_to_row(rec)
    assert decode_row(encode_row(row)) == row
    assert isinstance(rec, RequestRecord)


async def test_rows_stay_queued_when_the_spool_fails_too(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = LedgerWriter(UNREACHABLE, spool, flush_interval_s=60)
    await writer.start()
    real_append, failures = writer.spool.append, []

    def failing_once(rows, **kwargs):
        if not failures:
            failures.append(len(rows))
            raise OSError(28, "No space left on device")
        return real_append(rows, **kwargs)

    writer.spool.append = failing_once  # type: ignore[method-assign]
    for i in range(10):
        writer.record(make_record(i))
    try:
        await writer.flush()
    except OSError:
        pass
    assert failures == [10] and writer.queue_depth == 10  # put back, not lost
    await writer.close()
    assert spool_lines(spool) == 10 and writer.rows_dropped == 0


async def test_each_writer_pushes_its_own_metrics_without_a_scrape(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    # With several workers the one answering a scrape cannot read the others' writers: each writer
    # must report every batch and its queue itself.
    from gateway.metrics import GatewayMetrics

    metrics = GatewayMetrics(multiproc_dir="")
    writer = LedgerWriter(ledger_url, tmp_path / "spool", batch_size=50, flush_interval_s=0.05,
                          on_batch=metrics.observe_ledger_batch, on_tick=metrics.refresh)
    metrics.watch_ledger(writer, latency_pushed=True)
    await writer.start()
    for i in range(120):
        writer.record(make_record(i))
    sample = lambda name: metrics.registry.get_sample_value(name) or 0  # noqa: E731
    await wait_for(lambda: sample("gateway_ledger_rows_written_total") == 120, what="rows counted")
    batches = len(writer.batch_latencies_s)
    assert batches >= 3  # batches of at most 50
    assert sample("gateway_ledger_write_duration_seconds_count") == batches  # one observation per batch
    assert sample("gateway_ledger_queue_depth") == 0
    await writer.close()
