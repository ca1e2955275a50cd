"""The admin API (behind GATEWAY_ADMIN_KEY): virtual keys, budgets and spend reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.accounting import money
from gateway.auth import require_admin
from gateway.context import GatewayContext
from gateway.errors import GatewayError, InvalidRequest, NoDeploymentAvailable, NotFound
from gateway.ledger.keys import budget_limit, check_rate
from gateway.ledger.tables import PERIODS


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _ledger(request: Request) -> GatewayContext:
    ctx: GatewayContext = request.app.state.ctx
    require_admin(request, ctx.settings.admin_key, ctx.settings.master_key)
    if ctx.engine is None:
        raise NoDeploymentAvailable("the ledger is disabled (GATEWAY_LEDGER=off); keys and budgets need it",
                                    code="ledger_disabled")
    return ctx


class LedgerUnavailable(GatewayError):
    status_code = 503
    error_type = "api_error"
    default_code = "ledger_unavailable"


@asynccontextmanager
async def _database() -> AsyncIterator[None]:
    """Admin work on the ledger database: an outage is a 503 to retry, not a 500."""
    try:
        yield
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise LedgerUnavailable(f"the ledger database is unavailable ({type(exc).__name__}); retry shortly",
                                headers={"retry-after": "5"}) from None


def _name(value: Any, field: str, limit: int, required: bool) -> str | None:
    """A team, key name or id as the ledger stores it: text of 1..limit printable characters."""
    if value is None and not required:
        return None
    if (not isinstance(value, str) or not value.strip() or len(value) > limit
            or any(not ch.isprintable() for ch in value)):
        raise InvalidRequest(f"'{field}' must be text of 1 to {limit} printable characters", param=field)
    return value


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    try:
        check_rate(value)
    except ValueError as exc:
        raise InvalidRequest(f"'{name}' {exc}", param=name) from None
    return value


def _usd(value: Any, name: str) -> Decimal:
    try:
        return budget_limit(value)
    except ValueError as exc:
        raise InvalidRequest(f"'{name}' {exc}", param=name) from None


def _period(body: dict[str, Any]) -> str:
    """The budget period (month when absent)."""
    period = body.get("period", "month")
    if period not in PERIODS:
        raise InvalidRequest(f"'period' must be one of {', '.join(PERIODS)}", param="period")
    return period


def _soft_fraction(body: dict[str, Any]) -> float | None:
    """The soft-limit fraction of the budget, in (0, 1], or None."""
    value = body.get("soft_fraction")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidRequest("'soft_fraction' must be a number in (0, 1]: the share of the budget after which "
                             "substitute-able requests take the cheapest route", param="soft_fraction")
    return float(value)


async def create_key_endpoint(request: Request) -> Response:
    """POST /admin/keys {team, name?, rpm?, tpm?, budget_usd?, period?}: the key is shown once."""
    from gateway.ledger import create_key, set_budget

    ctx = _ledger(request)
    body = await _body(request)
    if body.get("team") is None:
        raise InvalidRequest("'team' is required: the team whose policy constraints apply", param="team")
    team = _name(body.get("team"), "team", 128, required=True)
    name = _name(body.get("name"), "name", 256, required=False)
    # Everything is validated before the key exists: a bad budget must not leave a key without one.
    rpm, tpm = _positive_int(body, "rpm"), _positive_int(body, "tpm")
    budget = None if body.get("budget_usd") is None else _usd(body["budget_usd"], "budget_usd")
    period, soft_fraction = _period(body), _soft_fraction(body)
    async with _database():
        plaintext, row = await create_key(ctx.engine, team, name, rpm, tpm)
        if budget is not None:
            await set_budget(ctx.engine, "key", row.id, budget, period, soft_fraction)
            await ctx.keys.refresh()
    ctx.keys.add(row)
    return _json({"id": row.id, "key": plaintext, "team": team, "name": row.name, "rpm": row.rpm, "tpm": row.tpm,
                  "note": "store this key now: the gateway keeps only its hash"}, 201)


async def list_keys_endpoint(request: Request) -> Response:
    """GET /admin/keys: active keys (prefix only, never the key)."""
    from gateway.ledger import load_keys

    ctx = _ledger(request)
    async with _database():
        rows = await load_keys(ctx.engine)
    return _json({"data": [{"id": r.id, "prefix": r.key_prefix, "team": r.team, "name": r.name, "rpm": r.rpm,
                            "tpm": r.tpm, "created_at": r.created_at.isoformat()} for r in rows]})


async def revoke_key_endpoint(request: Request) -> Response:
    """DELETE /admin/keys/{id}."""
    from gateway.ledger import revoke_key

    ctx = _ledger(request)
    key_id = request.path_params["key_id"]
    if len(key_id) > 128 or any(not ch.isprintable() for ch in key_id):
        raise NotFound("no active key with that id")
    async with _database():
        revoked = await revoke_key(ctx.engine, key_id)
    if not revoked:
        raise NotFound(f"no active key with id {key_id!r}")
    ctx.keys.remove(key_id)
    return _json({"id": key_id, "revoked": True})


async def set_budget_endpoint(request: Request) -> Response:
    """PUT /admin/budgets {scope: key|team, scope_id, limit_usd, period, soft_fraction?}."""
    from gateway.ledger import set_budget

    ctx = _ledger(request)
    body = await _body(request)
    limit, period, soft_fraction = _usd(body.get("limit_usd"), "limit_usd"), _period(body), _soft_fraction(body)
    scope_id = _name(body.get("scope_id"), "scope_id", 128, required=True)
    try:
        async with _database():
            await set_budget(ctx.engine, body.get("scope"), scope_id, limit, period, soft_fraction)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    await ctx.keys.refresh()
    return _json({"ok": True})


async def spend_endpoint(request: Request) -> Response:
    """GET /admin/spend?by=team|key|model|category|day&since=7d."""
    from gateway.ledger import parse_since, spend_report

    ctx = _ledger(request)
    by = request.query_params.get("by", "team")
    if by not in ("team", "key", "model", "category", "day"):
        raise InvalidRequest("'by' must be one of team, key, model, category, day", param="by")
    try:
        since = parse_since(request.query_params.get("since", "7d"))
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="since") from None
    async with _database():
        rows = await spend_report(ctx.engine, by, since)
    return _json({"by": by, "data": [{
        "group": r.key, "requests": r.requests, "input_tokens": r.input_tokens,
        "cached_input_tokens": r.cached_input_tokens, "cache_write_tokens": r.cache_write_tokens,
        "output_tokens": r.output_tokens, "cost_usd": money(r.cost_usd), "baseline_usd": money(r.baseline_usd),
        "saved_usd": money(r.saved_usd), "cache_savings_usd": money(r.cache_savings_usd),
        "cache_share": float(r.cache_share) if r.cache_share is not None else None} for r in rows]})


def routes() -> list[Route]:
    """The admin routes."""
    return [
        Route("/admin/keys", create_key_endpoint, methods=["POST"]),
        Route("/admin/keys", list_keys_endpoint, methods=["GET"]),
        Route("/admin/keys/{key_id}", revoke_key_endpoint, methods=["DELETE"]),
        Route("/admin/budgets", set_budget_endpoint, methods=["PUT"]),
        Route("/admin/spend", spend_endpoint, methods=["GET"]),
    ]
