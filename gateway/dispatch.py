"""Executes a RoutePlan: per-attempt timeouts, jittered retries honouring Retry-After, fallbacks,
circuit breakers, and tool-call / json_schema validation with repair and escalation."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.breakers import CircuitBreakers
from gateway.catalogue import Deployment
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    NoDeploymentAvailable,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)
from gateway.plan import Attempt, RoutePlan
from gateway.providers.base import ChunkStream, Completion, Provider
from gateway.settings import Settings
from gateway.toolcalls import answer_problems, needs_validation, repair_request
from gateway.usage import Usage

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
    attempt_timeout_s: float = 120.0

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
    return isinstance(exc, RateLimited | UpstreamTimeout) or (
        isinstance(exc, UpstreamError) and exc.code in ("upstream_error", "upstream_unreachable"))


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

    async def _run(self, plan: RoutePlan, call: Callable[[Provider, Deployment], Awaitable[Any]],
                   dispatch_log: DispatchLog) -> tuple[Any, Deployment]:
        error: GatewayError | None = None
        for attempt in plan.attempts:
            deployment = attempt.deployment
            if not self.breakers.allows(deployment.name):
                dispatch_log.errors.append(f"{deployment.name}: circuit open")
                continue
            for try_number in range(self.retry.retries + 1):
                dispatch_log.tried.append(deployment.name)
                sent = time.perf_counter()
                try:
                    async with asyncio.timeout(self.retry.attempt_timeout_s):
                        result = await call(self.providers[deployment.provider], deployment)
                except TimeoutError:
                    exc: GatewayError = UpstreamTimeout(f"upstream {deployment.name} did not answer in time.")
                except FINAL_ERRORS:
                    raise
                except GatewayError as caught:
                    exc = caught
                else:
                    self.breakers.success(deployment.name)
                    self._on_attempt(deployment.name, time.perf_counter() - sent, True)
                    return result, deployment
                self._on_attempt(deployment.name, time.perf_counter() - sent, False)
                log.warning("attempt on %s failed: %s", deployment.name, exc.message)
                dispatch_log.errors.append(f"{deployment.name}: {exc.code or exc.error_type}")
                self.breakers.failure(deployment.name)
                error = exc
                delay = self._delay(try_number, exc) if _retryable(exc) else None
                if delay is None or try_number == self.retry.retries or not self.breakers.allows(deployment.name):
                    break
                dispatch_log.retries += 1
                self._on_retry(deployment.name)
                await self._sleep(delay)
        if error is None:
            raise NoDeploymentAvailable(f"every deployment for {plan.model.name} has an open circuit; "
                                        "retry shortly", headers={"retry-after": "5"})
        raise error

    async def complete(self, plan: RoutePlan, body: dict[str, Any],
                       dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """One non-streaming answer, with retries and fallbacks; its usage is charged to the log."""
        async def call(provider: Provider, deployment: Deployment) -> Completion:
            return await provider.complete(deployment, {**body, "model": deployment.upstream_model})

        completion, deployment = await self._run(plan, call, dispatch_log)
        dispatch_log.charges.append(Charge(deployment, completion.usage))
        return completion, deployment

    async def open_stream(self, plan: RoutePlan, body: dict[str, Any],
                          dispatch_log: DispatchLog) -> tuple[ChunkStream, Deployment]:
        """Open a stream; retries and fallbacks happen only before any byte reaches the client."""
        async def call(provider: Provider, deployment: Deployment) -> ChunkStream:
            return await provider.open_stream(deployment, {**body, "model": deployment.upstream_model})

        return await self._run(plan, call, dispatch_log)

    async def repair(self, body: dict[str, Any], message: Mapping[str, Any], problems: list[str],
                     deployment: Deployment, plan: RoutePlan, escalation: RoutePlan | None,
                     dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """Ask the same deployment again with the problems stated; then escalate. Only valid answers return."""
        same = RoutePlan(plan.model, (Attempt(deployment),), plan.reasons, plan.verdict)
        for _ in range(plan.tool_retries):
            dispatch_log.repairs += 1
            completion, deployment = await self.complete(same, repair_request(body, message, problems), dispatch_log)
            message = completion.body["choices"][0]["message"]
            problems = answer_problems(message, body)
            if not problems:
                return completion, deployment
        if escalation is not None:
            dispatch_log.repairs += 1
            completion, deployment = await self.complete(escalation, {**body, "stream": False}, dispatch_log)
            message = completion.body["choices"][0]["message"]
            problems = answer_problems(message, body)
            if not problems:
                return completion, deployment
        raise UpstreamError("the model's answer failed validation after repair and escalation: "
                            + "; ".join(problems), code="invalid_tool_call")

    async def complete_valid(self, plan: RoutePlan, body: dict[str, Any], escalation: RoutePlan | None,
                             dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
        """A non-streaming answer whose tool calls / json_schema content satisfy the request."""
        completion, deployment = await self.complete(plan, body, dispatch_log)
        if not needs_validation(body) or not completion.body.get("choices"):
            return completion, deployment
        message = completion.body["choices"][0].get("message") or {}
        problems = answer_problems(message, body)
        if not problems:
            return completion, deployment
        return await self.repair(body, message, problems, deployment, plan, escalation, dispatch_log)
