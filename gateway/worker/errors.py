"""Worker exception types; each maps once (in `server.py`) to an OpenAI-shaped error body."""

from __future__ import annotations

from collections.abc import Mapping


class WorkerError(Exception):
    """Base class: an error the client sees as `{"error": {"message", "type", "param", "code"}}`."""

    status_code: int = 500
    error_type: str = "server_error"
    default_code: str | None = None

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


class InvalidRequest(WorkerError):
    status_code = 400
    error_type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    default_code = "context_length_exceeded"


class NotFound(WorkerError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class Overloaded(WorkerError):
    """The waiting queue is full; the client should retry after `retry_after_s` seconds."""

    status_code = 503
    error_type = "server_error"
    default_code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class EngineFailure(WorkerError):
    status_code = 500
    error_type = "server_error"
    default_code = "engine_error"
