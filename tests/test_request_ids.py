"""Request ids: unique, and ordered by time so the ledger's primary-key index grows at its right edge."""

from __future__ import annotations

import re
import time

import pytest

from gateway import records
from gateway.records import new_request_id

ID_FORMAT = re.compile(r"req_[0-9a-f]{28}")


def test_ids_have_the_documented_format_and_carry_the_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    request_id = new_request_id()
    after = time.time_ns() // 1_000_000
    assert ID_FORMAT.fullmatch(request_id)
    assert before <= int(request_id[4:16], 16) <= after


def test_ids_are_unique_within_one_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records.time, "time_ns", lambda: 1_765_000_000_000_000_000)
    ids = [new_request_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert len({i[:16] for i in ids}) == 1  # all in the same millisecond: only the random part differs


def test_later_ids_sort_after_earlier_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(1_765_000_000_000_000_000, 1_765_000_000_000_000_000 + 10**9, 1_000_000))
    monkeypatch.setattr(records.time, "time_ns", lambda: next(clock))
    ids = [new_request_id() for _ in range(1_000)]  # one millisecond apart
    assert ids == sorted(ids)
