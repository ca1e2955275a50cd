"""Anthropic's native Messages API, spoken to the gateway in OpenAI shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, TypeVar

import aiohttp
import orjson

from gateway.catalogue import Deployment
from gateway.errors import MalformedAnswer, UpstreamError
from gateway.providers.adapt import adapted_request, thinking_disabled
from gateway.providers.anthropic_answers import StreamTranslator, from_messages_response, thinking_turn
from gateway.providers.anthropic_translate import to_messages_request
from gateway.providers.base import Completion
from gateway.providers.http import SSEReader, UpstreamClients, error_detail, post, read_json, scrub
from gateway.providers.shapes import (
    ANTHROPIC_USAGE_COUNTS,
    ANTHROPIC_USAGE_DETAILS,
    chunk_problem,
    completion_problem,
    usage_problem,
)
from gateway.providers.tool_turn_memory import THINKING, ToolTurnMemory, continued_tool_turn
from gateway.settings import Settings
from gateway.usage import Usage, from_anthropic, produced_chars

ANTHROPIC_VERSION = "2023-06-01"


T = TypeVar("T")
# What reading a payload of the wrong shape raises inside the translation (a list where the
# Messages API has an object, a number where it has text): the upstream's fault, not ours.
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def translated(deployment: Deployment, what: str, translate: Callable[[], T], secret: str | None) -> T:
    """Run a translation of an upstream payload; a payload it cannot read becomes a 502 naming it. The
    upstream's text in an error (an error event's message, say) comes with `secret` scrubbed."""
    try:
        return translate()
    except UpstreamError as exc:
        raise UpstreamError(scrub(exc.message, secret)[:1000], code=exc.code) from None
    except _SHAPE_ERRORS as exc:
        detail = scrub(str(exc), secret)[:200]
        raise UpstreamError(f"upstream {deployment.name} sent a malformed {what} ({type(exc).__name__}: {detail})") \
            from None


class AnthropicChunkStream:
    """OpenAI chunks translated from an Anthropic event stream."""

    def __init__(self, response: aiohttp.ClientResponse, deployment: Deployment, secret: str | None = None,
                 on_whole: Callable[[list[dict[str, Any]]], None] = lambda blocks: None) -> None:
        self._deployment = deployment
        self._secret = secret
        self._translator = StreamTranslator()
        self._on_whole = on_whole  # given the answer's thinking and tool_use blocks once its stop_reason came
        # A cut after the stop_reason leaves the answer and its usage whole (message_stop only ends the stream).
        self._events = SSEReader(response, deployment, whole=lambda: self._translator.stopped)
        self._unsent = 0  # chunks translated from the current event and not yielded yet

    @property
    def buffered(self) -> bool:
        """Whether the next chunk is translated already. Events read but not translated do not count:
        many (ping, content_block_stop) translate to nothing, and the next one may be a network wait away."""
        return self._unsent > 0

    @property
    def usage(self) -> Usage | None:
        """Cumulative usage reported so far (message_start, then each message_delta)."""
        return self._translator.usage

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for event, data in self._events:
            try:
                payload = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise UpstreamError(f"upstream {self._deployment.name} sent a stream event that is not JSON.") from None
            handle = partial(self._translator.handle, event, payload)
            stopped = self._translator.stopped
            chunks = translated(self._deployment, event or "stream", handle, self._secret)
            if self._translator.stopped and not stopped:
                self._on_whole(self._translator.blocks)
            self._unsent = len(chunks)
            for chunk in chunks:
                self._unsent -= 1
                problem = chunk_problem(chunk)  # checked as the relay will read it, as for OpenAI streams
                if problem:
                    raise UpstreamError(f"upstream {self._deployment.name} sent a malformed {event} event: {problem}")
                yield chunk
            if self._translator.finished:
                self._events.done()
                return
        if self._translator.stopped:
            return  # cut after the stop_reason: the answer and its usage are whole
        # EOF before message_stop: the answer was cut, however cleanly the connection closed.
        raise UpstreamError(f"upstream {self._deployment.name} ended the stream before message_stop.")

    async def aclose(self) -> None:
        """Stop reading; drops the connection if the stream did not finish."""
        await self._events.aclose()


class AnthropicProvider:
    """Translates OpenAI requests to Messages requests and the answers back."""

    def __init__(self, clients: UpstreamClients, settings: Settings, turns: ToolTurnMemory | None = None,
                 on_tool_turn_fallback: Callable[[str, str], None] = lambda deployment, kind: None) -> None:
        self._clients = clients
        self._settings = settings
        self._turns = turns or ToolTurnMemory()
        self._on_tool_turn_fallback = on_tool_turn_fallback  # (deployment, THINKING): thinking left out

    async def _request(self, deployment: Deployment, body: dict[str, Any],
                       caller: str) -> tuple[str, dict[str, Any], dict[str, str], str | None]:
        """Where to send the request, the request as a Messages request, its headers and the key."""
        blocks = None
        wanted = body.get("thinking") is not None and not thinking_disabled(body)
        key = continued_tool_turn(body.get("messages")) if wanted else None
        if key is not None:
            kept = (await self._turns.recall(THINKING, caller, [key])).get(key)
            blocks = orjson.loads(kept) if kept else None
            if blocks is None:
                self._on_tool_turn_fallback(deployment.name, THINKING)
        request = to_messages_request(adapted_request(body, deployment), deployment.upstream_model, blocks)
        secret = self._settings.secret(deployment.api_key_env)
        headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if secret:
            headers["x-api-key"] = secret
        return f"{deployment.base_url}/v1/messages", request, headers, secret

    async def complete(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> Completion:
        """Send a non-streaming Messages request."""
        url, request, headers, secret = await self._request(deployment, body, caller)
        response = await post(self._clients.session(deployment.base_url), url, request, headers, deployment, secret)
        payload = await read_json(response, deployment)
        if payload.get("type") == "error" or ("error" in payload and "content" not in payload):
            # A failure sent as a 200 (by a proxy, say): not an empty answer.
            raise UpstreamError(f"upstream {deployment.name} answered with an error: "
                                f"{error_detail(payload.get('error'), secret)}")
        try:
            answer, usage = translated(deployment, "answer", partial(from_messages_response, payload), secret)
            problem = completion_problem(answer)
        except UpstreamError as exc:
            problem = exc.message
        if problem:
            reported = payload.get("usage")
            readable = reported and usage_problem(reported, ANTHROPIC_USAGE_COUNTS, ANTHROPIC_USAGE_DETAILS) is None
            billed = from_anthropic(reported) if readable else None
            raise MalformedAnswer(f"upstream {deployment.name} returned a malformed answer: {problem}",
                                  produced_chars(payload.get("content")), billed)
        self._remember(caller, payload.get("content") or [])
        return Completion(answer, usage if payload.get("usage") else None)

    def _remember(self, caller: str, blocks: list[Any]) -> None:
        """Keep a tool-call turn's thinking blocks, for the request that goes on from it with thinking."""
        turn = thinking_turn([block for block in blocks if isinstance(block, dict)])
        if turn is not None:
            key, thinking = turn
            self._turns.remember(THINKING, caller, key, orjson.dumps(thinking).decode())

    async def open_stream(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> AnthropicChunkStream:
        """Start a streaming Messages request."""
        url, request, headers, secret = await self._request(deployment, body, caller)
        headers["accept"] = "text/event-stream"
        response = await post(self._clients.session(deployment.base_url), url, request, headers, deployment, secret)
        return AnthropicChunkStream(response, deployment, secret, partial(self._remember, caller))
