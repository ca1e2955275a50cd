"""The shape of routing.yaml as strict pydantic models: types only, semantics live in load.py.

Strict so that YAML's loose typing cannot slip through: `self_hosted_only: "no"` is not a
boolean, `excluded_jurisdictions: CN` is not a list, `confidence_threshold: true` is not a number.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Verdict = Literal["substitute", "do_not_substitute", "uncertain"]
Preference = Literal["cheapest", "balanced", "quality"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ToolCallsSpec(_Strict):
    """tool_calls: repair settings of one category."""

    retries: int = Field(3, ge=0, le=5)
    escalate: bool = True


class RuleSpec(_Strict):
    """One category's (or the uncertain route's) rule."""

    verdict: Verdict
    route: str
    fallbacks: list[str] = []
    escalation: str | None = None
    cheap_route: str | None = None
    quality_route: str | None = None
    tool_calls: ToolCallsSpec = ToolCallsSpec()
    evidence: str = ""


class ConstraintsSpec(_Strict):
    """A team's constraints."""

    self_hosted_only: bool = False
    excluded_jurisdictions: list[str] = []
    excluded_operators: list[str] = []
    max_cost_per_request_usd: float | None = Field(None, gt=0)
    preference: Preference = "balanced"
    allow_category_header: bool = False


class KeyConstraintsSpec(_Strict):
    """An API key's constraints: each one set tightens its team's, unset ones inherit them.

    No allow_category_header: trusting a caller's category is granted per team, never per key.
    """

    self_hosted_only: bool | None = None
    excluded_jurisdictions: list[str] = []
    excluded_operators: list[str] = []
    max_cost_per_request_usd: float | None = Field(None, gt=0)
    preference: Preference | None = None


class GuardsSpec(_Strict):
    """Context and recall guards."""

    recall_limit_tokens: int = Field(500_000, gt=0)
    recall_degrading_models: list[str] = []


class RoutingSpec(_Strict):
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
    try:
        return RoutingSpec.model_validate(raw)
    except ValidationError as exc:
        return [_problem(error) for error in exc.errors()]


def _problem(error: Any) -> tuple[tuple, str]:
    loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a mapping key of the wrong type: point at the key itself
        return loc[:-1], f"a name here must be a string, got {loc[-2]!r}"
    kind, got = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        return loc, "unknown key" + (f"; use one of {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return loc, "is required"
    if kind == "bool_type":
        return loc, f"must be true or false (a YAML boolean, unquoted), got {got!r}"
    if kind in ("model_type", "dict_type"):
        return loc, f"must be a mapping, got {_shape(got)}"
    if kind == "literal_error":
        return loc, f"must be one of {error['ctx']['expected']}, got {got!r}"
    if kind == "list_type":
        return loc, f"must be a list (e.g. [a, b]), got {_shape(got)}"
    message = error["msg"].replace("Input should be", "must be")
    return loc, f"{message}, got {got!r}"


def _shape(value: Any) -> str:
    kind = {list: "a list", dict: "a mapping", str: "a string", bool: "a boolean"}.get(type(value))
    return f"{kind} {value!r}" if kind else repr(value)


def _fields_at(loc: tuple) -> list[str]:
    """The keys allowed at `loc` in the schema (for 'unknown key' messages)."""
    node: Any = RoutingSpec
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return []
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []
