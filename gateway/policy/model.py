"""The routing policy as typed, immutable values (parsed from policies/routing.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

CATEGORIES = tuple(f"P{i}" for i in range(1, 11)) + tuple(f"N{i}" for i in range(1, 11))
VERDICTS = frozenset({"substitute", "do_not_substitute", "uncertain"})
PREFERENCES = frozenset({"cheapest", "balanced", "quality"})


@dataclass(frozen=True, slots=True)
class ToolCallSettings:
    """How tool-call failures are repaired for a category."""

    retries: int = 3
    escalate: bool = True


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """Where one category goes and the evidence for it."""

    category: str
    verdict: str
    route: str
    fallbacks: tuple[str, ...] = ()
    escalation: str | None = None
    cheap_route: str | None = None
    quality_route: str | None = None
    tool_calls: ToolCallSettings = field(default_factory=ToolCallSettings)
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Constraints:
    """Per-team (or per-key) limits on where traffic may go."""

    self_hosted_only: bool = False
    excluded_jurisdictions: frozenset[str] = frozenset()
    excluded_operators: frozenset[str] = frozenset()
    max_cost_per_request_usd: Decimal | None = None
    preference: str = "balanced"
    allow_category_header: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole routing policy."""

    categories: Mapping[str, CategoryRule]
    uncertain: CategoryRule
    confidence_threshold: float
    default_output_tokens: int
    recall_limit_tokens: int
    recall_degrading_models: frozenset[str]
    last_resort: tuple[str, ...]
    teams: Mapping[str, Constraints]

    def constraints_for(self, team: str | None) -> Constraints:
        """The constraints of `team`, or the `default` team's when it has none of its own."""
        if team and team in self.teams:
            return self.teams[team]
        return self.teams.get("default", Constraints())
