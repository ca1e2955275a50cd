"""Loading and validating policies/routing.yaml, with errors that point at the YAML line."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.catalogue import Catalogue, CatalogueError, load_catalogue
from gateway.policy.model import CATEGORIES, CategoryRule, Constraints, KeyConstraints, Policy, ToolCallSettings
from gateway.policy.schema import ConstraintsSpec, KeyConstraintsSpec, RoutingSpec, RuleSpec, validate
from gateway.yamllines import Located, YamlFileError, read_with_lines

ROUTING_FILE = "routing.yaml"


class PolicyError(ValueError):
    """The policy is invalid; `problems` lists every finding as 'file:line: path: message'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Checker(Located):
    """Collects problems with their YAML locations."""

    def model(self, path: tuple, name: Any, catalogue: Catalogue) -> str | None:
        if not isinstance(name, str) or name not in catalogue.models:
            self.add(path, f"unknown model {name!r}; the catalogue has {', '.join(catalogue.models)}")
            return None
        return name


def _rule(spec: RuleSpec, category: str, path: tuple, check: _Checker, catalogue: Catalogue) -> CategoryRule:
    check.model((*path, "route"), spec.route, catalogue)
    for i, name in enumerate(spec.fallbacks):
        check.model((*path, "fallbacks", i), name, catalogue)
    for key in ("escalation", "cheap_route", "quality_route"):
        if getattr(spec, key) is not None:
            check.model((*path, key), getattr(spec, key), catalogue)
    if not spec.evidence.strip():
        check.add((*path, "evidence"), "say which evidence from the source documents backs this route")
    return CategoryRule(
        category=category, verdict=spec.verdict, route=spec.route, fallbacks=tuple(spec.fallbacks),
        escalation=spec.escalation, cheap_route=spec.cheap_route, quality_route=spec.quality_route,
        tool_calls=ToolCallSettings(spec.tool_calls.retries, spec.tool_calls.escalate), evidence=spec.evidence,
    )


def _usd(value: float | None) -> Decimal | None:
    # Through str so that 0.05 in YAML is exactly $0.05, not the nearest binary float.
    return Decimal(str(value)) if value is not None else None


def _constraints(spec: ConstraintsSpec) -> Constraints:
    return Constraints(
        self_hosted_only=spec.self_hosted_only,
        excluded_jurisdictions=frozenset(spec.excluded_jurisdictions),
        excluded_operators=frozenset(spec.excluded_operators),
        max_cost_per_request_usd=_usd(spec.max_cost_per_request_usd),
        preference=spec.preference,
        allow_category_header=spec.allow_category_header,
    )


def _key_constraints(spec: KeyConstraintsSpec) -> KeyConstraints:
    return KeyConstraints(
        self_hosted_only=spec.self_hosted_only,
        excluded_jurisdictions=frozenset(spec.excluded_jurisdictions),
        excluded_operators=frozenset(spec.excluded_operators),
        max_cost_per_request_usd=_usd(spec.max_cost_per_request_usd),
        preference=spec.preference,
    )


def _check_categories(spec: RoutingSpec, check: _Checker) -> None:
    for name in spec.categories:
        if name not in CATEGORIES:
            check.add(("categories", name), f"unknown category; the SMQTS categories are {', '.join(CATEGORIES)}")
    missing = [c for c in CATEGORIES if c not in spec.categories]
    if missing:
        check.add(("categories",), f"every category must be covered; missing {', '.join(missing)}")


def parse_policy(raw: Any, lines: dict, catalogue: Catalogue, filename: str = ROUTING_FILE) -> Policy:
    """Build a Policy from parsed YAML, or raise PolicyError listing every problem."""
    check = _Checker(filename, lines)
    if not isinstance(raw, Mapping):
        raise PolicyError([f"{filename}:1: (document): expected a mapping with 'categories'"])
    spec = validate(raw)
    if not isinstance(spec, RoutingSpec):
        for path, message in spec:
            check.add(path, message)
        raise PolicyError(check.problems)
    _check_categories(spec, check)
    rules = {c: _rule(spec.categories[c], c, ("categories", c), check, catalogue)
             for c in CATEGORIES if c in spec.categories}
    uncertain = _rule(spec.uncertain, "uncertain", ("uncertain",), check, catalogue)
    for i, name in enumerate(spec.guards.recall_degrading_models):
        check.model(("guards", "recall_degrading_models", i), name, catalogue)
    for i, name in enumerate(spec.last_resort):
        check.model(("last_resort", i), name, catalogue)
    if check.problems:
        raise PolicyError(check.problems)
    policy = Policy(
        categories=rules,
        uncertain=uncertain,
        confidence_threshold=spec.confidence_threshold,
        default_output_tokens=spec.default_output_tokens,
        recall_limit_tokens=spec.guards.recall_limit_tokens,
        recall_degrading_models=frozenset(spec.guards.recall_degrading_models),
        last_resort=tuple(spec.last_resort),
        teams={name: _constraints(body) for name, body in spec.teams.items()},
        keys={name: _key_constraints(body) for name, body in spec.keys.items()},
    )
    _check_reachability(policy, catalogue, check)
    if check.problems:
        raise PolicyError(check.problems)
    return policy


def _check_reachability(policy: Policy, catalogue: Catalogue, check: _Checker) -> None:
    """No team's (or key's) constraints may leave a category with nowhere to go."""
    from gateway.policy.decide import allowed_deployments  # decide imports this module's types

    def stranded(constraints: Constraints) -> list[str]:
        return [category for category, rule in [*policy.categories.items(), ("uncertain", policy.uncertain)]
                if not any(allowed_deployments(catalogue.models[m], constraints)
                           for m in [rule.route, *rule.fallbacks, *policy.last_resort])]

    hint = "(add a fallback or last_resort model that satisfies them)"
    for team, constraints in policy.teams.items():
        for category in stranded(constraints):
            path = ("categories", category) if category != "uncertain" else ("uncertain",)
            check.add(path, f"the constraints of team {team!r} leave {category} with no allowed deployment {hint}")
    # A key's team lives in the key store, not here: check it over the loosest team, which
    # catches keys that no team could ever serve.
    for key, constraints in policy.keys.items():
        categories = stranded(constraints.over(Constraints()))
        if categories:
            check.add(("keys", key), f"the constraints of key {key!r} leave {', '.join(categories)} with no "
                                     f"allowed deployment {hint}")


def load_policy(policies_dir: Path, catalogue: Catalogue | None = None) -> Policy:
    """Read and validate routing.yaml from the policies directory."""
    path = Path(policies_dir) / ROUTING_FILE
    try:
        raw, lines = read_with_lines(path)
    except YamlFileError as exc:
        raise PolicyError(exc.problems) from None
    if catalogue is None:
        try:
            catalogue = load_catalogue(policies_dir)
        except CatalogueError as exc:
            raise PolicyError(exc.problems) from None
    return parse_policy(raw, lines, catalogue, str(path))
