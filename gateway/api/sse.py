"""The server-sent-event response: each piece is sent as it comes; the source stops as soon as the client goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.api.watch import ClientWatch
from gateway.wire import SSE_DONE


class EventStreamResponse(Response):
    """Relays an async iterator of SSE bytes; a client disconnect cancels the iterator where it waits.

    Starlette's StreamingResponse spawns a task group per response to listen for the disconnect;
    a `ClientWatch` (one waiter task, started when the body was read) does the same for less.
    """

    media_type = "text/event-stream"

    def __init__(self, first: bytes, pieces: AsyncIterator[bytes], watch: ClientWatch,
                 headers: Mapping[str, str] | None = None) -> None:
        self.status_code = 200
        self.background = None
        self.first = first  # already taken from `pieces` (the stream is primed before the response starts)
        self.pieces = pieces
        self.watch = watch
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self.watch
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
            watch.stop()  # before the response completes: its end would read as the client leaving
            await send({"type": "http.response.body", "body": piece or b"", "more_body": False})
        except asyncio.CancelledError:
            if not watch.absorb():
                raise
            # The client left: the relay was cancelled where it waited and has settled the request.
        finally:
            watch.stop()
            await self.pieces.aclose()  # type: ignore[attr-defined]
