"""OpenAI-compatible upstreams: OpenAI, DeepSeek, Together, Fireworks, Gemini, vLLM, the worker."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson

from gateway.catalogue import Deployment
from gateway.errors import GatewayError, MalformedAnswer, UpstreamError
from gateway.providers.adapt import Recalled, adapted_request, thinking_disabled
from gateway.providers.base import Completion
from gateway.providers.http import SSEReader, UpstreamClients, error_detail, post, read_json
from gateway.providers.replicas import ReplicaFailover, home_replica, is_replica_failure
from gateway.providers.shapes import chunk_problem, completion_problem, usage_problem
from gateway.providers.tool_turn_memory import (
    REASONING,
    SIGNATURE,
    StreamCapture,
    ToolTurnMemory,
    calls_lacking_signature,
    turns_lacking_reasoning,
)
from gateway.settings import Settings
from gateway.toolcalls import StreamedCallIndexes
from gateway.usage import Usage, from_openai, produced_chars, with_cached_tokens


class OpenAIChunkStream:
    """Chunks of an OpenAI-compatible SSE stream, recording usage when the upstream reports it."""

    def __init__(self, response: aiohttp.ClientResponse, deployment: Deployment,
                 on_failure: Callable[[GatewayError], None] | None = None, secret: str | None = None,
                 choices: int = 1, turns: StreamCapture | None = None) -> None:
        self._response = response
        self._choices = choices  # the request's n: a stream is whole once each of them has finished
        self._deployment = deployment
        self._secret = secret  # scrubbed from the upstream's own error text
        self._finished = False  # every choice has its finish_reason
        self._events = SSEReader(response, deployment, whole=lambda: self._finished)
        self._on_failure = on_failure
        self._turns = turns  # what a tool-call answer carries that its API wants back, kept once it is whole
        self._call_indexes: StreamedCallIndexes | None = None  # from the first tool-call delta on
        self.usage: Usage | None = None

    @property
    def buffered(self) -> bool:
        """Whether the next event is read already (the next chunk, or the end, comes without a wait)."""
        return self._events.buffered

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._chunks() if self._on_failure is None else self._reporting(self._on_failure)

    async def _reporting(self, on_failure: Callable[[GatewayError], None]) -> AsyncIterator[dict[str, Any]]:
        chunks = self._chunks()
        try:
            async for chunk in chunks:
                yield chunk
        except GatewayError as exc:
            on_failure(exc)
            raise
        finally:
            await chunks.aclose()  # closed with this one, not left for the garbage collector

    async def _chunks(self) -> AsyncGenerator[dict[str, Any], None]:
        # Every choice has its finish_reason: the answer is whole even if [DONE] never comes.
        finished = False
        done: set[Any] = set()  # the indexes of the choices that finished
        turns = self._turns
        async for _event, data in self._events:
            if data == b"[DONE]":
                self._events.done()
                return
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise UpstreamError(f"upstream {self._deployment.name} sent a stream event that is not JSON.") from None
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                detail = error_detail(chunk["error"], self._secret)
                raise UpstreamError(f"upstream {self._deployment.name} failed mid-stream: {detail}")
            problem = chunk_problem(chunk)
            if problem:
                raise UpstreamError(f"upstream {self._deployment.name} sent a malformed stream chunk: {problem}")
            if chunk.get("usage"):
                self.usage = from_openai(chunk["usage"])
                with_cached_tokens(chunk["usage"])
            if b'"tool_calls"' in data:
                if self._call_indexes is None:
                    self._call_indexes = StreamedCallIndexes()
                self._call_indexes.number(chunk)
            if turns is not None:
                turns.add(chunk)
            if not finished:
                for choice in chunk.get("choices") or ():
                    if choice.get("finish_reason"):
                        done.add(choice.get("index", 0))
                finished = self._finished = len(done) >= self._choices
                if finished and turns is not None:
                    turns.commit()  # the answer is whole
            yield chunk
        if not finished:
            # A clean EOF mid-answer (a proxy or upstream restart) must not pass for a finished answer.
            raise UpstreamError(f"upstream {self._deployment.name} ended the stream before the answer finished.")

    async def aclose(self) -> None:
        """Stop reading and drop the upstream connection if the stream did not finish."""
        await self._events.aclose()


def prefix_key(body: dict[str, Any]) -> bytes:
    """What requests sharing a prompt prefix have in common: the leading system messages, or the
    first message when there is no system prompt (the first 8 KB of it)."""
    messages = body.get("messages") or []
    leading = []
    for message in messages:
        if message.get("role") not in ("system", "developer"):
            break
        leading.append(message)
    return orjson.dumps(leading or messages[:1])[:8192]


def pick_replica(replicas: tuple[str, ...], body: dict[str, Any]) -> str:
    """Rendezvous hashing on the prompt prefix: the same prefix always lands on the same replica
    (keeping its KV cache warm), and removing one replica moves only the prefixes it held."""
    return home_replica(replicas, prefix_key(body))


class OpenAICompatProvider:
    """Talks the OpenAI chat-completions wire format to any compatible upstream."""

    def __init__(self, clients: UpstreamClients, settings: Settings, turns: ToolTurnMemory | None = None,
                 on_tool_turn_fallback: Callable[[str, str], None] = lambda deployment, kind: None) -> None:
        self._clients = clients
        self._settings = settings
        self._failover = ReplicaFailover()
        self._turns = turns or ToolTurnMemory()
        # (deployment, REASONING or SIGNATURE): earlier tool calls went without what the API wants of them
        self._on_tool_turn_fallback = on_tool_turn_fallback

    async def _request(self, deployment: Deployment, body: dict[str, Any],
                       caller: str) -> tuple[str, str, dict[str, Any], dict[str, str], str | None]:
        """Where to send the request, the request as this deployment takes it, its headers and the key."""
        recalled = await self._recalled(deployment, body, caller)
        body = adapted_request(body, deployment, recalled)
        secret = self._settings.secret(deployment.api_key_env)
        headers = {"content-type": "application/json"}
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        if deployment.replicas:
            base_url = self._failover.choose(deployment.replicas, prefix_key(body))
        else:
            base_url = deployment.base_url
        return base_url, f"{base_url}/chat/completions", body, headers, secret

    async def _recalled(self, deployment: Deployment, body: dict[str, Any], caller: str) -> Recalled | None:
        """What the memory holds of the earlier tool calls this deployment wants something back of; counts the
        attempts that go without some of it (thinking disabled, a skip signature)."""
        if not deployment.keeps_tool_turns:
            return None
        messages = body.get("messages")
        reasoning = signatures = None
        if deployment.tool_turn_reasoning and not thinking_disabled(body):
            lacking = turns_lacking_reasoning(messages)
            if lacking:
                reasoning = await self._turns.recall(REASONING, caller, [key for _, key in lacking])
                if any(key not in reasoning for _, key in lacking):
                    self._on_tool_turn_fallback(deployment.name, REASONING)
        if deployment.thought_signatures:
            unsigned = calls_lacking_signature(messages)
            if unsigned:
                signatures = await self._turns.recall(SIGNATURE, caller, [key for _, _, key in unsigned])
                if any(position == 0 and key not in signatures for _, position, key in unsigned):
                    self._on_tool_turn_fallback(deployment.name, SIGNATURE)
        if reasoning is None and signatures is None:
            return None
        return Recalled(reasoning or {}, signatures or {})

    def _failed(self, deployment: Deployment, base_url: str, exc: GatewayError) -> None:
        """Send the retry of a request that a replica failed to the prefix's next replica."""
        if deployment.replicas and is_replica_failure(exc):
            self._failover.failed(base_url)

    async def complete(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> Completion:
        """Send a non-streaming request and normalise its usage."""
        base_url, url, body, headers, secret = await self._request(deployment, body, caller)
        session = self._clients.session(url)
        try:
            response = await post(session, url, body, headers, deployment, secret)
            answer = await read_json(response, deployment)
            if "error" in answer and "choices" not in answer:  # a proxy's failure sent as a 200
                raise UpstreamError(f"upstream {deployment.name} answered with an error: "
                                    f"{error_detail(answer['error'], secret)}")
            problem = completion_problem(answer)
            if problem:
                reported = answer.get("usage")
                billed = from_openai(reported) if reported and usage_problem(reported) is None else None
                raise MalformedAnswer(f"upstream {deployment.name} returned a malformed answer: {problem}",
                                      produced_chars(answer.get("choices")), billed)
        except GatewayError as exc:
            self._failed(deployment, base_url, exc)
            raise
        if deployment.keeps_tool_turns and body.get("tools"):
            self._turns.remember_answer(answer, caller, deployment.tool_turn_reasoning, deployment.thought_signatures)
        reported = answer.get("usage")
        with_cached_tokens(reported)
        return Completion(answer, from_openai(reported) if reported else None)

    async def open_stream(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> OpenAIChunkStream:
        """Start a streaming request (the dispatcher has already asked for usage in the stream)."""
        base_url, url, body, headers, secret = await self._request(deployment, body, caller)
        headers["accept"] = "text/event-stream"
        session = self._clients.session(url)
        try:
            response = await post(session, url, body, headers, deployment, secret)
        except GatewayError as exc:
            self._failed(deployment, base_url, exc)
            raise
        # A replica can also fail after its headers (an error event, a cut, a read timeout): that
        # moves its prefixes too, so the dispatcher's retry before the first chunk goes elsewhere.
        on_failure = (lambda exc: self._failed(deployment, base_url, exc)) if deployment.replicas else None
        capture = None
        if deployment.keeps_tool_turns and body.get("tools"):
            capture = self._turns.capture(caller, deployment.tool_turn_reasoning, deployment.thought_signatures)
        return OpenAIChunkStream(response, deployment, on_failure, secret, body.get("n") or 1, capture)
