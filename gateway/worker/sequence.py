"""One request's decoding state inside the batched engine, and how its events reach its event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import torch

from gateway.worker.engine import Event, Finished, SamplingParams, Usage
from gateway.worker.text import IncrementalDetokenizer, StopMatcher


@dataclass(eq=False)
class SequenceState:
    """One request's decoding state; only the engine thread touches it after submission."""

    request_id: str
    prompt: list[int]
    params: SamplingParams
    max_new: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event]
    generator: torch.Generator
    detok: IncrementalDetokenizer
    stops: StopMatcher
    output: list[int] = field(default_factory=list)
    cached: int = 0

    def usage(self) -> Usage:
        """Token counts so far."""
        return Usage(prompt_tokens=len(self.prompt), completion_tokens=len(self.output), cached_tokens=self.cached)


# Events produced in one engine step, grouped by the event loop that waits for them.
Outbox = dict[asyncio.AbstractEventLoop, list[tuple["SequenceState", Event]]]


def post(outbox: Outbox, seq: SequenceState, event: Event) -> None:
    """Queue an event for delivery at the end of the step."""
    outbox[seq.loop].append((seq, event))


def deliver(items: list[tuple[SequenceState, Event]]) -> None:
    """Hand events to their requests' queues (runs on the requests' event loop)."""
    for seq, event in items:
        seq.queue.put_nowait(event)


async def drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    """A request's events, up to and including its `Finished`."""
    while True:
        event = await queue.get()
        yield event
        if isinstance(event, Finished):
            return
