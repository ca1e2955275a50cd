"""The batched, durable ledger writer: a Recorder that never blocks the request path.

Rows queue in memory and a background task inserts them in batches, idempotently on the
request id. While the database is unreachable, batches go to the local spool (fsync'd) and are
replayed when it answers again; a spool file is deleted only after its rows are committed, and
because every insert ignores request ids already present, a replay that repeats rows (after a
crash, or a commit whose acknowledgement was lost) never counts them twice.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger.bulk import BulkInsert
from gateway.ledger.engine import create_engine
from gateway.ledger.rows import Row, record_to_row
from gateway.ledger.spool import Spool
from gateway.ledger.tables import requests
from gateway.records import RequestRecord

log = logging.getLogger("gateway.ledger")


@dataclass(frozen=True, slots=True)
class WriterStats:
    """A snapshot of the writer's health, for metrics."""

    queue_depth: int
    queue_capacity: int
    spool_rows: int
    last_write_latency_s: float | None
    rows_written: int
    rows_duplicate: int
    write_errors: int
    rows_rejected: int
    rows_dropped: int


def _is_bad_data(exc: BaseException) -> bool:
    # Only these mean "this row can never be stored"; anything else (refused connection,
    # timeout, missing table before `gateway db upgrade`) is a reason to spool and retry.
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        # asyncpg's errors reach SQLAlchemy as plain DBAPIErrors: their SQLSTATE says which are about the row
        # (class 22, data exception: a NUL, a value too long; class 23, integrity constraint violation).
        return str(getattr(exc.orig, "sqlstate", "") or "")[:2] in ("22", "23")
    return isinstance(exc, StatementError)


class _Unavailable(Exception):
    """The database did not take these rows; they belong in the spool."""

    def __init__(self, rows: Sequence[Row] = ()) -> None:
        super().__init__()
        self.rows = rows


class LedgerWriter:
    """Records requests into the ledger database in batches, spooling locally while it is down."""

    def __init__(
        self,
        database_url: str,
        spool_dir: str | os.PathLike[str],
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        queue_max: int = 100_000,
        *,
        write_timeout_s: float = 10.0,
        retry_max_s: float = 5.0,
        rescan_s: float = 30.0,
        engine: AsyncEngine | None = None,
        on_batch: Callable[[float], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.database_url = database_url
        # Pushed, not pulled at scrape time: with several workers, the one answering a scrape
        # cannot read the others' writers, so each reports its own (every batch, every tick).
        self._on_batch = on_batch
        self._on_tick = on_tick
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_max = queue_max
        self.write_timeout_s = write_timeout_s
        self.retry_max_s = retry_max_s
        self.rescan_s = rescan_s
        self.spool = Spool(spool_dir)
        self._engine = engine
        self._owns_engine = engine is None
        self._queue: collections.deque[Row] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._retry_at = 0.0  # monotonic time before which the database is not tried again
        self._retry_s = 0.0
        self._next_scan = 0.0  # replay is due at start: a crashed predecessor may have left files
        self._bulk: BulkInsert | None = None
        self.rows_written = 0  # rows newly inserted
        self.rows_duplicate = 0  # rows whose request id was already stored (replays)
        self.write_errors = 0
        self.rows_rejected = 0
        self.rows_dropped = 0
        self.last_write_latency_s: float | None = None
        self.batch_latencies_s: collections.deque[float] = collections.deque(maxlen=10_000)

    # ---- the request path ------------------------------------------------------------------

    def record(self, rec: RequestRecord) -> None:
        """Queue one finished request (call from the event loop's thread); never blocks or raises."""
        try:
            row = record_to_row(rec)
            if self._closed or len(self._queue) >= self.queue_max:
                # Full queue (or already closed): the spool is slower than memory but keeps the row.
                self.spool.append([row], sync=False)
                return
            self._queue.append(row)
            if len(self._queue) >= self.batch_size:
                self._wake.set()
        except Exception:
            self.rows_dropped += 1
            log.exception("ledger: could not queue or spool request %s", getattr(rec, "request_id", "?"))

    # ---- stats -------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Rows waiting in memory."""
        return len(self._queue)

    @property
    def queue_capacity(self) -> int:
        """The queue's bound, past which rows go straight to the spool."""
        return self.queue_max

    @property
    def spool_rows(self) -> int:
        """Rows waiting in spool files for the database to return."""
        return self.spool.rows

    def stats(self) -> WriterStats:
        """A snapshot of the counters above."""
        return WriterStats(self.queue_depth, self.queue_max, self.spool_rows, self.last_write_latency_s,
                           self.rows_written, self.rows_duplicate, self.write_errors, self.rows_rejected,
                           self.rows_dropped)

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background drain (it replays any spool left by an earlier process first)."""
        if self._task is not None:
            return
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        # RETURNING tells which rows were new, so duplicates (replays) are counted rather than guessed.
        self._bulk = BulkInsert(requests, self._engine.dialect)
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def close(self) -> None:
        """Flush everything queued to the database, or to the spool if it cannot take it; then stop."""
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("ledger writer task failed")
        self._closed = True
        if self._queue:  # never started, or rows recorded during the final drain
            rows = list(self._queue)
            self._queue.clear()
            try:
                await asyncio.to_thread(self.spool.append, rows)
            except Exception:
                self.rows_dropped += len(rows)
                log.exception("ledger: database and spool both failed at shutdown; %d row(s) lost", len(rows))
        await asyncio.to_thread(self.spool.close)
        if self._engine is not None and self._owns_engine:
            await self._engine.dispose()

    async def flush(self) -> None:
        """Write what is queued now (tests and benchmarks; the background task does this anyway)."""
        await self._drain()

    # ---- the background task -----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._drain()
                if self._on_tick is not None:
                    self._on_tick()
                if self._closing:
                    # Rows that overflowed to the spool go in now if the database is up,
                    # rather than waiting for the next start.
                    if self.spool.rows:
                        await self._replay_if_due()
                    return
                await self._replay_if_due()
                await asyncio.to_thread(self.spool.sync)  # rows spooled straight from record()
            except Exception:
                # The loop must survive anything: a dead writer would silently stop accounting.
                log.exception("ledger writer: unexpected error; continuing")
                if self._closing:
                    return  # close() spools what is left, or reports it lost
                await asyncio.sleep(self.flush_interval_s)

    async def _drain(self) -> None:
        # Take what is queued now, then only full batches: chasing a steady trickle with
        # tiny transactions would cost the database far more than waiting one interval.
        first = True
        while self._queue and (first or self._closing or len(self._queue) >= self.batch_size):
            first = False
            count = min(self.batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            try:
                await self._store(batch)
            except _Unavailable as exc:
                try:
                    await asyncio.to_thread(self.spool.append, list(exc.rows))
                except BaseException:
                    # The spool failed too (disk full?): keep the rows queued for the next try.
                    self._queue.extendleft(reversed(exc.rows))
                    raise

    async def _store(self, batch: list[Row]) -> None:
        """Commit a batch, or raise _Unavailable (rows the database refuses as data go to rejected)."""
        if time.monotonic() < self._retry_at:
            raise _Unavailable(batch)
        try:
            await self._insert(batch)
        except _Unavailable:
            raise _Unavailable(batch) from None
        except Exception as exc:
            if not _is_bad_data(exc):
                raise
            await self._insert_one_by_one(batch)
        self._database_answered()

    async def _insert(self, batch: Sequence[Row]) -> None:
        assert self._engine is not None and self._bulk is not None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.write_timeout_s):
                async with self._engine.begin() as conn:
                    inserted = await self._bulk.execute(conn, batch)
        except Exception as exc:
            if _is_bad_data(exc):
                raise
            self._database_failed(exc)
            raise _Unavailable from exc
        elapsed = time.perf_counter() - started
        self.last_write_latency_s = elapsed
        self.batch_latencies_s.append(elapsed)
        if self._on_batch is not None:
            self._on_batch(elapsed)
        self.rows_written += inserted
        self.rows_duplicate += len(batch) - inserted

    async def _insert_one_by_one(self, batch: Sequence[Row]) -> None:
        # One bad row must not hold back the others, nor sit in the spool forever.
        rejected: list[dict[str, object]] = []
        for index, row in enumerate(batch):
            try:
                await self._insert([row])
            except _Unavailable:
                self.rows_rejected += len(rejected)
                self.spool.reject(rejected)
                raise _Unavailable(batch[index:]) from None
            except Exception as exc:
                log.error("ledger: database refused request %s: %s", row.get("request_id"), exc)
                rejected.append({"reason": str(exc).splitlines()[0], "row": row})
        self.rows_rejected += len(rejected)
        self.spool.reject(rejected)

    def _database_failed(self, exc: BaseException) -> None:
        self.write_errors += 1
        if self._retry_s == 0.0:
            log.warning("ledger database unavailable (%s: %s); spooling to %s",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", self.spool.directory)
        self._retry_s = min(max(self._retry_s * 2, self.flush_interval_s), self.retry_max_s)
        self._retry_at = time.monotonic() + self._retry_s

    def _database_answered(self) -> None:
        if self._retry_s:
            log.warning("ledger database is back; replaying the spool")
            self._next_scan = 0.0
        self._retry_s = 0.0
        self._retry_at = 0.0

    async def _replay_if_due(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        if now < self._next_scan and self.spool.rows == 0:
            return
        self._next_scan = now + self.rescan_s
        await asyncio.to_thread(self.spool.seal)
        for path in await asyncio.to_thread(self.spool.claimable):
            if not await self._replay_file(path):
                return

    async def _replay_file(self, path: os.PathLike[str]) -> bool:
        """Commit one spool file's rows and delete it; False when the database went away again."""
        claimed = await asyncio.to_thread(self.spool.claim, path)
        if claimed is None:
            return True  # a live writer's file, or already replayed by another process
        try:
            for start in range(0, len(claimed.rows), self.batch_size):
                batch = claimed.rows[start:start + self.batch_size]
                try:
                    await self._store(batch)
                except _Unavailable:
                    self.spool.release(claimed)
                    return False
                if self._queue and len(self._queue) >= self.batch_size:
                    await self._drain()  # live traffic first: replay must not starve the queue
        except BaseException:
            self.spool.release(claimed)
            raise
        await asyncio.to_thread(self.spool.finish, claimed)
        log.info("ledger: replayed %d spooled row(s) from %s", len(claimed.rows), claimed.path.name)
        return True
