"""Worker exception types: the gateway's OpenAI-shaped errors, plus the worker's own few."""

from __future__ import annotations

from gateway.errors import GatewayError, InvalidRequest, NotFound

WorkerError = GatewayError  # one error hierarchy for gateway and worker; mapped once in server.py

__all__ = ["ContextLengthExceeded", "EngineFailure", "InvalidRequest", "NotFound", "Overloaded", "WorkerError"]


class ContextLengthExceeded(InvalidRequest):
    default_code = "context_length_exceeded"


class Overloaded(GatewayError):
    """The waiting queue is full; the client should retry after `retry_after_s` seconds."""

    status_code = 503
    error_type = "server_error"
    default_code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class EngineFailure(GatewayError):
    status_code = 500
    error_type = "server_error"
    default_code = "engine_error"
