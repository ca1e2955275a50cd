"""The routing policy as typed, immutable values (parsed from policies/routing.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

CATEGORIES = tuple(f"P{i}" for i in range(1, 11)) + tuple(f"N{i}" for i in range(1, 11))
# Cheapest first: a key may move its team's preference towards cheaper, never away from it.
PREFERENCE_ORDER = ("cheapest", "balanced", "quality")
PREFERENCES = frozenset(PREFERENCE_ORDER)


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


NO_CONSTRAINTS = Constraints()


@dataclass(frozen=True, slots=True)
class KeyConstraints:
    """One API key's constraints; None (or empty) inherits the team's, anything set tightens it."""

    self_hosted_only: bool | None = None
    excluded_jurisdictions: frozenset[str] = frozenset()
    excluded_operators: frozenset[str] = frozenset()
    max_cost_per_request_usd: Decimal | None = None
    preference: str | None = None

    def over(self, team: Constraints) -> Constraints:
        """The team's constraints tightened by this key's: a key can never loosen its team's."""
        caps = [c for c in (team.max_cost_per_request_usd, self.max_cost_per_request_usd) if c is not None]
        preference = team.preference
        if self.preference is not None:
            preference = min(team.preference, self.preference, key=PREFERENCE_ORDER.index)
        return Constraints(
            self_hosted_only=team.self_hosted_only or bool(self.self_hosted_only),
            excluded_jurisdictions=team.excluded_jurisdictions | self.excluded_jurisdictions,
            excluded_operators=team.excluded_operators | self.excluded_operators,
            max_cost_per_request_usd=min(caps) if caps else None,
            preference=preference,
            allow_category_header=team.allow_category_header,
        )


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
    keys: Mapping[str, KeyConstraints] = field(default_factory=dict)

    def constraints_for(self, team: str | None, key_id: str | None = None) -> Constraints:
        """The caller's constraints: its team's (or `default`'s), tightened by its key's own."""
        base = self.teams.get(team) if team else None
        if base is None:
            base = self.teams.get("default") or NO_CONSTRAINTS
        key = self.keys.get(key_id) if key_id else None
        return key.over(base) if key else base
