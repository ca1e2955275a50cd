"""Loading and validating policies/routing.yaml, with errors that point at the YAML line."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from gateway.catalogue import Catalogue, CatalogueError, load_catalogue
from gateway.policy.model import (
    CATEGORIES,
    PREFERENCES,
    VERDICTS,
    CategoryRule,
    Constraints,
    Policy,
    ToolCallSettings,
)
from gateway.policy.yamllines import line_of, load_with_lines

ROUTING_FILE = "routing.yaml"


class PolicyError(ValueError):
    """The policy is invalid; `problems` lists every finding as 'file:line: path: message'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Checker:
    """Collects problems with their YAML locations."""

    def __init__(self, filename: str, lines: dict) -> None:
        self.filename = filename
        self.lines = lines
        self.problems: list[str] = []

    def add(self, path: tuple, message: str) -> None:
        line = line_of(self.lines, path)
        where = ".".join(str(part) for part in path) or "(document)"
        self.problems.append(f"{self.filename}:{line or '?'}: {where}: {message}")

    def model(self, path: tuple, name: Any, catalogue: Catalogue) -> str | None:
        if not isinstance(name, str) or name not in catalogue.models:
            self.add(path, f"unknown model {name!r}; the catalogue has {', '.join(catalogue.models)}")
            return None
        return name


def _rule(raw: Any, category: str, path: tuple, check: _Checker, catalogue: Catalogue) -> CategoryRule | None:
    if not isinstance(raw, Mapping):
        check.add(path, "expected a mapping with verdict, route, fallbacks, escalation, evidence")
        return None
    verdict = raw.get("verdict")
    if verdict not in VERDICTS:
        check.add((*path, "verdict"), f"must be one of {sorted(VERDICTS)}, got {verdict!r}")
    route = check.model((*path, "route"), raw.get("route"), catalogue)
    fallbacks = raw.get("fallbacks") or []
    if not isinstance(fallbacks, list):
        check.add((*path, "fallbacks"), "must be a list of model names")
        fallbacks = []
    for i, name in enumerate(fallbacks):
        check.model((*path, "fallbacks", i), name, catalogue)
    optional = {}
    for key in ("escalation", "cheap_route", "quality_route"):
        if raw.get(key) is not None:
            optional[key] = check.model((*path, key), raw[key], catalogue)
    if not str(raw.get("evidence") or "").strip():
        check.add((*path, "evidence"), "say which evidence from the source documents backs this route")
    tool_raw = raw.get("tool_calls") or {}
    retries = tool_raw.get("retries", 3) if isinstance(tool_raw, Mapping) else None
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 5:
        check.add((*path, "tool_calls", "retries"), "must be an integer from 0 to 5")
        retries = 3
    if route is None or verdict not in VERDICTS:
        return None
    return CategoryRule(
        category=category, verdict=verdict, route=route, fallbacks=tuple(fallbacks),
        tool_calls=ToolCallSettings(retries, bool(tool_raw.get("escalate", True))),
        evidence=str(raw.get("evidence", "")), **optional,
    )


def _constraints(raw: Any, path: tuple, check: _Checker) -> Constraints:
    if not isinstance(raw, Mapping):
        check.add(path, "expected a mapping of constraints")
        return Constraints()
    known = {"self_hosted_only", "excluded_jurisdictions", "excluded_operators", "max_cost_per_request_usd",
             "preference", "allow_category_header"}
    for key in set(raw) - known:
        check.add((*path, key), f"unknown constraint; use one of {sorted(known)}")
    preference = raw.get("preference", "balanced")
    if preference not in PREFERENCES:
        check.add((*path, "preference"), f"must be one of {sorted(PREFERENCES)}")
        preference = "balanced"
    max_cost = raw.get("max_cost_per_request_usd")
    if max_cost is not None:
        try:
            max_cost = Decimal(str(max_cost))
            if max_cost <= 0:
                raise InvalidOperation
        except InvalidOperation:
            check.add((*path, "max_cost_per_request_usd"), "must be a positive number of USD")
            max_cost = None
    return Constraints(
        self_hosted_only=bool(raw.get("self_hosted_only", False)),
        excluded_jurisdictions=frozenset(str(j) for j in raw.get("excluded_jurisdictions") or ()),
        excluded_operators=frozenset(str(o) for o in raw.get("excluded_operators") or ()),
        max_cost_per_request_usd=max_cost,
        preference=preference,
        allow_category_header=bool(raw.get("allow_category_header", False)),
    )


def parse_policy(raw: Any, lines: dict, catalogue: Catalogue, filename: str = ROUTING_FILE) -> Policy:
    """Build a Policy from parsed YAML, or raise PolicyError listing every problem."""
    check = _Checker(filename, lines)
    if not isinstance(raw, Mapping):
        raise PolicyError([f"{filename}:1: (document): expected a mapping with 'categories'"])
    categories_raw = raw.get("categories") or {}
    if not isinstance(categories_raw, Mapping):
        check.add(("categories",), "expected a mapping from category (P1..N10) to its rule")
        categories_raw = {}
    for name in categories_raw:
        if name not in CATEGORIES:
            check.add(("categories", name), f"unknown category; the SMQTS categories are {', '.join(CATEGORIES)}")
    missing = [c for c in CATEGORIES if c not in categories_raw]
    if missing:
        check.add(("categories",), f"every category must be covered; missing {', '.join(missing)}")
    rules = {c: _rule(categories_raw[c], c, ("categories", c), check, catalogue)
             for c in CATEGORIES if c in categories_raw}
    uncertain = _rule(raw.get("uncertain"), "uncertain", ("uncertain",), check, catalogue)
    threshold = raw.get("confidence_threshold", 0.4)
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        check.add(("confidence_threshold",), "must be a number between 0 and 1")
    guards = raw.get("guards") or {}
    degrading = guards.get("recall_degrading_models") or []
    for i, name in enumerate(degrading):
        check.model(("guards", "recall_degrading_models", i), name, catalogue)
    last_resort = raw.get("last_resort") or []
    for i, name in enumerate(last_resort):
        check.model(("last_resort", i), name, catalogue)
    teams = {str(name): _constraints(body, ("teams", name), check) for name, body in (raw.get("teams") or {}).items()}
    if check.problems:
        raise PolicyError(check.problems)
    policy = Policy(
        categories={c: r for c, r in rules.items() if r is not None},
        uncertain=uncertain,  # type: ignore[arg-type]
        confidence_threshold=float(threshold),
        default_output_tokens=int(raw.get("default_output_tokens", 500)),
        recall_limit_tokens=int(guards.get("recall_limit_tokens", 500_000)),
        recall_degrading_models=frozenset(degrading),
        last_resort=tuple(last_resort),
        teams=teams,
    )
    _check_reachability(policy, catalogue, check)
    if check.problems:
        raise PolicyError(check.problems)
    return policy


def _check_reachability(policy: Policy, catalogue: Catalogue, check: _Checker) -> None:
    """No team's constraints may leave a category with nowhere to go."""
    from gateway.policy.decide import allowed_deployments  # decide imports this module's types

    for team, constraints in policy.teams.items():
        for category, rule in [*policy.categories.items(), ("uncertain", policy.uncertain)]:
            chain = [rule.route, *rule.fallbacks, *policy.last_resort]
            if not any(allowed_deployments(catalogue.models[m], constraints) for m in chain):
                path = ("categories", category) if category != "uncertain" else ("uncertain",)
                check.add(path, f"team {team!r}'s constraints leave {category} with no allowed deployment "
                                "(add a fallback or last_resort model that satisfies them)")


def load_policy(policies_dir: Path, catalogue: Catalogue | None = None) -> Policy:
    """Read and validate routing.yaml from the policies directory."""
    path = Path(policies_dir) / ROUTING_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PolicyError([f"{path}: not found (set GATEWAY_POLICIES_DIR to the policies directory)"]) from None
    try:
        raw, lines = load_with_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise PolicyError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if catalogue is None:
        try:
            catalogue = load_catalogue(policies_dir)
        except CatalogueError as exc:
            raise PolicyError([str(exc)]) from None
    return parse_policy(raw, lines, catalogue, str(path))
