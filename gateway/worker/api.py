"""HTTP routes of the worker: chat completions (streamed or not), models, health and metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.worker.engine import Engine, Event, Finished, GenerationRequest, TextDelta
from gateway.worker.errors import EngineFailure
from gateway.worker.metrics import WorkerMetrics
from gateway.worker.wire import SSE_DONE, ChatRequest, chunk_body, completion_body, parse_chat_request, sse_data

router = APIRouter()


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson."""
    return Response(orjson.dumps(payload), status_code=status_code, headers=headers, media_type="application/json")


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    """Generate a reply; the engine raises 400/503 errors before anything is streamed."""
    chat = parse_chat_request(await request.body())
    engine: Engine = request.app.state.engine
    request_id = f"chatcmpl-{uuid.uuid4().hex}"
    started = time.perf_counter()
    events = await engine.submit(GenerationRequest(request_id, chat.messages, chat.sampling))
    call = _Call(request, engine, request.app.state.metrics, chat, request_id, started)
    if chat.stream:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return _EngineStream(call, call.stream(events), media_type="text/event-stream", headers=headers)
    return json_response(await call.collect(events))


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    """The one model this worker serves."""
    engine: Engine = request.app.state.engine
    model = {
        "id": engine.model_name,
        "object": "model",
        "created": request.app.state.created,
        "owned_by": "gateway-worker",
        "max_model_len": engine.context_length,
    }
    return json_response({"object": "list", "data": [model]})


@router.get("/health")
async def health(request: Request) -> Response:
    """Liveness plus current load, for load balancers and the gateway's health checks."""
    engine: Engine = request.app.state.engine
    stats = engine.stats()
    return json_response(
        {
            "status": "ok",
            "model": engine.model_name,
            "running": stats.running,
            "waiting": stats.waiting,
            "max_batch": stats.max_batch,
            "max_queue": stats.max_queue,
        }
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition from the app's own registry."""
    body = request.app.state.metrics.render(request.app.state.engine.stats())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _EngineStream(StreamingResponse):
    """A streaming response that frees the engine slot even if the body never starts (client gone first)."""

    def __init__(self, call: _Call, content: AsyncIterator[bytes], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._call = call

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self._call.done:
                self._call.engine.cancel(self._call.request_id)


class _Call:
    """One chat completion in flight: delivers engine events to the client and records the outcome."""

    def __init__(
        self,
        request: Request,
        engine: Engine,
        metrics: WorkerMetrics,
        chat: ChatRequest,
        request_id: str,
        started: float,
    ) -> None:
        self.request = request
        self.engine = engine
        self.metrics = metrics
        self.chat = chat
        self.request_id = request_id
        self.started = started
        self.created = int(time.time())
        self.model = engine.model_name
        self.ttft: float | None = None
        self.done = False

    async def collect(self, events: AsyncIterator[Event]) -> dict[str, Any]:
        """The whole reply as one `chat.completion` body."""
        pieces: list[str] = []
        finished: Finished | None = None
        async with self._cancel_on_disconnect():
            try:
                async for event in events:
                    if isinstance(event, TextDelta):
                        self._first_token()
                        pieces.append(event.text)
                    else:
                        finished = event
            finally:
                self._finish(finished)
        if finished is None or finished.reason in ("error", "cancelled"):
            raise EngineFailure(finished.error if finished and finished.error else "generation did not complete")
        return completion_body(
            self.request_id, self.created, self.model, "".join(pieces), finished.reason, finished.usage
        )

    async def stream(self, events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
        """Server-sent `chat.completion.chunk` events ending in `data: [DONE]`."""
        include_usage = self.chat.include_usage
        finished: Finished | None = None
        async with self._cancel_on_disconnect():
            try:
                yield sse_data(self._chunk({"role": "assistant", "content": ""}))
                async for event in events:
                    if isinstance(event, TextDelta):
                        self._first_token()
                        if event.text:
                            yield sse_data(self._chunk({"content": event.text}))
                    else:
                        finished = event
                if finished is not None and finished.reason == "error":
                    yield sse_data(EngineFailure(finished.error or "generation failed").body())
                elif finished is not None and finished.reason != "cancelled":
                    yield sse_data(self._chunk({}, finished.reason))
                    if include_usage:
                        yield sse_data(
                            chunk_body(
                                self.request_id,
                                self.created,
                                self.model,
                                None,
                                include_usage=True,
                                usage=finished.usage,
                            )
                        )
                yield SSE_DONE
            finally:
                self._finish(finished)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return chunk_body(
            self.request_id, self.created, self.model, delta, finish_reason, include_usage=self.chat.include_usage
        )

    def _first_token(self) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started

    def _finish(self, finished: Finished | None) -> None:
        """Free the engine slot if the client left early, and record the outcome once."""
        self.done = True
        if finished is None:
            self.engine.cancel(self.request_id)
        outcome = (
            "cancelled"
            if finished is None
            else {"stop": "completed", "length": "completed"}.get(finished.reason, finished.reason)
        )
        usage = finished.usage if finished is not None else None
        self.metrics.observe(outcome, usage, self.ttft, time.perf_counter() - self.started)

    @asynccontextmanager
    async def _cancel_on_disconnect(self) -> AsyncIterator[None]:
        """Cancel the engine request as soon as the client goes away, even between tokens."""

        async def watch() -> None:
            while True:
                message = await self.request.receive()
                if message["type"] == "http.disconnect":
                    self.engine.cancel(self.request_id)
                    return

        watcher = asyncio.create_task(watch())
        try:
            yield
        finally:
            watcher.cancel()
