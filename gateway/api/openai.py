"""The OpenAI-compatible surface: /v1/chat/completions and /v1/models."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway import routing
from gateway.accounting import money, settle
from gateway.api.sse import EventStreamResponse
from gateway.api.watch import ClientWatch
from gateway.auth import authenticate
from gateway.catalogue import Deployment
from gateway.context import GatewayContext
from gateway.dispatch import DispatchLog
from gateway.errors import (
    ClientDisconnected,
    GatewayError,
    ModelNotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    internal_error,
    server_shutting_down,
)
from gateway.records import RequestRecord, new_request_id
from gateway.streaming import StreamJob, relay
from gateway.toolcalls import needs_validation
from gateway.usage import prompt_bytes
from gateway.wire import input_kinds, parse_chat_request


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    encoding = request.headers.get("content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        raise UnsupportedMediaType(f"request bodies sent with Content-Encoding {encoding!r} are not accepted; send "
                                   "the JSON uncompressed")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit} (GATEWAY_MAX_BODY_BYTES)")
    parts: list[bytes] = []
    size = 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes (GATEWAY_MAX_BODY_BYTES)")
            parts.append(part)
    except ClientDisconnect:  # gone before its body arrived: nothing was routed or sent upstream
        raise ClientDisconnected("the client closed the connection before sending the whole body") from None
    return b"".join(parts)


def _refused(ctx: GatewayContext, request_id: str, key_id: str, team: str | None, body: dict[str, Any],
             exc: GatewayError, started: float) -> None:
    """Record a request that routing refused: a ledger row and its metrics, at no cost (no upstream call), so
    that an outage in which every route is unavailable shows in the error rate instead of in silence."""
    record = RequestRecord(request_id=request_id, started_at=datetime.now(UTC), key_id=key_id, team=team,
                           requested_model=body["model"], stream=bool(body.get("stream")),
                           status=exc.status_code, error_code=exc.code)
    settle(ctx, record, DispatchLog(), started)
    exc.headers["x-gateway-request-id"] = exc.headers["x-request-id"] = request_id


def _cancellation_undone(watch: ClientWatch) -> bool:
    """After a CancelledError: undo the cancellation when it came from the client leaving or from the server
    stopping (uvicorn cancels the requests still running after its shutdown grace), so that the request
    ends with an answer instead (a 499 nobody reads, or a 503); False when the task is still being cancelled."""
    if watch.absorb():
        return True
    task = asyncio.current_task()
    return task is not None and task.uncancel() == 0


def _ended_early(record: RequestRecord, error: GatewayError) -> None:
    """A stream the gateway ended (its time budget spent, the server stopping) is recorded with why, unless it
    was already ending with an error."""
    if record.status == 200:
        record.status, record.error_code = error.status_code, error.code


def _served_by(record: RequestRecord, deployment: Deployment, headers: dict[str, str]) -> None:
    record.model, record.deployment, record.provider = deployment.model, deployment.name, deployment.provider
    headers["x-gateway-model"] = deployment.model
    headers["x-gateway-deployment"] = deployment.name


async def chat_completions(request: Request) -> Response:
    """POST /v1/chat/completions: route, call upstream, validate, price, answer (streaming or not)."""
    ctx: GatewayContext = request.app.state.ctx
    started = time.perf_counter()
    request_id = new_request_id()
    caller = authenticate(request, ctx.settings.master_key, ctx.keys)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    body = parse_chat_request(raw)
    inputs = input_kinds(body, raw)
    size = prompt_bytes(body, len(raw)) if "image" in inputs else len(raw)
    admission = await ctx.guard.admit(caller, size // 4)
    try:
        routed = await routing.route(ctx, request.headers, caller, body, size, admission.soft_limited, inputs)
    except GatewayError as exc:  # no model may serve it (unknown, too long, refused, all unavailable)
        _refused(ctx, request_id, caller.key_id, caller.team, body, exc, started)
        raise
    plan = routed.plan
    escalation = routing.escalation_plan(ctx, routed) if needs_validation(body) else None
    reservation = await ctx.guard.reserve(caller, routing.estimated_cost(plan))
    record = RequestRecord(
        request_id=request_id, started_at=datetime.now(UTC), key_id=caller.key_id, team=caller.team,
        requested_model=body["model"], stream=bool(body.get("stream")), model=plan.model.name,
        category=routed.classification.category, confidence=routed.classification.confidence,
        verdict=plan.verdict,
    )
    dispatch_log = DispatchLog(caller=caller.key_id)
    headers = {"x-gateway-request-id": request_id, "x-request-id": request_id, "x-gateway-model": plan.model.name,
               "x-gateway-category": routed.classification.category, "x-gateway-verdict": plan.verdict}
    watch = ClientWatch(request.receive)  # the body is read: from here a disconnect cancels the upstream call
    try:
        if body.get("stream"):
            # Usage is always requested upstream so the stream can be priced; the client only
            # sees the usage chunk if it asked for it.
            options = {**(body.get("stream_options") or {}), "include_usage": True}
            stream, deployment = await ctx.dispatcher.open_stream(plan, {**body, "stream_options": options},
                                                                  dispatch_log)
        else:
            completion, deployment = await ctx.dispatcher.complete_valid(plan, body, escalation, dispatch_log)
    except GatewayError as exc:
        watch.stop()
        record.status, record.error_code = exc.status_code, exc.code
        settle(ctx, record, dispatch_log, started, reservation)
        if exc.status_code >= 500:  # the operator's configuration is no business of a client's own 4xx
            exc.message += routing.unavailable_hint(plan, ctx.catalogue, lambda d: routing.unavailable(ctx, d))
        if exc.status_code in (502, 504):
            # The gateway already retried and failed over: the SDK retrying the whole request would multiply
            # the upstream calls (and the wait) by its max_retries + 1.
            exc.headers["x-should-retry"] = "false"
        exc.headers.update(headers)
        exc.headers["x-gateway-attempts"] = str(len(dispatch_log.tried))
        raise
    except BaseException as exc:
        # Client gone (or the server stopping) mid-call, or a bug: the upstream may bill what it
        # was sent, so the request is still priced, recorded and its reservation settled.
        watch.stop()
        cancelled = isinstance(exc, asyncio.CancelledError)
        ended: GatewayError = internal_error()
        if cancelled:
            ended = ClientDisconnected("the client closed the connection before the answer was ready") \
                if watch.gone else server_shutting_down()  # cancelled, not by the client: the server is stopping
        record.status, record.error_code = ended.status_code, ended.code
        dispatch_log.charge_cut_call(body)
        settle(ctx, record, dispatch_log, started, reservation)
        if cancelled and _cancellation_undone(watch):
            ended.headers.update(headers)
            raise ended from None  # the client's 499 (nobody reads it), or the 503 a stopping server answers
        raise
    _served_by(record, deployment, headers)
    if body.get("stream"):
        headers["x-gateway-attempts"] = str(len(dispatch_log.tried))
        job = StreamJob(ctx, body, plan, escalation, record, dispatch_log, started, reservation,
                        client_gone=lambda: watch.gone)
        events = relay(job, stream, deployment)
        # Start the relay before handing it over: a started generator that is dropped (client gone
        # before the response began) is still closed by the event loop, so its `finally` always
        # releases the upstream connection and settles the accounting.
        try:
            first = await anext(events)
        except asyncio.CancelledError:
            watch.stop()
            gone = watch.gone
            if _cancellation_undone(watch):  # the relay's `finally` has settled the request
                ended = ClientDisconnected("the client closed the connection before the stream began") if gone \
                    else server_shutting_down()
                ended.headers.update(headers)
                raise ended from None
            raise
        await routing.remember(ctx, routed, deployment.model)
        return EventStreamResponse(first, events, watch,
                                   headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"},
                                   deadline=dispatch_log.deadline, on_end=lambda error: _ended_early(record, error))
    watch.stop()
    await routing.remember(ctx, routed, deployment.model)
    completion.body["model"] = deployment.model
    if dispatch_log.usage_estimated:
        record.error_code = record.error_code or "usage_estimated"
    settle(ctx, record, dispatch_log, started, reservation)
    headers["x-gateway-attempts"] = str(record.attempts)
    headers["x-gateway-tool-repairs"] = str(record.tool_repairs)
    headers["x-gateway-cost-usd"] = money(record.cost_usd)
    headers["x-gateway-baseline-cost-usd"] = money(record.baseline_usd)
    return Response(orjson.dumps(completion.body), media_type="application/json", headers=headers)


async def list_models(request: Request) -> Response:
    """GET /v1/models: catalogue models and aliases."""
    ctx: GatewayContext = request.app.state.ctx
    authenticate(request, ctx.settings.master_key, ctx.keys)
    names = [routing.ROUTING_ALIAS, *ctx.catalogue.models, *ctx.catalogue.aliases]
    data = [_model_entry(ctx, name) for name in dict.fromkeys(names)]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


async def get_model(request: Request) -> Response:
    """GET /v1/models/{model}: one model or alias."""
    ctx: GatewayContext = request.app.state.ctx
    authenticate(request, ctx.settings.master_key, ctx.keys)
    name = request.path_params["model"]
    if name != routing.ROUTING_ALIAS and ctx.catalogue.resolve(name) is None:
        raise ModelNotFound(f"The model {name!r} does not exist.", param="model")
    return Response(orjson.dumps(_model_entry(ctx, name)), media_type="application/json")


def _model_entry(ctx: GatewayContext, name: str) -> dict[str, Any]:
    if name == routing.ROUTING_ALIAS:
        return {"id": name, "object": "model", "created": 0, "owned_by": "gateway",
                "description": "routes each request by task category (policies/routing.yaml)"}
    model = ctx.catalogue.resolve(name)
    assert model is not None
    entry: dict[str, Any] = {"id": name, "object": "model", "created": 0,
                             "owned_by": model.deployments[0].operator if model.deployments else "gateway"}
    if name in ctx.catalogue.aliases:
        entry["alias_for"] = model.name
    return entry
