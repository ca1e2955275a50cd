"""Executes a RoutePlan: per-attempt timeouts, jittered retries honouring Retry-After, fallbacks,
circuit breakers, and tool-call / json_schema validation with repair and escalation."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.breakers import CircuitBreakers
from gateway.catalogue import Deployment
from gateway.errors import (
    ConnectTimeout,
    GatewayError,
    InvalidRequest,
    MalformedAnswer,
    NoDeploymentAvailable,
    PayloadTooLarge,
    RateLimited,
    UnsupportedByDeployment,
    UpstreamError,
    UpstreamTimeout,
    is_upstream_failure,
)
from gateway.plan import Attempt, RoutePlan
from gateway.providers.base import ChunkStream, Completion, Provider
from gateway.settings import Settings
from gateway.toolcalls import answer_problems, needs_validation, non_streaming, repair_request
from gateway.usage import Usage, answer_chars, estimated_usage

log = logging.getLogger("gateway.dispatch")

# Failures that say something about the request, not the upstream: another try or another
# deployment would refuse it the same way.
FINAL_ERRORS = (InvalidRequest, PayloadTooLarge)


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """How hard to try one deployment before falling back to the next."""

    retries: int = 2
    base_delay_s: float = 0.25
    max_delay_s: float = 2.0
    total_timeout_s: float = 600.0  # the whole request: every attempt, backoff, fallback and repair

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrySettings:
        """The retry settings configured by GATEWAY_RETRY_* variables."""
        return cls(settings.retries, settings.retry_base_s, settings.retry_max_s, settings.total_timeout_s)


@dataclass(frozen=True, slots=True)
class Charge:
    """Usage billed by one upstream call made for a request (repairs and escalations included)."""

    deployment: Deployment
    usage: Usage


@dataclass(slots=True)
class DispatchLog:
    """What happened while executing a plan (for headers, the ledger and metrics)."""

    tried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    repairs: int = 0
    charges: list[Charge] = field(default_factory=list)
    deadline: float | None = None  # event-loop time the request's budget runs out; set on first dispatch
    # The deployment of an upstream call under way: set while it runs, left set when it is cut off
    # (cancelled, or a bug), so that the request is charged an estimate of the prompt it sent.
    in_flight: Deployment | None = None
    usage_estimated: bool = False  # an answer came without usage and was charged an estimate
    caller: str = ""  # whose request (the API key's id): the scope of what providers remember of its tool calls

    def charge_failed_call(self, body: Mapping[str, Any], exc: GatewayError) -> None:
        """Charge a failed upstream call the upstream may bill: the usage it reported before failing, else an
        estimate when it answered unusably or was working on the prompt (a timeout after the request was sent)."""
        if self.in_flight is None:
            return
        if exc.billed is not None:
            self.charges.append(Charge(self.in_flight, exc.billed))
            self.in_flight = None
        elif isinstance(exc, MalformedAnswer):
            self.charge_cut_call(body, exc.produced_chars)
        elif isinstance(exc, UpstreamTimeout) and not isinstance(exc, ConnectTimeout):
            self.charge_cut_call(body)

    def charge_cut_call(self, body: Mapping[str, Any], produced_chars: int = 0) -> None:
        """Charge the upstream call that was cut off (or whose answer was unusable), if one was, an estimate of
        the prompt it was sent (and of what it produced): the upstream may bill it, so the ledger errs towards
        billing rather than losing a call."""
        if self.in_flight is not None:
            self.charges.append(Charge(self.in_flight, estimated_usage(body, produced_chars)))
            self.in_flight = None

    @property
    def fallbacks(self) -> int:
        """How many distinct deployments after the first were used."""
        return max(len(dict.fromkeys(self.tried)) - 1, 0)


def is_available(deployment: Deployment, settings: Settings) -> bool:
    """A deployment can be called when its key is configured (or it needs none)."""
    return not deployment.key_required or settings.secret(deployment.api_key_env) is not None


def _retry_after(exc: GatewayError) -> float | None:
    value = exc.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _retryable(exc: GatewayError) -> bool:
    return isinstance(exc, RateLimited) or is_upstream_failure(exc)


def _finished_with_tool_calls(completion: Completion) -> None:
    """An answer that calls tools ends with finish_reason "tool_calls", as OpenAI's do and as the relay makes a
    checked stream's end (an upstream may say "stop": Gemini's OpenAI endpoint is reported to)."""
    choice = completion.body["choices"][0]
    if choice.get("finish_reason") == "stop" and (choice.get("message") or {}).get("tool_calls"):
        choice["finish_reason"] = "tool_calls"


def _checked(completion: Completion, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[str]]:
    """The first choice's message and its validation problems (an answer without choices has one)."""
    if not completion.body.get("choices"):
        return {}, ["the answer has no choices"]
    choice = completion.body["choices"][0]
    message = choice.get("message") or {}
    return message, answer_problems(message, body, choice.get("finish_reason"))


class StartedStream:
    """An upstream stream whose first chunk has arrived: yields that chunk again, then the rest.

    The request's deadline holds it from here through one timer (api/sse.EventStreamResponse), which
    ends the stream wherever it waits; a hang also ends at the upstream read timeout.
    """

    __slots__ = ("_stream", "_chunks", "_first")

    def __init__(self, stream: ChunkStream, chunks: AsyncIterator[dict[str, Any]], first: dict[str, Any]) -> None:
        self._stream = stream
        self._chunks = chunks
        self._first: dict[str, Any] | None = first

    @property
    def usage(self) -> Usage | None:
        """The upstream stream's usage so far."""
        return self._stream.usage

    @property
    def buffered(self) -> bool:
        """Whether the next chunk comes without waiting on the network (see ChunkStream)."""
        return self._first is not None or self._stream.buffered

    def __aiter__(self) -> StartedStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        first = self._first
        if first is not None:
            self._first = None
            return first
        return await anext(self._chunks)

    async def aclose(self) -> None:
        """Close the chunk iterator and the upstream stream (dropping an unfinished connection)."""
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()
        await self._stream.aclose()


async def start_stream(stream: ChunkStream, deployment: Deployment) -> StartedStream:
    """Wait for the stream's first chunk, so that a failure before it can still be retried or failed over."""
    chunks = aiter(stream)
    try:
        first = await anext(chunks)
    except (StopAsyncIteration, GatewayError) as exc:
        await stream.aclose()
        failure = exc if isinstance(exc, GatewayError) else \
            UpstreamError(f"upstream {deployment.name} ended the stream before its first chunk.")
        if failure.billed is None:
            failure.billed = stream.usage  # reported before the failure (Anthropic's message_start): billed
        raise failure from None
    except BaseException:
        await stream.aclose()  # a timeout or cancellation here must not leave the connection open
        raise
    return StartedStream(stream, chunks, first)


class Dispatcher:
    """Runs plans against providers; shared by every request of an app."""

    def __init__(self, providers: Mapping[str, Provider], breakers: CircuitBreakers, retry: RetrySettings,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 jitter: Callable[[], float] = random.random,
                 on_retry: Callable[[str], None] = lambda deployment: None,
                 on_attempt: Callable[[str, float, bool], None] = lambda deployment, seconds, ok: None) -> None:
        self.providers = providers
        self.breakers = breakers
        self.retry = retry
        self._sleep = sleep
        self._jitter = jitter
        self._on_retry = on_retry
        self._on_attempt = on_attempt

    def _delay(self, try_number: int, exc: GatewayError) -> float | None:
        """Seconds to wait before retrying, or None when the upstream asks for longer than we wait."""
        backoff = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** try_number)
        delay = backoff * (0.5 + self._jitter() / 2)
        asked = _retry_after(exc)
        if asked is not None:
            if asked > self.retry.max_delay_s:
                return None
            delay = max(delay, asked)
        return delay

    def _deadline(self, dispatch_log: DispatchLog) -> float:
        """When the request's whole budget runs out (loop time), fixed by its first dispatch."""
        if dispatch_log.deadline is None:
            dispatch_log.deadline = asyncio.get_running_loop().time() + self.retry.total_timeout_s
        return dispatch_log.deadline

    def _out_of_time(self, error: GatewayError | None) -> UpstreamTimeout:
        last = f"; last error: {error.message}" if error is not None else ""
        return UpstreamTimeout(f"no upstream answered within the request's {self.retry.total_timeout_s:g} s "
                               f"budget (GATEWAY_TOTAL_TIMEOUT_S){last}")

    async def _run(self, plan: RoutePlan, body: Mapping[str, Any],
                   call: Callable[[Provider, Deployment], Awaitable[Any]],
                   dispatch_log: DispatchLog) -> tuple[Any, Deployment]:
        loop = asyncio.get_running_loop()
        deadline = self._deadline(dispatch_log)
        error: GatewayError | None = None
        unsupported: UnsupportedByDeployment | None = None
        for attempt in plan.attempts:
            deployment = attempt.deployment
            if loop.time() >= deadline:
                raise self._out_of_time(error)
            if not self.breakers.allows(deployment.name):
                dispatch_log.errors.append(f"{deployment.name}: circuit open")
                continue
            for try_number in range(self.retry.retries + 1):
                dispatch_log.tried.append(deployment.name)
                dispatch_log.in_flight = deployment
                sent = time.perf_counter()
                try:
                    async with asyncio.timeout_at(deadline):
                        result = await call(self.providers[deployment.provider], deployment)
                except TimeoutError:
                    exc: GatewayError = UpstreamTimeout(f"upstream {deployment.name} did not answer in time.")
                except UnsupportedByDeployment as caught:
                    # Nothing was sent: this deployment's API cannot take the request; the next one may.
                    # Not an attempt (nor a fallback): it leaves no trace in `tried`.
                    dispatch_log.tried.pop()
                    dispatch_log.in_flight = None
                    self.breakers.release(deployment.name)
                    dispatch_log.errors.append(f"{deployment.name}: {caught.code or caught.error_type}")
                    unsupported = unsupported or caught
                    break
                except FINAL_ERRORS:
                    # The request's fault, not the deployment's: a half-open probe ends without a verdict.
                    dispatch_log.in_flight = None
                    self.breakers.release(deployment.name)
                    raise
                except GatewayError as caught:
                    exc = caught
                except BaseException:
                    self.breakers.release(deployment.name)  # cancelled (client gone) or a bug: no verdict
                    raise
                else:
                    dispatch_log.in_flight = None
                    self.breakers.success(deployment.name)
                    self._on_attempt(deployment.name, time.perf_counter() - sent, True)
                    return result, deployment
                dispatch_log.charge_failed_call(body, exc)
                dispatch_log.in_flight = None
                self._on_attempt(deployment.name, time.perf_counter() - sent, False)
                log.warning("attempt on %s failed: %s", deployment.name, exc.message)
                dispatch_log.errors.append(f"{deployment.name}: {exc.code or exc.error_type}")
                if isinstance(exc, RateLimited):
                    # Busy, not broken: the client keeps getting the 429 and its Retry-After (or the next
                    # deployment), not a 503 from a circuit opened by the upstream's rate limit.
                    self.breakers.release(deployment.name)
                else:
                    self.breakers.failure(deployment.name)
                error = exc
                if loop.time() >= deadline:
                    raise self._out_of_time(error)
                delay = self._delay(try_number, exc) if _retryable(exc) else None
                if (delay is None or try_number == self.retry.retries or delay >= deadline - loop.time()
                        or not self.breakers.allows(deployment.name)):
                    break
                dispatch_log.retries += 1
                self._on_retry(deployment.name)
                await self._sleep(delay)
        if error is None and unsupported is not None:
            raise unsupported
        if error is None:
            raise NoDeploymentAvailable(f"every deployment for {plan.model.name} has an open circuit; "
                                        "retry shortly", headers={"retry-after": "5"})
        raise error

    async def complete(self, plan: RoutePlan, body: dict[str, Any],
                       dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """One non-streaming answer, with retries and fallbacks; its usage is charged to the log."""
        async def call(provider: Provider, deployment: Deployment) -> Completion:
            return await provider.complete(deployment, {**body, "model": deployment.upstream_model},
                                           dispatch_log.caller)

        completion, deployment = await self._run(plan, body, call, dispatch_log)
        usage = completion.usage
        if usage is None:  # an answer without usage is billed as estimated, not as free
            usage = estimated_usage(body, answer_chars(completion.body))
            dispatch_log.usage_estimated = True
            completion.body["usage"] = usage.to_openai()  # what it is billed, as OpenAI's answers all carry
        dispatch_log.charges.append(Charge(deployment, usage))
        return completion, deployment

    async def open_stream(self, plan: RoutePlan, body: dict[str, Any],
                          dispatch_log: DispatchLog) -> tuple[ChunkStream, Deployment]:
        """Open a stream and wait for its first chunk: until then a failure (an error event, a cut, a hang
        after the headers) is retried and failed over like any attempt; after it, nothing is."""
        async def call(provider: Provider, deployment: Deployment) -> StartedStream:
            stream = await provider.open_stream(deployment, {**body, "model": deployment.upstream_model},
                                                dispatch_log.caller)
            return await start_stream(stream, deployment)

        return await self._run(plan, body, call, dispatch_log)

    async def repair(self, body: dict[str, Any], message: Mapping[str, Any], problems: list[str],
                     deployment: Deployment, plan: RoutePlan, escalation: RoutePlan | None,
                     dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """Ask the same deployment again with the problems stated; then escalate. Only valid answers return."""
        same = RoutePlan(plan.model, (Attempt(deployment),), plan.reasons, plan.verdict)
        failed: GatewayError | None = None
        for _ in range(plan.tool_retries):
            dispatch_log.repairs += 1
            try:
                completion, deployment = await self.complete(same, repair_request(body, message, problems),
                                                             dispatch_log)
            except GatewayError as exc:
                failed = exc  # the deployment is failing (error, open circuit): escalation may still answer
                break
            message, problems = _checked(completion, body)
            if not problems:
                return completion, deployment
        if escalation is not None:
            dispatch_log.repairs += 1
            try:
                completion, deployment = await self.complete(escalation, non_streaming(body), dispatch_log)
            except UnsupportedByDeployment as exc:
                # The gateway's choice of escalation cannot take the request (logprobs on Claude, say):
                # the client gets what ended the repairs (their failure, or the answer's problems), not a
                # 400 for a field it may send.
                dispatch_log.repairs -= 1
                if failed is not None:
                    raise failed from None
                problems = [*problems, f"escalation to {escalation.model.name} skipped: {exc.message}"]
            else:
                message, problems = _checked(completion, body)
                if not problems:
                    return completion, deployment
        elif failed is not None:
            raise failed
        raise UpstreamError("the model's answer failed validation after repair and escalation: "
                            + "; ".join(problems), code="invalid_tool_call")

    async def complete_valid(self, plan: RoutePlan, body: dict[str, Any], escalation: RoutePlan | None,
                             dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """A non-streaming answer whose tool calls / json_schema content satisfy the request."""
        completion, deployment = await self.complete(plan, body, dispatch_log)
        if not needs_validation(body) or not completion.body.get("choices"):
            return completion, deployment
        message, problems = _checked(completion, body)
        if problems:
            completion, deployment = await self.repair(body, message, problems, deployment, plan, escalation,
                                                       dispatch_log)
        _finished_with_tool_calls(completion)
        return completion, deployment
