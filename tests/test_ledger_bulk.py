"""The ledger's bulk insert stores exactly what SQLAlchemy's own insert stores, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from gateway.ledger.bulk import MAX_CHUNK, BulkInsert
from gateway.ledger.engine import create_engine
from gateway.ledger.rows import record_to_row
from gateway.ledger.tables import requests
from tests.test_ledger_support import db_url, ledger_url, make_record  # noqa: F401


def _rows(prefix: str, count: int) -> list[dict]:
    rows = []
    for i in range(count):
        row = record_to_row(make_record(i, prefix, team=None if i % 3 == 0 else f"team-{i % 2}",
                                        ttft_ms=None if i % 2 else 4.25, error_code=None if i % 5 else "boom"))
        # An offset that is not UTC must come back as the same instant in UTC.
        row["started_at"] = datetime(2026, 12, 2, 9, 30, i % 60, 123456, tzinfo=timezone(timedelta(hours=2)))
        row["cost_usd"] = Decimal("0.00000000015")  # rounds half up to 2e-10 at the ledger's scale
        rows.append(row)
    return rows


async def _stored(engine, prefix: str) -> list[dict]:
    async with engine.connect() as conn:
        result = await conn.execute(select(requests).where(requests.c.request_id.like(f"{prefix}-%"))
                                    .order_by(requests.c.request_id))
        return [{k: v for k, v in row._mapping.items() if k != "request_id"} for row in result]


async def test_rows_read_back_the_same_as_through_sqlalchemys_insert(ledger_url: str) -> None:  # noqa: F811
    engine = create_engine(ledger_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(requests.insert(), _rows("core", 40))
            assert await BulkInsert(requests, engine.dialect).execute(conn, _rows("bulk", 40)) == 40
        core, bulk = await _stored(engine, "core"), await _stored(engine, "bulk")
    finally:
        await engine.dispose()
    assert bulk == core
    assert bulk[0]["started_at"] == datetime(2026, 12, 2, 7, 30, 0, 123456, tzinfo=UTC)
    assert bulk[0]["cost_usd"] == Decimal("0.0000000002")
    assert bulk[0]["team"] is None and bulk[1]["ttft_ms"] is None and bulk[0]["error_code"] == "boom"


async def test_a_batch_larger_than_one_statement_counts_only_new_rows(ledger_url: str) -> None:  # noqa: F811
    engine = create_engine(ledger_url)
    bulk = BulkInsert(requests, engine.dialect)
    rows = _rows("big", MAX_CHUNK + 219)  # 512 + 128 + 64 + 16 + 8 + 2 + 1 rows per statement
    try:
        async with engine.begin() as conn:
            assert await bulk.execute(conn, rows[:100]) == 100
            assert await bulk.execute(conn, rows) == len(rows) - 100  # the first 100 are already there
            assert await bulk.execute(conn, []) == 0
        async with engine.connect() as conn:
            count = len((await conn.execute(select(requests.c.request_id))).all())
    finally:
        await engine.dispose()
    assert count == len(rows)


async def test_a_value_no_column_type_accepts_is_bad_data(ledger_url: str) -> None:  # noqa: F811
    engine = create_engine(ledger_url)
    row = _rows("bad", 1)[0]
    row["started_at"] = datetime(2026, 12, 2, 9, 30)  # naive: the ledger stores aware UTC times only
    try:
        with pytest.raises(StatementError, match="started_at"):
            BulkInsert(requests, engine.dialect).parameters(row)
    finally:
        await engine.dispose()
