"""Executes a RoutePlan: tries its attempts in order and fails over on upstream failures."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.catalogue import Deployment
from gateway.errors import GatewayError, InvalidRequest, PayloadTooLarge
from gateway.plan import RoutePlan
from gateway.providers.base import ChunkStream, Completion, Provider
from gateway.settings import Settings

log = logging.getLogger("gateway.dispatch")

# Failures that say something about the request, not the upstream: another deployment
# would refuse it the same way, so they are not failed over.
FINAL_ERRORS = (InvalidRequest, PayloadTooLarge)


@dataclass(slots=True)
class DispatchLog:
    """What happened while executing a plan (for headers, the ledger and metrics)."""

    tried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def fallbacks(self) -> int:
        """How many attempts after the first were needed."""
        return max(len(self.tried) - 1, 0)


def is_available(deployment: Deployment, settings: Settings) -> bool:
    """A deployment can be called when its key is configured (or it needs none)."""
    return not deployment.key_required or settings.secret(deployment.api_key_env) is not None


async def complete(plan: RoutePlan, providers: Mapping[str, Provider], body: dict[str, Any],
                   dispatch_log: DispatchLog) -> tuple[Completion, Deployment]:
    """Run a non-streaming request through the plan's attempts."""
    error: GatewayError | None = None
    for attempt in plan.attempts:
        deployment = attempt.deployment
        dispatch_log.tried.append(deployment.name)
        try:
            upstream_body = {**body, "model": deployment.upstream_model}
            return await providers[deployment.provider].complete(deployment, upstream_body), deployment
        except FINAL_ERRORS:
            raise
        except GatewayError as exc:
            log.warning("attempt on %s failed: %s", deployment.name, exc.message)
            dispatch_log.errors.append(exc.code or exc.error_type)
            error = exc
    assert error is not None
    raise error


async def open_stream(plan: RoutePlan, providers: Mapping[str, Provider], body: dict[str, Any],
                      dispatch_log: DispatchLog) -> tuple[ChunkStream, Deployment]:
    """Open a stream on the first attempt that accepts it (before any byte reaches the client)."""
    error: GatewayError | None = None
    for attempt in plan.attempts:
        deployment = attempt.deployment
        dispatch_log.tried.append(deployment.name)
        try:
            upstream_body = {**body, "model": deployment.upstream_model}
            return await providers[deployment.provider].open_stream(deployment, upstream_body), deployment
        except FINAL_ERRORS:
            raise
        except GatewayError as exc:
            log.warning("stream attempt on %s failed: %s", deployment.name, exc.message)
            dispatch_log.errors.append(exc.code or exc.error_type)
            error = exc
    assert error is not None
    raise error
