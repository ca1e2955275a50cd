"""The routing edge: header overrides, classification, sticky lookup, then policy.decide."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from starlette.datastructures import Headers

from gateway import dispatch
from gateway.auth import Caller
from gateway.breakers import OPEN
from gateway.catalogue import Catalogue, Deployment
from gateway.context import GatewayContext
from gateway.errors import GatewayError
from gateway.plan import RoutePlan
from gateway.policy import CATEGORIES, Classified, Constraints, RequestFacts, decide
from gateway.policy.decide import KEY_NOT_SET, ROUTING_ALIAS, UNAVAILABLE
from gateway.providers.adapt import refusal
from gateway.providers.anthropic_translate import unsupported_field

log = logging.getLogger("gateway.routing")
CATEGORY_HEADER = "x-gateway-category"
VERDICT_HEADER = "x-gateway-verdict"
STICKY_TTL_S = 3600.0  # a conversation idle for an hour may move (and its prefix cache is cold anyway)


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """A plan plus what produced it (for headers, explain and the ledger)."""

    plan: RoutePlan
    classification: Classified
    conversation_key: str | None
    first_turn: bool
    facts: RequestFacts
    constraints: Constraints


def trusted_category(headers: Headers, caller: Caller, constraints: Constraints) -> str | None:
    """The client-named category, honoured only from the master key or callers allowed to name it."""
    named = headers.get(CATEGORY_HEADER)
    if not named or not (caller.is_master or constraints.allow_category_header):
        return None
    named = named.strip().upper()
    return named if named in CATEGORIES else None


def conversation_key(messages: list[Mapping[str, Any]], scope: str = "") -> tuple[str | None, bool]:
    """(hash of the conversation's opening turns within `scope`, whether this request is its first turn).

    The first turn is the first user message with nothing answered after it: the requests of a tool loop
    (user, assistant tool calls, tool results, ...) carry one user message too, and belong to the conversation's
    model. The scope (the caller's team, or key) keeps two tenants who open with the same words apart.
    """
    opening = []
    user_turns = 0
    answered = False
    for message in messages:
        if message.get("role") == "user":
            user_turns += 1
            if user_turns == 1:
                opening.append(message)
        elif user_turns == 0:
            opening.append(message)
        else:
            answered = True
    if not user_turns:
        return None, False
    opening_bytes = orjson.dumps(opening, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(scope.encode() + b"\0" + opening_bytes, digest_size=16).hexdigest()
    return f"sticky:{digest}", user_turns == 1 and not answered


def request_facts(body: Mapping[str, Any], body_bytes: int, inputs: frozenset[str] = frozenset()) -> RequestFacts:
    """Cheap facts about the request: about four bytes of JSON per prompt token; `inputs` are the kinds of input
    besides text its messages carry (wire.input_kinds)."""
    max_output = body.get("max_completion_tokens") or body.get("max_tokens")
    # A field only OpenAI-compatible upstreams take keeps the plan off Anthropic deployments.
    unsupported = unsupported_field(body)
    return RequestFacts(body["model"], max(1, body_bytes // 4), max_output, bool(body.get("tools")),
                        unsupported[0] if unsupported else None,
                        partial(refusal, body, inputs=inputs) if inputs else partial(refusal, body), inputs)


async def route(ctx: GatewayContext, headers: Headers, caller: Caller, body: Mapping[str, Any],
                body_bytes: int, soft_limited: bool = False, inputs: frozenset[str] = frozenset()) -> RoutingResult:
    """Classify the request and decide its plan (no upstream is called); `inputs` as for request_facts."""
    # Both read before any await: a hot reload swaps them together, so a request never mixes two versions.
    policy, catalogue = ctx.policy, ctx.catalogue
    constraints = policy.constraints_for(caller.team, caller.key_id)
    if soft_limited:  # past a soft budget limit: substitute-able categories take their cheapest route
        constraints = replace(constraints, preference="cheapest")
    named = trusted_category(headers, caller, constraints)
    if named:
        classification = Classified(named, 1.0, ("header",))
    else:
        found = await ctx.classifier.classify(body)
        classification = Classified(found.category, found.confidence, tuple(found.signals))
    key, first_turn = (None, False)
    sticky_model = None
    if body["model"] == ROUTING_ALIAS:
        key, first_turn = conversation_key(body["messages"], caller.team or caller.key_id)
        if key and not first_turn:
            sticky_model = await ctx.state.get(key)
    facts = request_facts(body, body_bytes, inputs)
    try:
        plan = decide(policy, catalogue, classification, facts, constraints, datetime.now(UTC),
                      sticky_model=sticky_model, unavailable=lambda d: unavailable(ctx, d))
    except GatewayError as exc:  # a refusal still says how the request was classified
        rule = policy.categories.get(classification.category)
        exc.headers.setdefault(CATEGORY_HEADER, classification.category)
        exc.headers.setdefault(VERDICT_HEADER, rule.verdict if rule else "none")
        raise
    return RoutingResult(plan, classification, key, first_turn, facts, constraints)


def estimated_cost(plan: RoutePlan) -> Decimal:
    """The estimate for the plan's first choice (what a budget reservation holds)."""
    first = plan.attempts[0].deployment.model
    return next((c.estimated_cost_usd for c in plan.candidates if c.model == first and c.estimated_cost_usd),
                Decimal(0))


def unavailable_hint(plan: RoutePlan, catalogue: Catalogue | None = None,
                     why_unavailable: Callable[[Deployment], str | None] | None = None) -> str:
    """When a plan failed, what else could have served it had it been configured.

    Besides the candidates refused outright, the other deployments of each candidate model that
    were skipped (a model whose self-hosted copy is down may have unset API keys for the rest).
    """
    reasons = [c.reason for c in plan.candidates if not c.allowed]
    if catalogue is not None and why_unavailable is not None:
        for name in dict.fromkeys(c.model for c in plan.candidates):
            model = catalogue.models.get(name)
            reasons += [why_unavailable(d) or "" for d in (model.deployments if model else ())]
    skipped = sorted({r.split(UNAVAILABLE, 1)[1].split(";")[0] for r in reasons if UNAVAILABLE in r})
    if not skipped:
        return ""
    fix = ("; set the upstream keys, or run with GATEWAY_SIMULATE=1 for offline simulated upstreams"
           if any(KEY_NOT_SET in reason for reason in skipped) else "")
    return f" (routes skipped because {', '.join(skipped)}{fix})"


def unavailable(ctx: GatewayContext, deployment: Deployment) -> str | None:
    """Why `deployment` cannot be called now (key not set, circuit open), or None."""
    if not dispatch.is_available(deployment, ctx.settings):
        return f"{UNAVAILABLE}{deployment.api_key_env}{KEY_NOT_SET}"
    if ctx.breakers.state(deployment.name) == OPEN:
        return f"{UNAVAILABLE}circuit open after repeated failures"
    return None


def escalation_plan(ctx: GatewayContext, result: RoutingResult) -> RoutePlan | None:
    """The plan for the escalation model (tool-call repair), within the caller's constraints."""
    escalation = result.plan.escalation
    if not escalation or escalation == result.plan.model.name:
        return None
    facts = replace(result.facts, requested_model=escalation)
    try:
        return decide(ctx.policy, ctx.catalogue, result.classification, facts, result.constraints,
                      datetime.now(UTC), unavailable=lambda d: unavailable(ctx, d))
    except GatewayError:
        return None


async def remember(ctx: GatewayContext, result: RoutingResult, model: str) -> None:
    """After a first turn succeeds, pin its conversation to the model that served it (best effort). A turn
    that a fallback served because the preferred model could not is not pinned: an outage of minutes must
    not keep a conversation off the model its category calls for, for the sticky TTL."""
    preferred = result.plan.preferred
    if result.conversation_key and result.first_turn and (preferred is None or model == preferred):
        try:
            await ctx.state.set(result.conversation_key, model, STICKY_TTL_S)
        except GatewayError as exc:  # fail-closed state must not lose an answer already paid for
            log.warning("sticky session not stored: %s", exc.message)
