"""Spend reports: grouping and savings arithmetic, checked by hand on a small ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.ledger import LedgerWriter, parse_since, spend_report
from gateway.usage import Usage
from tests.test_ledger_support import db_url, ledger_url, make_record  # noqa: F401

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
D = Decimal


async def _fill(url: str, spool: Path) -> None:
    rows = [
        # team, key, model, category, day offset, usage (in, cached, write, out, reasoning), cost, baseline, cache
        ("search", "k1", "v4-pro", "P1", 0, (100, 50, 0, 20, 5), "0.10", "0.50", "0.02"),
        ("search", "k2", "v4-pro", "N2", 0, (200, 0, 10, 40, 0), "0.20", "0.40", "0"),
        ("search", "k1", "opus", "P1", -1, (10, 90, 0, 10, 0), "0.30", "0.30", "0.05"),
        ("legal", "k3", "opus", "P10", -1, (5, 0, 0, 5, 1), "1.00", "0.90", "0"),
        (None, "anonymous", "v4-pro", None, 0, (1, 1, 1, 1, 1), "0.0000000001", "0.0000000003", None),
        ("search", "k1", "v4-pro", "P1", -10, (999, 0, 0, 999, 0), "99", "99", "9"),  # outside the window
    ]
    writer = LedgerWriter(url, spool)
    await writer.start()
    for i, (team, key, model, category, days, usage, cost, baseline, cache) in enumerate(rows):
        record = make_record(i, team=team, key_id=key, model=model, category=category,
                             started_at=NOW + timedelta(days=days, hours=-1), usage=Usage(*usage),
                             cost_usd=D(cost), baseline_usd=D(baseline),
                             cache_savings_usd=D(cache) if cache is not None else D(0))
        writer.record(record)
    await writer.close()


async def test_report_by_team_checked_by_hand(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    await _fill(ledger_url, tmp_path / "spool")
    rows = {row.key: row for row in await spend_report(ledger_url, "team", timedelta(days=7), now=NOW)}
    assert list(rows) == ["legal", "search", "(none)"]  # costliest first
    search = rows["search"]
    assert search.requests == 3
    assert (search.input_tokens, search.cached_input_tokens, search.cache_write_tokens) == (310, 140, 10)
    assert (search.output_tokens, search.reasoning_tokens) == (70, 5)
    assert search.cost_usd == D("0.60") and search.baseline_usd == D("1.20")
    assert search.saved_usd == D("0.60")
    assert search.cache_savings_usd == D("0.07")
    assert search.cache_share == D("0.07") / D("0.67")  # cache / (routing saving + cache saving)

    legal = rows["legal"]
    assert legal.saved_usd == D("-0.10")  # routed to something dearer than the baseline
    assert legal.cache_share is None  # no positive saving to share out

    anonymous = rows["(none)"]
    assert anonymous.cost_usd == D("0.0000000001") and anonymous.saved_usd == D("0.0000000002")


async def test_report_groupings(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    await _fill(ledger_url, tmp_path / "spool")
    since = timedelta(days=7)
    by_day = await spend_report(ledger_url, "day", since, now=NOW)
    assert [(row.key, row.requests, row.cost_usd) for row in by_day] == [
        ("2026-11-19", 2, D("1.30")), ("2026-11-20", 3, D("0.3000000001"))]
    by_model = {row.key: (row.requests, row.cost_usd)
                for row in await spend_report(ledger_url, "model", since, now=NOW)}
    assert by_model == {"opus": (2, D("1.30")), "v4-pro": (3, D("0.3000000001"))}
    by_key = {row.key: row.requests for row in await spend_report(ledger_url, "key", since, now=NOW)}
    assert by_key == {"k1": 2, "k2": 1, "k3": 1, "anonymous": 1}
    by_category = {row.key: row.cost_usd for row in await spend_report(ledger_url, "category", since, now=NOW)}
    assert by_category == {"P1": D("0.40"), "N2": D("0.20"), "P10": D("1.00"), "(none)": D("0.0000000001")}
    assert len(await spend_report(ledger_url, "team", timedelta(days=30), now=NOW)) == 3
    assert sum(row.requests for row in await spend_report(ledger_url, "day", timedelta(days=30), now=NOW)) == 6
    with pytest.raises(ValueError, match="team, key, model, category, day"):
        await spend_report(ledger_url, "region", since)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("7d", timedelta(days=7)), ("24h", timedelta(hours=24)), ("30m", timedelta(minutes=30)),
    (" 2w ", timedelta(weeks=2)), ("45s", timedelta(seconds=45)),
])
def test_parse_since(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["36501d", "99999999d", "9" * 30 + "w"])
def test_parse_since_refuses_a_window_past_any_date(text: str) -> None:
    assert parse_since("36500d") == timedelta(days=36_500)
    with pytest.raises(ValueError, match="too long: at most 36500d"):
        parse_since(text)


@pytest.mark.parametrize("text", ["", "7", "d", "0d", "-1d", "1.5h", "7 days", "1y"])
def test_parse_since_rejects_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 7d, 24h or 30m"):
        parse_since(text)
