"""Assembling the worker app around an engine, choosing the engine, and running it with uvicorn."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.worker.api import json_response, router
from gateway.worker.engine import Engine
from gateway.worker.errors import WorkerError
from gateway.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)

ENGINE_KINDS = ("auto", "builtin", "vllm")


def create_worker_app(engine: Engine) -> FastAPI:
    """An OpenAI-compatible app serving `engine`; the engine starts and stops with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()

    app = FastAPI(title="gateway worker", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.metrics = WorkerMetrics()
    app.state.created = int(time.time())
    app.include_router(router)
    app.add_exception_handler(WorkerError, _worker_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


async def _worker_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WorkerError)
    if request.url.path == "/v1/chat/completions" and exc.status_code != 500:
        outcome = "rejected" if exc.status_code == 503 else "invalid"
        request.app.state.metrics.observe(outcome, None, None, None)
    return json_response(exc.body(), exc.status_code, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    body = {"error": {"message": str(exc.detail), "type": error_type, "param": None, "code": code}}
    return json_response(body, exc.status_code, dict(exc.headers or {}))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s", request.url.path)
    body = {"error": {"message": "internal error in the worker", "type": "server_error", "param": None, "code": None}}
    return json_response(body, 500)


def load_engine(
    model_dir: str,
    *,
    kind: str = "auto",
    max_batch: int = 32,
    max_queue: int = 256,
    device: str | None = None,
    prefix_cache_tokens: int = 32768,
) -> Engine:
    """vLLM when installed and a GPU is present (or asked for), otherwise the built-in batched engine."""
    from gateway.worker import vllm_engine

    if kind not in ENGINE_KINDS:
        raise ValueError(f"unknown engine {kind!r}; choose one of {ENGINE_KINDS}")
    if kind == "vllm" or (kind == "auto" and vllm_engine.available()):
        log.info("serving %s with vLLM", model_dir)
        return vllm_engine.VllmEngine.from_dir(model_dir, max_batch=max_batch, max_queue=max_queue)
    from gateway.worker.batched import BatchedEngine

    log.info("serving %s with the built-in batched engine", model_dir)
    return BatchedEngine.from_dir(
        model_dir, device=device, max_batch=max_batch, max_queue=max_queue, prefix_cache_tokens=prefix_cache_tokens
    )


def run_worker(
    model_dir: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    max_batch: int = 32,
    max_queue: int = 256,
    *,
    engine: str = "auto",
    device: str | None = None,
    prefix_cache_tokens: int = 32768,
    threads: int | None = None,
    log_level: str = "info",
) -> None:
    """Load the model in `model_dir` and serve it until interrupted."""
    if threads:
        import torch

        # Process-wide, which is right here: the worker is a process of its own.
        torch.set_num_threads(threads)
    served = load_engine(
        model_dir,
        kind=engine,
        max_batch=max_batch,
        max_queue=max_queue,
        device=device,
        prefix_cache_tokens=prefix_cache_tokens,
    )
    uvicorn.run(create_worker_app(served), host=host, port=port, log_level=log_level)
