"""The provider interface: every upstream kind speaks OpenAI chat-completion shapes to the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.catalogue import Deployment
from gateway.usage import Usage


@dataclass(slots=True)
class Completion:
    """A finished non-streaming answer in OpenAI `chat.completion` shape, with normalised usage
    (None when the upstream reported none: the dispatcher then charges an estimate)."""

    body: dict[str, Any]
    usage: Usage | None


class ChunkStream(Protocol):
    """An open upstream stream yielding OpenAI `chat.completion.chunk` dicts.

    `usage` is the normalised usage once the upstream has reported it (None until then).
    `buffered` is True only when iterating once more will not wait on the network (the next chunk,
    or the end, has been read already): the relay sends what it holds before any such wait.
    """

    usage: Usage | None

    @property
    def buffered(self) -> bool: ...

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None: ...


class Provider(Protocol):
    """One upstream kind (OpenAI-compatible, Anthropic, simulated)."""

    async def complete(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> Completion:
        """Send a non-streaming request; `body` is the client's request with the upstream model id, `caller` whose
        it is (the scope of what is remembered of its tool calls)."""
        ...

    async def open_stream(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> ChunkStream:
        """Start a streaming request; raises a GatewayError before any chunk if the upstream refuses."""
        ...
