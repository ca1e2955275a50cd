"""The shape of routing.yaml as strict pydantic models (gateway/strictschema.py): types only, semantics
live in load.py.

Strict so that YAML's loose typing cannot slip through: `self_hosted_only: "no"` is not a
boolean, `excluded_jurisdictions: CN` is not a list, `confidence_threshold: true` is not a number.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gateway.strictschema import Strict
from gateway.strictschema import validate as validate_against

Verdict = Literal["substitute", "do_not_substitute", "uncertain"]
Preference = Literal["cheapest", "balanced", "quality"]


class ToolCallsSpec(Strict):
    """tool_calls: repair settings of one category."""

    retries: int = Field(3, ge=0, le=5)
    escalate: bool = True


class RuleSpec(Strict):
    """One category's (or the uncertain route's) rule."""

    verdict: Verdict
    route: str
    fallbacks: list[str] = []
    escalation: str | None = None
    cheap_route: str | None = None
    quality_route: str | None = None
    tool_calls: ToolCallsSpec = ToolCallsSpec()
    evidence: str = ""


class ConstraintsSpec(Strict):
    """A team's constraints."""

    self_hosted_only: bool = False
    excluded_jurisdictions: list[str] = []
    excluded_operators: list[str] = []
    max_cost_per_request_usd: float | None = Field(None, gt=0)
    preference: Preference = "balanced"
    allow_category_header: bool = False


class KeyConstraintsSpec(Strict):
    """An API key's constraints: each one set tightens its team's, unset ones inherit them.

    No allow_category_header: trusting a caller's category is granted per team, never per key.
    """

    self_hosted_only: bool | None = None
    excluded_jurisdictions: list[str] = []
    excluded_operators: list[str] = []
    max_cost_per_request_usd: float | None = Field(None, gt=0)
    preference: Preference | None = None


class GuardsSpec(Strict):
    """Context and recall guards."""

    recall_limit_tokens: int = Field(500_000, gt=0)
    recall_degrading_models: list[str] = []


class RoutingSpec(Strict):
    """The whole routing.yaml."""

    version: int = 1
    confidence_threshold: float = Field(0.4, ge=0, le=1)
    default_output_tokens: int = Field(500, gt=0)
    guards: GuardsSpec = GuardsSpec()
    uncertain: RuleSpec
    last_resort: list[str] = []
    categories: dict[str, RuleSpec]
    teams: dict[str, ConstraintsSpec] = {}
    keys: dict[str, KeyConstraintsSpec] = {}


def validate(raw: Any) -> RoutingSpec | list[tuple[tuple, str]]:
    """The typed file, or every shape problem as (YAML path, message)."""
    return validate_against(RoutingSpec, raw)
