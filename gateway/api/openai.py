"""The OpenAI-compatible surface: /v1/chat/completions and /v1/models."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway import dispatch, routing
from gateway.auth import authenticate
from gateway.context import GatewayContext
from gateway.errors import GatewayError, ModelNotFound, PayloadTooLarge
from gateway.pricing import request_cost
from gateway.providers.base import ChunkStream
from gateway.providers.simulated import estimate_tokens
from gateway.records import RequestRecord
from gateway.usage import Usage
from gateway.wire import SSE_DONE, parse_chat_request, sse_data, wants_usage_chunk

log = logging.getLogger("gateway.api")
COST_QUANTUM = Decimal("1e-10")


def money(value: Decimal) -> str:
    """USD as a fixed-point string for headers and JSON."""
    return format(value.quantize(COST_QUANTUM), "f")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit} (GATEWAY_MAX_BODY_BYTES)")
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes (GATEWAY_MAX_BODY_BYTES)")
        parts.append(part)
    return b"".join(parts)


def _record(ctx: GatewayContext, record: RequestRecord) -> None:
    for recorder in ctx.recorders:
        try:
            recorder.record(record)
        except Exception:  # accounting must never break a response
            log.exception("recorder %s failed for request %s", type(recorder).__name__, record.request_id)


def _finish(ctx: GatewayContext, record: RequestRecord, deployment: Any, usage: Usage, started: float) -> None:
    cost = request_cost(usage, deployment, ctx.catalogue.baseline(), record.started_at)
    record.usage = usage
    record.cost_usd = cost.usd
    record.baseline_usd = cost.baseline_usd
    record.cache_savings_usd = cost.cache_savings_usd
    record.latency_ms = (time.perf_counter() - started) * 1000
    _record(ctx, record)


def _prompt_estimate(body: dict[str, Any]) -> int:
    return estimate_tokens(orjson.dumps(body.get("messages") or []).decode())


async def chat_completions(request: Request) -> Response:
    """POST /v1/chat/completions: route, call upstream, price, answer (streaming or not)."""
    ctx: GatewayContext = request.app.state.ctx
    started = time.perf_counter()
    request_id = "req_" + secrets.token_hex(12)
    caller = authenticate(request, ctx.settings.master_key)
    raw = await read_body(request, ctx.settings.max_body_bytes)
    body = parse_chat_request(raw)
    routed = await routing.route(ctx, request.headers, caller, body, len(raw))
    plan = routed.plan
    record = RequestRecord(
        request_id=request_id, started_at=datetime.now(UTC), key_id=caller.key_id, team=caller.team,
        requested_model=body["model"], stream=bool(body.get("stream")), model=plan.model.name,
        category=routed.classification.category, confidence=routed.classification.confidence,
        verdict=plan.verdict,
    )
    dispatch_log = dispatch.DispatchLog()
    headers = {"x-gateway-request-id": request_id, "x-gateway-model": plan.model.name,
               "x-gateway-category": routed.classification.category, "x-gateway-verdict": plan.verdict}
    if body.get("stream"):
        return await _stream(ctx, body, routed, record, dispatch_log, headers, started)
    try:
        completion, deployment = await dispatch.complete(plan, ctx.providers, body, dispatch_log)
    except GatewayError as exc:
        _failed(ctx, record, dispatch_log, exc, started)
        exc.headers.update(headers)
        raise
    _started_on(record, deployment, dispatch_log, headers)
    completion.body["model"] = deployment.model
    _finish(ctx, record, deployment, completion.usage, started)
    await routing.remember(ctx, routed, deployment.model)
    headers["x-gateway-cost-usd"] = money(record.cost_usd)
    headers["x-gateway-baseline-cost-usd"] = money(record.baseline_usd)
    return Response(orjson.dumps(completion.body), media_type="application/json", headers=headers)


def _failed(ctx: GatewayContext, record: RequestRecord, dispatch_log: dispatch.DispatchLog, exc: GatewayError,
            started: float) -> None:
    record.status, record.error_code = exc.status_code, exc.code
    record.attempts, record.fallbacks = len(dispatch_log.tried), dispatch_log.fallbacks
    record.latency_ms = (time.perf_counter() - started) * 1000
    _record(ctx, record)


def _started_on(record: RequestRecord, deployment: Any, dispatch_log: dispatch.DispatchLog,
                headers: dict[str, str]) -> None:
    record.model, record.deployment, record.provider = deployment.model, deployment.name, deployment.provider
    record.attempts, record.fallbacks = len(dispatch_log.tried), dispatch_log.fallbacks
    headers["x-gateway-model"] = deployment.model
    headers["x-gateway-deployment"] = deployment.name
    headers["x-gateway-attempts"] = str(record.attempts)


async def _stream(ctx: GatewayContext, body: dict[str, Any], routed: routing.RoutingResult, record: RequestRecord,
                  dispatch_log: dispatch.DispatchLog, headers: dict[str, str], started: float) -> Response:
    client_wants_usage = wants_usage_chunk(body)
    # Usage is always requested upstream so the stream can be priced; the client only sees
    # the usage chunk if it asked for it.
    upstream_body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
    try:
        stream, deployment = await dispatch.open_stream(routed.plan, ctx.providers, upstream_body, dispatch_log)
    except GatewayError as exc:
        _failed(ctx, record, dispatch_log, exc, started)
        exc.headers.update(headers)
        raise
    _started_on(record, deployment, dispatch_log, headers)
    await routing.remember(ctx, routed, deployment.model)
    events = _relay(ctx, stream, deployment, record, body, client_wants_usage, started)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"})


async def _relay(ctx: GatewayContext, stream: ChunkStream, deployment: Any, record: RequestRecord,
                 body: dict[str, Any], client_wants_usage: bool, started: float) -> AsyncIterator[bytes]:
    """Forward each upstream chunk as it arrives; account for the stream however it ends."""
    model_name = record.model
    streamed_chars = 0
    try:
        async for chunk in stream:
            if record.ttft_ms is None:
                record.ttft_ms = (time.perf_counter() - started) * 1000
            chunk["model"] = model_name
            if "usage" in chunk and not client_wants_usage:
                if not chunk.get("choices"):
                    continue
                del chunk["usage"]
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                streamed_chars += len(delta.get("content") or "")
                for call in delta.get("tool_calls") or ():
                    streamed_chars += len((call.get("function") or {}).get("arguments") or "")
            yield sse_data(chunk)
        yield SSE_DONE
    except GatewayError as exc:
        record.status, record.error_code = exc.status_code, exc.code
        yield sse_data(exc.body())
        yield SSE_DONE
    finally:
        await stream.aclose()
        usage = stream.usage
        if usage is None:
            # The stream ended before the upstream reported usage (client gone, upstream cut):
            # bill what was produced, estimated from the text, rather than nothing.
            usage = Usage(input=_prompt_estimate(body), output=(streamed_chars + 3) // 4)
            record.error_code = record.error_code or "usage_estimated"
        _finish(ctx, record, deployment, usage, started)


async def list_models(request: Request) -> Response:
    """GET /v1/models: catalogue models and aliases."""
    ctx: GatewayContext = request.app.state.ctx
    authenticate(request, ctx.settings.master_key)
    data = [_model_entry(ctx, name) for name in [*ctx.catalogue.models, *ctx.catalogue.aliases]]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


async def get_model(request: Request) -> Response:
    """GET /v1/models/{model}: one model or alias."""
    ctx: GatewayContext = request.app.state.ctx
    authenticate(request, ctx.settings.master_key)
    name = request.path_params["model"]
    if ctx.catalogue.resolve(name) is None:
        raise ModelNotFound(f"The model {name!r} does not exist.", param="model")
    return Response(orjson.dumps(_model_entry(ctx, name)), media_type="application/json")


def _model_entry(ctx: GatewayContext, name: str) -> dict[str, Any]:
    model = ctx.catalogue.resolve(name)
    assert model is not None
    entry: dict[str, Any] = {"id": name, "object": "model", "created": 0,
                             "owned_by": model.deployments[0].operator if model.deployments else "gateway"}
    if name in ctx.catalogue.aliases:
        entry["alias_for"] = model.name
    return entry
