"""The accounting record of one request, handed to recorders (ledger, metrics) off the hot path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from gateway.usage import Usage


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
