"""Classifying, back to back, the requests that reach routing in the same event-loop turn.

A busy server interleaves many requests, and between two classifications the rest of a request's
work (HTTP parsing, the upstream call, accounting) evicts the classifier's vocabulary and weights
from the CPU caches: one classification costs about 2.5 times more cold than warm. Requests that
arrive together wait one loop turn and are classified in a row, so all but the first find the
tables warm. Alone (low load), a request waits one turn (a few microseconds) and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway.classify import Classification, classify


class ClassifyBatcher:
    """Collects classification requests during one loop turn and answers them together.

    One per app: it belongs to the event loop that serves the app (its futures are that loop's).
    """

    __slots__ = ("_pending", "batches", "classified")

    def __init__(self) -> None:
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future[Classification]]] = []
        self.batches = 0  # turns that classified something (with `classified`: the mean batch size)
        self.classified = 0

    def classify(self, request: Mapping[str, Any]) -> asyncio.Future[Classification]:
        """A future for `classify(request)`, resolved at the end of this loop turn with the others."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Classification] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._run)
        self._pending.append((request, future))
        return future

    def _run(self) -> None:
        pending, self._pending = self._pending, []
        self.batches += 1
        self.classified += len(pending)
        for request, future in pending:
            if future.cancelled():  # its request was cancelled while it waited
                continue
            try:
                future.set_result(classify(request))
            except Exception as exc:  # classify() never raises on any input; a bug still fails only its request
                future.set_exception(exc)
