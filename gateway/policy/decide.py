"""decide(): classification + request facts + caller constraints → RoutePlan. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from gateway.catalogue import Catalogue, Deployment, Model
from gateway.errors import InvalidRequest, ModelNotFound, NoDeploymentAvailable, PermissionDenied
from gateway.plan import Attempt, Candidate, RoutePlan
from gateway.policy.model import CategoryRule, Constraints, Policy
from gateway.pricing import prompt_and_answer_cost

ROUTING_ALIAS = "auto"
UNAVAILABLE = "unavailable: "
KEY_NOT_SET = " is not set"  # the end of an UNAVAILABLE reason that names an API key variable (routing.unavailable)
# Why a deployment cannot be called right now (missing key, open circuit), or None when it can;
# reasons start with UNAVAILABLE.
Unavailable = Callable[[Deployment], str | None]


ANTHROPIC_LACKS = "the Messages API takes no"
REFUSES = "cannot take the request: "


def always_available(deployment: Deployment) -> str | None:
    """The default: every deployment is callable."""
    return None


@dataclass(frozen=True, slots=True)
class Classified:
    """The classification decide() needs (duck-compatible with gateway.classify.Classification)."""

    category: str
    confidence: float
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the policy needs to know about a request besides its category."""

    requested_model: str
    prompt_tokens: int
    max_output_tokens: int | None = None
    has_tools: bool = False
    # A feature only OpenAI-compatible upstreams take ("n > 1", "logprobs", "custom tools", ...), or None
    # (providers/anthropic_translate.unsupported_field).
    openai_only: str | None = None
    # Why a deployment cannot take the request as its catalogue entry says (a field it refuses, sampling other
    # than the default), or None (providers/adapt.refusal, bound to the request by routing).
    refusal: Callable[[Deployment], InvalidRequest | None] = lambda deployment: None
    # The kinds of input besides text its messages carry ("image", "audio", "file": wire.input_kinds).
    inputs: frozenset[str] = frozenset()


def constraint_violation(deployment: Deployment, constraints: Constraints) -> str | None:
    """Why `constraints` forbid `deployment`, or None when they allow it."""
    if constraints.self_hosted_only and not deployment.self_hosted:
        return "team requires self-hosted deployments (data must not leave)"
    if deployment.jurisdiction in constraints.excluded_jurisdictions:
        return f"jurisdiction {deployment.jurisdiction} is excluded for this team"
    if deployment.operator in constraints.excluded_operators:
        return f"operator {deployment.operator} is excluded for this team"
    return None


def allowed_deployments(model: Model, constraints: Constraints) -> list[Deployment]:
    """The deployments of `model` that `constraints` allow."""
    return [d for d in model.deployments if constraint_violation(d, constraints) is None]


def estimate_cost(deployment: Deployment, facts: RequestFacts, policy: Policy, at: datetime) -> Decimal:
    """Estimated USD for this request on `deployment` (prompt estimate + expected output)."""
    output = facts.max_output_tokens or policy.default_output_tokens
    return prompt_and_answer_cost(deployment.prices, facts.prompt_tokens, output, at)


def _rejection(deployment: Deployment, facts: RequestFacts, policy: Policy, constraints: Constraints,
               unavailable: Unavailable, estimate: Decimal | None) -> str | None:
    violation = constraint_violation(deployment, constraints)
    if violation:
        return violation
    if facts.openai_only and deployment.provider == "anthropic":
        return f"{ANTHROPIC_LACKS} {facts.openai_only}"
    refused = facts.refusal(deployment)
    if refused is not None:
        return REFUSES + refused.message
    needed = facts.prompt_tokens + (facts.max_output_tokens or 0)
    if needed > deployment.context_window:
        return f"~{needed} tokens exceed its context window of {deployment.context_window}"
    if deployment.model in policy.recall_degrading_models and facts.prompt_tokens > policy.recall_limit_tokens:
        return f"prompt of ~{facts.prompt_tokens} tokens is past its recall limit of {policy.recall_limit_tokens}"
    limit = constraints.max_cost_per_request_usd
    if limit is not None and estimate is not None and estimate > limit:
        return f"estimated ${estimate:.6f} exceeds the team's max of ${limit} per request"
    return unavailable(deployment)


def _evaluate(models: Iterable[Model], facts: RequestFacts, policy: Policy, constraints: Constraints,
              unavailable: Unavailable, at: datetime) -> tuple[list[Attempt], list[Candidate]]:
    attempts: list[Attempt] = []
    candidates: list[Candidate] = []
    for model in models:
        first_ok: tuple[Deployment, Decimal] | None = None
        reasons = []
        capped = constraints.max_cost_per_request_usd is not None
        for deployment in model.deployments:
            # Pricing every deployment costs time on the hot path: only a cost cap needs it.
            estimate = estimate_cost(deployment, facts, policy, at) if capped else None
            why = _rejection(deployment, facts, policy, constraints, unavailable, estimate)
            if why is None:
                attempts.append(Attempt(deployment))
                if first_ok is None:
                    first_ok = (deployment, estimate if estimate is not None
                                else estimate_cost(deployment, facts, policy, at))
            else:
                reasons.append(f"{deployment.name}: {why}")
        if first_ok:
            candidates.append(Candidate(model.name, first_ok[0].name, first_ok[1], True, "allowed"))
        else:
            estimate = estimate_cost(model.deployments[0], facts, policy, at) if model.deployments else None
            candidates.append(Candidate(model.name, None, estimate, False, "; ".join(reasons)))
    return attempts, candidates


def _primary(rule: CategoryRule, preference: str) -> str:
    if preference == "cheapest" and rule.verdict == "substitute" and rule.cheap_route:
        return rule.cheap_route
    if preference == "quality":
        if rule.quality_route:
            return rule.quality_route
        if rule.verdict == "substitute" and rule.fallbacks:
            return rule.fallbacks[0]  # the frontier model the substitution was judged against
    return rule.route


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _refuse(candidates: list[Candidate], subject: str, facts: RequestFacts, catalogue: Catalogue,
            constraints: Constraints) -> Exception:
    details = "; ".join(f"{c.model}: {c.reason}" for c in candidates if not c.allowed)
    if candidates and all(ANTHROPIC_LACKS in c.reason for c in candidates if not c.allowed):
        return InvalidRequest(f"{subject} is served by Anthropic, whose Messages API takes no {facts.openai_only}; "
                              "ask for another model or drop that field", param="model")
    if candidates and all("context window" in c.reason for c in candidates):
        asked = f" with max_tokens {facts.max_output_tokens}" if facts.max_output_tokens else ""
        return InvalidRequest(f"the prompt (~{facts.prompt_tokens} tokens){asked} fits no model {subject} may use: "
                              f"{details}", param="max_tokens" if asked else "messages", code="context_length_exceeded")
    # Models that take no input the prompt carries (an image, say) say nothing of an outage of those that do.
    refused = [c for c in candidates if not c.allowed]
    takers = [c for c in refused if catalogue.models[c.model].takes(facts.inputs)] if facts.inputs else refused
    if takers and all(UNAVAILABLE in c.reason for c in takers):
        fix = ("set the upstream key (or run with GATEWAY_SIMULATE=1 for offline simulated upstreams)"
               if KEY_NOT_SET in details else "retry shortly")
        return NoDeploymentAvailable(f"{subject} has no usable deployment ({details}); {fix}.")
    if any(REFUSES in c.reason for c in candidates if not c.allowed):
        # Deployments the caller may use refuse a field of the request (and the others are unavailable or too
        # small): the first refusal, a 400 naming the field, as the upstream would answer it.
        for deployment in (d for c in candidates if not c.allowed for d in catalogue.models[c.model].deployments):
            refused = facts.refusal(deployment) if constraint_violation(deployment, constraints) is None else None
            if refused is not None:
                return refused
    return PermissionDenied(f"{subject} cannot be served under this caller's constraints: {details}")


def _explicit(catalogue: Catalogue, policy: Policy, facts: RequestFacts, constraints: Constraints,
              unavailable: Unavailable, at: datetime) -> RoutePlan:
    model = catalogue.resolve(facts.requested_model)
    if model is None:
        known = ", ".join([ROUTING_ALIAS, *catalogue.aliases, *catalogue.models])
        raise ModelNotFound(f"The model {facts.requested_model!r} does not exist. Available: {known}.", param="model")
    attempts, candidates = _evaluate([model], facts, policy, constraints, unavailable, at)
    if not attempts:
        raise _refuse(candidates, f"model {model.name!r}", facts, catalogue, constraints)
    return RoutePlan(model, tuple(attempts), (f"explicit model {facts.requested_model!r}",), "explicit",
                     candidates=tuple(candidates))


def decide(policy: Policy, catalogue: Catalogue, classification: Classified | None, facts: RequestFacts,
           constraints: Constraints, at: datetime, *, sticky_model: str | None = None,
           unavailable: Unavailable = always_available) -> RoutePlan:
    """The plan for one request: which models and deployments to try, in order, and why."""
    if facts.requested_model != ROUTING_ALIAS:
        return _explicit(catalogue, policy, facts, constraints, unavailable, at)
    reasons: list[str] = []
    if classification is None or classification.confidence < policy.confidence_threshold:
        rule = policy.uncertain
        confidence = classification.confidence if classification else 0.0
        reasons.append(f"classifier confidence {confidence:.2f} is below {policy.confidence_threshold}: "
                       "uncertain route")
    else:
        rule = policy.categories[classification.category]
        reasons.append(f"category {classification.category} ({rule.verdict}): {rule.evidence}")
    primary = _primary(rule, constraints.preference)
    if primary != rule.route:
        reasons.append(f"preference {constraints.preference!r} picks {primary}")
    chain = _dedupe([primary, rule.route, *rule.fallbacks])
    if sticky_model and sticky_model in catalogue.models and sticky_model != chain[0]:
        chain = _dedupe([sticky_model, *chain])
        reasons.append(f"sticky conversation: stays on {sticky_model}, which served its first turn")
    attempts, candidates = _evaluate((catalogue.models[m] for m in chain), facts, policy, constraints,
                                     unavailable, at)
    if not attempts:
        rest = [m for m in policy.last_resort if m not in chain]
        more_attempts, more = _evaluate((catalogue.models[m] for m in rest), facts, policy, constraints,
                                        unavailable, at)
        attempts, candidates = more_attempts, candidates + more
        if attempts:
            reasons.append("route and fallbacks unavailable or excluded by constraints: last-resort model")
    if not attempts and facts.inputs:
        # None of those models takes the prompt's images, audio or files: the models that do, in the order of the
        # route for requests of unknown kind (the frontier models), then the catalogue's.
        tried = {*chain, *policy.last_resort}
        takers = [m for m in _dedupe([policy.uncertain.route, *policy.uncertain.fallbacks, *catalogue.models])
                  if m not in tried and catalogue.models[m].takes(facts.inputs)]
        more_attempts, more = _evaluate((catalogue.models[m] for m in takers), facts, policy, constraints,
                                        unavailable, at)
        attempts, candidates = more_attempts, candidates + more
        if attempts:
            kinds = " and ".join(sorted(facts.inputs))
            reasons.append(f"no model of the route, its fallbacks or the last resort can take {kinds} input now: "
                           "one that can")
    if not attempts:
        raise _refuse(candidates, f"category {classification.category if classification else 'unknown'}", facts,
                      catalogue, constraints)
    model = catalogue.models[attempts[0].deployment.model]
    if model.name != chain[0]:
        reasons.append(f"{chain[0]} skipped: {candidates[0].reason}")
    return RoutePlan(
        model=model, attempts=tuple(attempts), reasons=tuple(reasons), verdict=rule.verdict, preferred=chain[0],
        category=classification.category if classification else None,
        confidence=classification.confidence if classification else None,
        # `tool_calls.escalate: false` keeps repairs on the routed model: no escalation plan is built.
        escalation=rule.escalation if rule.tool_calls.escalate else None,
        tool_retries=rule.tool_calls.retries, candidates=tuple(candidates),
    )
