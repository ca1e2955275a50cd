"""POST /v1/routing/explain: the routing decision for a request, without calling any upstream."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway import routing
from gateway.api.openai import money, read_body
from gateway.auth import authenticate
from gateway.context import GatewayContext
from gateway.usage import prompt_bytes
from gateway.wire import input_kinds, parse_chat_request


async def explain(request: Request) -> Response:
    """Classification, plan, estimated cost of each candidate, and the reasons."""
    ctx: GatewayContext = request.app.state.ctx
    caller = authenticate(request, ctx.settings.master_key, ctx.keys)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    body = parse_chat_request(raw)
    # The same downgrade a real request would get past a soft budget limit; rate limits are not
    # counted, since nothing is sent upstream.
    routed = await routing.route(ctx, request.headers, caller, body, prompt_bytes(body, len(raw)),
                                 await ctx.guard.soft_limited(caller), input_kinds(body, raw))
    plan = routed.plan
    first = plan.attempts[0].deployment
    answer = {
        "category": routed.classification.category,
        "confidence": round(routed.classification.confidence, 4),
        "signals": list(routed.classification.signals),
        "verdict": plan.verdict,
        "model": plan.model.name,
        "deployment": first.name,
        "attempts": [attempt.deployment.name for attempt in plan.attempts],
        "escalation": plan.escalation,
        "candidates": [
            {"model": c.model, "deployment": c.deployment, "allowed": c.allowed, "reason": c.reason,
             "estimated_cost_usd": money(c.estimated_cost_usd) if c.estimated_cost_usd is not None else None}
            for c in plan.candidates
        ],
        "reasons": list(plan.reasons),
    }
    return Response(orjson.dumps(answer), media_type="application/json")
