"""The server-sent-event response: each piece is sent as it comes; the source stops as soon as the client
goes, when the request's time budget runs out (wherever the stream waits) or when the server stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.api.watch import ClientWatch
from gateway.errors import GatewayError, server_shutting_down, stream_out_of_time
from gateway.wire import SSE_DONE, sse_data

log = logging.getLogger("gateway.api")

# After the budget ran out, how long the error event may wait on a client that is not reading.
LAST_WRITE_S = 1.0


class EventStreamResponse(Response):
    """Relays an async iterator of SSE bytes; a client disconnect cancels the iterator where it waits.

    Starlette's StreamingResponse spawns a task group per response to listen for the disconnect;
    a `ClientWatch` (one waiter task, started when the body was read) does the same for less.

    At `deadline` (event-loop time) one timer ends the stream, whether it waits on the upstream or
    on a client that stopped reading (a per-chunk check would never run while a send is blocked).
    A cancellation that is neither the client leaving nor the timer is the server stopping (uvicorn
    cancels what still runs after its shutdown grace). Either way `on_end` records why while the
    relay is still open, the relay is closed (which releases the upstream connection and settles the
    request) and the client gets an error event if it reads one within LAST_WRITE_S; otherwise its
    connection is closed.
    """

    media_type = "text/event-stream"

    def __init__(self, first: bytes, pieces: AsyncIterator[bytes], watch: ClientWatch,
                 headers: Mapping[str, str] | None = None, deadline: float | None = None,
                 on_end: Callable[[GatewayError], None] = lambda error: None) -> None:
        self.status_code = 200
        self.background = None
        self.first = first  # already taken from `pieces` (the stream is primed before the response starts)
        self.pieces = pieces
        self.watch = watch
        self.deadline = deadline
        self.on_end = on_end
        self.init_headers(headers)
        self._relay_open = True
        self._timed_out: GatewayError | None = None
        self._task: asyncio.Task | None = None

    def _expire(self) -> None:
        self._timed_out = error = stream_out_of_time()
        if self._relay_open:
            self.on_end(error)
        if self._task is not None:
            self._task.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self.watch
        self._task = asyncio.current_task()
        timer = None if self.deadline is None else asyncio.get_running_loop().call_at(self.deadline, self._expire)
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            piece: bytes | None = self.first
            while piece is not None and piece is not SSE_DONE:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                piece = await anext(self.pieces, None)
            if piece is not None:
                # [DONE] is the relay's last piece: let the relay end first (it settles the request, so the
                # ledger and metrics have it when the client sees the end), then send [DONE] and the end of
                # the response in one write rather than two.
                await anext(self.pieces, None)
            self._relay_open = False
            watch.stop()  # before the response completes: its end would read as the client leaving
            await send({"type": "http.response.body", "body": piece or b"", "more_body": False})
        except asyncio.CancelledError:
            # The client left (the relay was cancelled where it waited, and settled): nothing more to send.
            gone = watch.absorb()
            ending = self._timed_out
            if ending is None and not gone:
                ending = server_shutting_down()
                if self._relay_open:
                    self.on_end(ending)
            if ending is not None and self._task is not None:
                self._task.uncancel()
            if self._task is not None and self._task.cancelling():
                raise
            if ending is not None and self._relay_open:
                await self.pieces.aclose()  # settled before the last write, which may wait on the client
                await self._last_write(send, ending)
        finally:
            if timer is not None:
                timer.cancel()
            watch.stop()
            await self.pieces.aclose()  # type: ignore[attr-defined]

    async def _last_write(self, send: Send, error: GatewayError) -> None:
        """Why the gateway ended the stream (timeout, shutdown) as an error event and the end of the stream,
        unless the client is not reading."""
        try:
            async with asyncio.timeout(LAST_WRITE_S):
                await send({"type": "http.response.body", "body": sse_data(error.body()) + SSE_DONE,
                            "more_body": False})
        except TimeoutError:
            log.warning("closing a stream ended by %s whose client is not reading (request %s)", error.code,
                        dict(self.headers).get("x-gateway-request-id", "?"))
