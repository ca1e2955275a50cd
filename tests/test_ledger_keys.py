"""API keys, teams and budgets in the ledger: hashed keys, revocation, upserts, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.ledger import (
    LedgerWriter,
    create_engine,
    create_key,
    hash_key,
    key_by_hash,
    load_budgets,
    load_keys,
    load_teams,
    revoke_key,
    set_budget,
    spend_since,
    upsert_team,
)
from gateway.ledger.tables import api_keys
from tests.test_ledger_support import db_url, ledger_url, make_record  # noqa: F401


@pytest.fixture
async def engine(ledger_url: str):  # noqa: F811
    engine = create_engine(ledger_url)
    yield engine
    await engine.dispose()


async def test_keys_are_stored_hashed_and_found_by_hash(engine) -> None:
    plaintext, row = await create_key(engine, "search", name="indexer", rpm=60, tpm=100_000)
    assert plaintext.startswith("gw-") and len(plaintext) > 40
    assert row.key_hash == hash_key(plaintext) == __import__("hashlib").sha256(plaintext.encode()).hexdigest()
    assert row.key_prefix == plaintext[:8]

    async with engine.connect() as conn:
        stored = (await conn.execute(select(api_keys))).mappings().all()
    assert len(stored) == 1
    assert all(plaintext not in str(value) for value in stored[0].values()), "the plaintext key must not be stored"
    assert plaintext[8:] not in repr(stored)

    found = await key_by_hash(engine, hash_key(plaintext))
    assert found == row
    assert await key_by_hash(engine, hash_key(plaintext + "x")) is None
    [loaded] = await load_keys(engine)
    assert (loaded.id, loaded.team, loaded.name, loaded.rpm, loaded.tpm) == (row.id, "search", "indexer", 60, 100_000)
    assert loaded.created_at.tzinfo is not None


async def test_revoked_keys_are_not_loaded(engine) -> None:
    _, keep = await create_key(engine, "a")
    revoked_plain, revoked = await create_key(engine, "b")
    assert await revoke_key(engine, revoked.id) is True
    assert await revoke_key(engine, revoked.id) is False  # already revoked
    assert await revoke_key(engine, "key_missing") is False
    assert [key.id for key in await load_keys(engine)] == [keep.id]
    assert await key_by_hash(engine, hash_key(revoked_plain)) is None


async def test_teams_upsert_replaces_constraints(engine) -> None:
    await upsert_team(engine, "legal", {"pin": ["self-hosted"], "max_cost_usd": "0.5"})
    await upsert_team(engine, "search", {})
    await upsert_team(engine, "legal", {"avoid_jurisdictions": ["CN"]})
    teams = {team.name: team for team in await load_teams(engine)}
    assert teams["legal"].constraints == {"avoid_jurisdictions": ["CN"]}
    assert teams["search"].constraints == {}
    assert teams["legal"].updated_at >= teams["legal"].created_at


async def test_budgets_set_replace_and_validate(engine) -> None:
    await set_budget(engine, "team", "search", Decimal("100.25"), "month", soft_fraction=0.8)
    await set_budget(engine, "key", "key_1", "5", "day")
    await set_budget(engine, "team", "search", Decimal("150"), "month")  # replaces
    budgets = await load_budgets(engine)
    assert [(b.scope, b.scope_id, b.period, b.limit_usd, b.soft_fraction) for b in budgets] == [
        ("key", "key_1", "day", Decimal("5"), None),
        ("team", "search", "month", Decimal("150"), None),
    ]
    with pytest.raises(ValueError, match="scope"):
        await set_budget(engine, "org", "x", 1, "day")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period"):
        await set_budget(engine, "team", "x", 1, "year")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="soft_fraction"):
        await set_budget(engine, "team", "x", 1, "day", soft_fraction=1.5)


async def test_spend_since_sums_exactly_per_team_and_key(ledger_url: str, engine, tmp_path: Path) -> None:  # noqa: F811
    now = datetime.now(UTC)
    writer = LedgerWriter(ledger_url, tmp_path / "spool")
    await writer.start()
    writer.record(make_record(1, team="t", key_id="k1", cost_usd=Decimal("0.1000000001"), started_at=now))
    writer.record(make_record(2, team="t", key_id="k2", cost_usd=Decimal("0.2"), started_at=now))
    writer.record(make_record(3, team="t", key_id="k1", cost_usd=Decimal("7"), started_at=now - timedelta(days=2)))
    writer.record(make_record(4, team="u", key_id="k1", cost_usd=Decimal("1"), started_at=now))
    await writer.close()
    day_ago = now - timedelta(days=1)
    assert await spend_since(engine, "team", "t", day_ago) == Decimal("0.3000000001")
    assert await spend_since(engine, "key", "k1", day_ago) == Decimal("1.1000000001")
    assert await spend_since(engine, "team", "t", now - timedelta(days=3)) == Decimal("7.3000000001")
    assert await spend_since(engine, "team", "nobody", day_ago) == Decimal(0)
