"""Noticing a client that went away, so its upstream call is cancelled at once rather than finished for nobody."""

from __future__ import annotations

import asyncio

from starlette.types import Receive


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ClientWatch:
    """Cancels the task serving a request as soon as its client disconnects.

    One waiter task per request instead of a task group: start it only after the body has been
    read (it consumes ASGI messages), and `stop` it before the response is complete.
    """

    __slots__ = ("gone", "_absorbed", "_active", "_task", "_waiter")

    def __init__(self, receive: Receive) -> None:
        self.gone = False  # the client left (stays set: the relay's accounting reads it after `absorb`)
        self._absorbed = False
        self._active = True
        self._task = asyncio.current_task()
        self._waiter = asyncio.ensure_future(_until_disconnect(receive))
        self._waiter.add_done_callback(self._on_done)

    def _on_done(self, waiter: asyncio.Future[None]) -> None:
        if self._active and not waiter.cancelled() and waiter.exception() is None and self._task is not None:
            self.gone = True
            self._task.cancel()

    def stop(self) -> None:
        """Stop watching (the response is finished, or about to be)."""
        self._active = False
        self._waiter.cancel()

    def absorb(self) -> bool:
        """After a CancelledError: True (and the cancellation undone) when it came from the client leaving."""
        if not self.gone or self._task is None or self._absorbed:
            return False
        self._absorbed = True
        self._task.uncancel()
        return True
