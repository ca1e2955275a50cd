"""OpenAI-compatible upstreams: OpenAI, DeepSeek, Together, Fireworks, Gemini, vLLM, the worker."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson

from gateway.catalogue import Deployment
from gateway.errors import GatewayError, MalformedAnswer, UpstreamError
from gateway.providers.adapt import adapted_request
from gateway.providers.base import Completion
from gateway.providers.http import SSEReader, UpstreamClients, error_detail, post, read_json
from gateway.providers.reasoning_memory import ReasoningMemory, StreamCapture, turns_lacking_reasoning
from gateway.providers.replicas import ReplicaFailover, home_replica, is_replica_failure
from gateway.providers.shapes import chunk_problem, completion_problem, usage_problem
from gateway.settings import Settings
from gateway.usage import Usage, from_openai, produced_chars


class OpenAIChunkStream:
    """Chunks of an OpenAI-compatible SSE stream, recording usage when the upstream reports it."""

    def __init__(self, response: aiohttp.ClientResponse, deployment: Deployment,
                 on_failure: Callable[[GatewayError], None] | None = None, secret: str | None = None,
                 choices: int = 1, reasoning: StreamCapture | None = None) -> None:
        self._response = response
        self._choices = choices  # the request's n: a stream is whole once each of them has finished
        self._deployment = deployment
        self._secret = secret  # scrubbed from the upstream's own error text
        self._finished = False  # every choice has its finish_reason
        self._events = SSEReader(response, deployment, whole=lambda: self._finished)
        self._on_failure = on_failure
        self._reasoning = reasoning  # what a tool-call answer reasoned, kept once the answer is whole
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
        reasoning = self._reasoning
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
            if reasoning is not None:
                reasoning.add(chunk)
            if not finished:
                for choice in chunk.get("choices") or ():
                    if choice.get("finish_reason"):
                        done.add(choice.get("index", 0))
                finished = self._finished = len(done) >= self._choices
                if finished and reasoning is not None:
                    await reasoning.commit()  # the answer is whole
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

    def __init__(self, clients: UpstreamClients, settings: Settings, reasoning: ReasoningMemory | None = None) -> None:
        self._clients = clients
        self._settings = settings
        self._failover = ReplicaFailover()
        self._reasoning = reasoning or ReasoningMemory()

    async def _request(self, deployment: Deployment,
                       body: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, str], str | None]:
        """Where to send the request, the request as this deployment takes it, its headers and the key."""
        reasoning = None
        if deployment.tool_turn_reasoning:
            lacking = turns_lacking_reasoning(body.get("messages"))
            if lacking:
                reasoning = await self._reasoning.recall(body["messages"], lacking)
        body = adapted_request(body, deployment, reasoning)
        secret = self._settings.secret(deployment.api_key_env)
        headers = {"content-type": "application/json"}
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        if deployment.replicas:
            base_url = self._failover.choose(deployment.replicas, prefix_key(body))
        else:
            base_url = deployment.base_url
        return base_url, f"{base_url}/chat/completions", body, headers, secret

    def _failed(self, deployment: Deployment, base_url: str, exc: GatewayError) -> None:
        """Send the retry of a request that a replica failed to the prefix's next replica."""
        if deployment.replicas and is_replica_failure(exc):
            self._failover.failed(base_url)

    async def complete(self, deployment: Deployment, body: dict[str, Any]) -> Completion:
        """Send a non-streaming request and normalise its usage."""
        base_url, url, body, headers, secret = await self._request(deployment, body)
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
        if deployment.tool_turn_reasoning:
            await self._reasoning.remember_answer(answer)
        reported = answer.get("usage")
        return Completion(answer, from_openai(reported) if reported else None)

    async def open_stream(self, deployment: Deployment, body: dict[str, Any]) -> OpenAIChunkStream:
        """Start a streaming request (the caller has already asked for usage in the stream)."""
        base_url, url, body, headers, secret = await self._request(deployment, body)
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
        capture = self._reasoning.capture() if deployment.tool_turn_reasoning else None
        return OpenAIChunkStream(response, deployment, on_failure, secret, body.get("n") or 1, capture)
