"""Relaying an upstream stream to the client, chunk by chunk, holding tool calls until valid."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

from gateway.accounting import settle
from gateway.budgets import Reservation
from gateway.catalogue import Deployment
from gateway.context import GatewayContext
from gateway.dispatch import Charge, DispatchLog
from gateway.errors import ClientDisconnected, GatewayError, ServerShuttingDown, internal_error
from gateway.plan import RoutePlan
from gateway.providers.base import ChunkStream
from gateway.records import RequestRecord
from gateway.toolcalls import (
    UNCHECKED_FINISHES,
    ToolCallAssembler,
    answer_problems,
    needs_validation,
    tool_call_chunks,
)
from gateway.usage import call_chars, estimated_usage
from gateway.wire import SSE_DONE, sse_data, wants_usage_chunk

log = logging.getLogger("gateway.streaming")


@dataclass(slots=True)
class StreamJob:
    """Everything the relay needs about one streamed request."""

    ctx: GatewayContext
    body: dict[str, Any]
    plan: RoutePlan
    escalation: RoutePlan | None
    record: RequestRecord
    dispatch_log: DispatchLog
    started: float
    reservation: Reservation | None = None
    client_gone: Callable[[], bool] = lambda: True  # after a cancellation: was it the client leaving?


async def relay(job: StreamJob, stream: ChunkStream, deployment: Deployment) -> AsyncIterator[bytes]:
    """Forward chunks as they arrive; tool calls (and json_schema content) are held until valid.

    A checked answer is checked once, when the stream has ended: its finish chunk (and what follows
    it, the usage) is held until then, so that the upstream's usage is known before a repair, and an
    answer ended by [DONE] without a finish_reason is checked too.

    The last piece is always SSE_DONE (after an answer or an error event); the request is settled
    when the relay ends, right after it.
    """
    record, body = job.record, job.body
    client_wants_usage = wants_usage_chunk(body)
    validate = needs_validation(body)
    hold_content = validate and (body.get("response_format") or {}).get("type") == "json_schema"
    assembler = ToolCallAssembler()
    held_content: list[str] = []
    held_logprobs: list[Any] = []  # the token logprobs of the held content, which go out with it
    refusal: list[str] = []
    finish: dict[str, Any] | None = None  # a checked answer's finish chunk, held until the stream ends
    after_finish: list[dict[str, Any]] = []  # the chunks after it, held with it
    streamed_chars = 0
    finished = False
    # Pieces made from chunks that arrived together go out in one write; nothing is held while the
    # stream waits on the network (stream.buffered) or while a repair calls the upstream.
    out: list[bytes] = []
    chunk: dict[str, Any] = {}
    try:
        async for chunk in stream:
            if record.ttft_ms is None:
                record.ttft_ms = (time.perf_counter() - job.started) * 1000
            chunk["model"] = deployment.model
            send = True
            # (An empty usage object reports nothing: the estimate goes out in its place at the end.)
            if "usage" in chunk and (not client_wants_usage or chunk["usage"] == {}):
                if chunk.get("choices"):
                    del chunk["usage"]
                else:
                    send = False
            choices = chunk.get("choices") or ()
            for choice in choices:
                delta = choice.get("delta") or {}
                streamed_chars += len(delta.get("content") or "")
                reasoning = delta.get("reasoning_content")  # thinking is billed as output too
                streamed_chars += len(reasoning) if isinstance(reasoning, str) else 0
                calls = delta.get("tool_calls")
                if calls:
                    streamed_chars += call_chars(calls)
                    if validate:
                        assembler.add(delta.pop("tool_calls"))
                if hold_content and delta.get("content"):
                    held_content.append(delta.pop("content"))
                    logprobs = choice.get("logprobs")
                    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
                        held_logprobs += logprobs["content"]
                        choice["logprobs"] = None  # (a finish chunk that carried them goes out without)
                if validate and delta.get("refusal"):
                    refusal.append(delta["refusal"])  # streamed as it comes: a refusal is an answer
            if validate and (finish is not None or (choices and choices[0].get("finish_reason"))):
                if finish is None:
                    finish = chunk
                elif send:
                    after_finish.append(chunk)
            elif send and not (validate and choices and not any(c.get("delta") or c.get("finish_reason")
                                                                   for c in choices)):
                out.append(sse_data(chunk))  # (a chunk whose every part is being held is not)
            if out and not stream.buffered:
                yield _joined(out)
        if validate and (finish is not None or assembler.calls or held_content):
            if out:
                yield _joined(out)
            out += await _checked_answer(job, deployment, assembler, Held(held_content, held_logprobs, refusal),
                                         finish or chunk, finish, after_finish)
        if client_wants_usage and stream.usage is None:
            # The upstream never reported usage: the client that asked for it gets what the request is billed.
            template = {key: value for key, value in chunk.items() if key not in ("choices", "usage")}
            out.append(sse_data({**template, "choices": [],
                                 "usage": estimated_usage(body, streamed_chars).to_openai()}))
        finished = True
        if out:
            yield _joined(out)
        yield SSE_DONE
    except Exception as caught:
        # An upstream failure, or a bug met after the 200 went out: either way the client gets an
        # error event and the end of the stream (not a cut connection), and the request is settled below.
        error = caught if isinstance(caught, GatewayError) else internal_error()
        if error is not caught:
            log.exception("stream relay failed for request %s", record.request_id)
        record.status, record.error_code = error.status_code, error.code
        if out:  # what arrived before the failure still goes out first
            yield _joined(out)
        yield sse_data(error.body())
        yield SSE_DONE
    finally:
        if not finished and record.status == 200:
            # Neither an upstream error nor a bug: the client left, or the server is stopping.
            ended = ClientDisconnected if job.client_gone() else ServerShuttingDown
            record.status, record.error_code = ended.status_code, ended.default_code
        await stream.aclose()
        usage = stream.usage
        if usage is None:
            # The stream ended before the upstream reported usage (client gone, upstream cut):
            # bill what was produced, estimated from the text, rather than nothing.
            usage = estimated_usage(body, streamed_chars)
            record.error_code = record.error_code or "usage_estimated"
        elif not finished:
            # Usage reported early (Anthropic's message_start) undercounts a stream cut later.
            usage = replace(usage, output=max(usage.output, (streamed_chars + 3) // 4))
        job.dispatch_log.charges.insert(0, Charge(deployment, usage))
        job.dispatch_log.charge_cut_call(body)  # a repair cut off by the client leaving
        settle(job.ctx, record, job.dispatch_log, job.started, job.reservation)


@dataclass(frozen=True, slots=True)
class Held:
    """What a checked stream held of its answer besides tool calls: json_schema content, with the token logprobs
    the upstream sent for it, and refusal text (which streamed as it came)."""

    content: list[str]
    logprobs: list[Any]
    refusal: list[str]


async def _checked_answer(job: StreamJob, deployment: Deployment, assembler: ToolCallAssembler, held: Held,
                          last: dict[str, Any], finish: dict[str, Any] | None,
                          after_finish: list[dict[str, Any]]) -> list[bytes]:
    """The held end of a checked answer: its calls or content (repaired first if invalid), the finish chunk
    (one is made when the upstream sent none) and the chunks that followed it."""
    template = {k: v for k, v in last.items() if k not in ("choices", "usage")}
    upstream_finish = finish["choices"][0].get("finish_reason") if finish is not None else None
    pieces, finish_reason = await _validated(job, deployment, assembler, held, template, upstream_finish)
    if finish is None:
        finish = {**template, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason or "stop"}]}
    elif finish_reason:
        # The finish chunk, and any later one that repeats the choice's finish_reason, end the same way.
        for chunk in (finish, *after_finish):
            for choice in chunk.get("choices") or ():
                if choice.get("finish_reason"):
                    choice["finish_reason"] = finish_reason
    return [*map(sse_data, pieces), sse_data(finish), *map(sse_data, after_finish)]


def _joined(out: list[bytes]) -> bytes:
    """The pieces as one write, emptying the list."""
    joined = out[0] if len(out) == 1 else b"".join(out)
    out.clear()
    return joined


async def _validated(job: StreamJob, deployment: Deployment, assembler: ToolCallAssembler, held: Held,
                     template: dict[str, Any], upstream_finish: str | None) -> tuple[list[dict], str | None]:
    """The held pieces of the answer as chunks, repaired first if they fail validation, and the
    finish_reason they end with (None: keep the upstream's)."""
    held_content = held.content
    message = assembler.message("".join(held_content) if held_content else None)
    if held.refusal:
        message["refusal"] = "".join(held.refusal)
    problems = answer_problems(message, job.body, upstream_finish)
    finish_reason = None
    logprobs: Any = {"content": held.logprobs, "refusal": None} if held.logprobs else None
    if problems:
        completion, _ = await job.ctx.dispatcher.repair(job.body, message, problems, deployment, job.plan,
                                                        job.escalation, job.dispatch_log)
        choice = completion.body["choices"][0]
        message, finish_reason = choice["message"], choice.get("finish_reason") or "stop"
        logprobs = choice.get("logprobs")
    calls = message.get("tool_calls") or []
    chunks = tool_call_chunks(template, calls)
    # Held content is the answer (json_schema); a repair that answers in text instead of a tool call
    # replaces the held calls with that text. Otherwise the text already streamed live.
    if message.get("content") and (held_content or (problems and not calls)):
        content_choice: dict[str, Any] = {"index": 0, "delta": {"content": message["content"]}, "finish_reason": None}
        if logprobs:
            content_choice["logprobs"] = logprobs
        chunks.insert(0, {**template, "choices": [content_choice]})
    # The answer's own finish_reason (the repair's, if there was one) decides; a cut answer keeps its reason.
    if calls and (finish_reason if problems else upstream_finish) not in UNCHECKED_FINISHES:
        finish_reason = "tool_calls"
    elif finish_reason == "tool_calls":
        finish_reason = "stop"
    return chunks, finish_reason
