"""The accounting record of one request, handed to recorders (ledger, metrics) off the hot path."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from gateway.usage import Usage


def new_request_id() -> str:
    """A unique request id that sorts by time: `req_` + 12 hex digits of Unix milliseconds + 16 random.

    The id is the ledger's primary key. Random keys land on random pages of its index, and each
    insert touches pages the cache evicted long ago; time-ordered keys append at the index's right
    edge (on SQLite with 200,000 rows: 18.5 -> 4.8 us of CPU per inserted row). Ids need uniqueness,
    not secrecy: 64 random bits a millisecond from the process's Mersenne Twister (seeded from the
    OS, reseeded in forked children) never collide in practice, without a getrandom syscall each.
    """
    return f"req_{time.time_ns() // 1_000_000:012x}{random.getrandbits(64):016x}"


@dataclass(slots=True)
class RequestRecord:
    """Everything the ledger and the metrics need about one finished request."""

    request_id: str
    started_at: datetime
    key_id: str
    team: str | None
    requested_model: str
    stream: bool
    model: str | None = None
    deployment: str | None = None
    provider: str | None = None
    category: str | None = None
    confidence: float | None = None
    verdict: str | None = None
    status: int = 200
    error_code: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    attempts: int = 0
    fallbacks: int = 0
    retries: int = 0
    tool_repairs: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal = Decimal(0)
    baseline_usd: Decimal = Decimal(0)
    cache_savings_usd: Decimal = Decimal(0)


class Recorder(Protocol):
    """Takes finished records; must never block or raise into the request path."""

    def record(self, record: RequestRecord) -> None: ...


class MemoryRecorder:
    """Keeps records in a list (tests, the demo)."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def record(self, record: RequestRecord) -> None:
        """Append the record."""
        self.records.append(record)
