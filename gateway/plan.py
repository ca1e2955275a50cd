"""The typed values that flow between classify, policy.decide and dispatch."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway.catalogue import Deployment, Model


@dataclass(frozen=True, slots=True)
class Attempt:
    """One deployment to try, in plan order."""

    deployment: Deployment


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model the policy considered, with its estimated cost and why it was (not) chosen."""

    model: str
    deployment: str | None
    estimated_cost_usd: Decimal | None
    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The model chosen for a request and everything dispatch needs to execute it."""

    model: Model
    attempts: tuple[Attempt, ...]
    reasons: tuple[str, ...] = ()
    verdict: str = "explicit"
    category: str | None = None
    confidence: float | None = None
    escalation: str | None = None
    tool_retries: int = 3
    candidates: tuple[Candidate, ...] = ()
    preferred: str | None = None  # the model the policy put first (a fallback may serve when it cannot)
