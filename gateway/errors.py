"""Gateway exception types; each maps once to an OpenAI-shaped error body."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from gateway.usage import Usage


class GatewayError(Exception):
    """Base class: an error the client should see as an OpenAI-shaped JSON body."""

    status_code: int = 500
    error_type: str = "server_error"
    default_code: str | None = None
    # An upstream call that failed after the upstream reported usage (a stream's message_start, a malformed
    # answer's readable usage): what the upstream bills for it, charged before the next attempt.
    billed: Usage | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = dict(headers or {})

    def body(self) -> dict:
        """The OpenAI error object for this exception."""
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}

    def to_json(self) -> bytes:
        """Serialised error body."""
        return orjson.dumps(self.body())


def internal_error() -> GatewayError:
    """The generic 500 for a bug, logged with its traceback where it was caught: no detail reaches a client."""
    return GatewayError("The gateway hit an internal error; it has been logged.", code="internal_error")


class InvalidRequest(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedByDeployment(InvalidRequest):
    """What one deployment's API cannot take (a field or a kind of content its wire format lacks): dispatch
    moves on to the plan's next deployment, and answers this 400 only when none could take the request."""


class AuthenticationFailed(GatewayError):
    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status_code = 403
    error_type = "permission_error"
    default_code = "permission_denied"


class NotFound(GatewayError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class ModelNotFound(NotFound):
    default_code = "model_not_found"


class PayloadTooLarge(GatewayError):
    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    error_type = "invalid_request_error"
    default_code = "unsupported_content_encoding"


class RateLimited(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class UpstreamError(GatewayError):
    status_code = 502
    error_type = "api_error"
    default_code = "upstream_error"


class MalformedAnswer(UpstreamError):
    """A whole answer (a 2xx) the gateway cannot pass on, its shape being wrong: the upstream produced it and
    may bill it, so the attempt is charged before the next one: its usage when that is readable, else an
    estimate (`produced_chars` of output)."""

    def __init__(self, message: str, produced_chars: int, billed: Usage | None = None) -> None:
        super().__init__(message)
        self.produced_chars = produced_chars
        self.billed = billed


class NoDeploymentAvailable(GatewayError):
    status_code = 503
    error_type = "api_error"
    default_code = "no_deployment_available"


class UpstreamTimeout(GatewayError):
    status_code = 504
    error_type = "api_error"
    default_code = "upstream_timeout"


class ConnectTimeout(UpstreamTimeout):
    """No connection to the upstream was made in time: nothing was sent to it (so nothing can be billed)."""


class ServerShuttingDown(GatewayError):
    """A request the server cancelled because it is stopping (still running after the shutdown grace)."""

    status_code = 503
    error_type = "api_error"
    default_code = "server_shutting_down"


def server_shutting_down() -> ServerShuttingDown:
    """The answer to a request cut off by the server stopping: retrying it reaches another replica, or this one
    once it is back."""
    return ServerShuttingDown("the gateway is shutting down and ended this request; retry it",
                              headers={"retry-after": "1"})


def stream_out_of_time() -> UpstreamTimeout:
    """The end of a stream still running when its request's time budget is spent."""
    return UpstreamTimeout("the stream outlasted the request's time budget (GATEWAY_TOTAL_TIMEOUT_S).")


class ClientDisconnected(GatewayError):
    """The client went away before its answer was ready (nginx's 499); nobody reads the body."""

    status_code = 499
    error_type = "invalid_request_error"
    default_code = "client_disconnected"


def is_upstream_failure(exc: GatewayError) -> bool:
    """The upstream itself is unwell (timeout, 5xx, unreachable); 4xx, 429 and bad credentials say nothing of it."""
    return isinstance(exc, UpstreamTimeout) or (
        isinstance(exc, UpstreamError) and exc.code in ("upstream_error", "upstream_unreachable"))
