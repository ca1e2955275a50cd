"""OpenAI-compatible upstreams: OpenAI, DeepSeek, Together, Fireworks, Gemini, vLLM, the worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from gateway.catalogue import Deployment
from gateway.errors import UpstreamError
from gateway.providers.base import Completion
from gateway.providers.http import UpstreamClients, post, read_json, sse_events
from gateway.settings import Settings
from gateway.usage import Usage, from_openai


class OpenAIChunkStream:
    """Chunks of an OpenAI-compatible SSE stream, recording usage when the upstream reports it."""

    def __init__(self, response: aiohttp.ClientResponse, deployment: Deployment) -> None:
        self._response = response
        self._deployment = deployment
        self._events = sse_events(response, deployment)
        self.usage: Usage | None = None

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for _event, data in self._events:
            if data == b"[DONE]":
                break
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise UpstreamError(f"upstream {self._deployment.name} sent a stream event that is not JSON.") from None
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise UpstreamError(f"upstream {self._deployment.name} failed mid-stream: {message}")
            if chunk.get("usage"):
                self.usage = from_openai(chunk["usage"])
            yield chunk

    async def aclose(self) -> None:
        """Stop reading and drop the upstream connection if the stream did not finish."""
        await self._events.aclose()


class OpenAICompatProvider:
    """Talks the OpenAI chat-completions wire format to any compatible upstream."""

    def __init__(self, clients: UpstreamClients, settings: Settings) -> None:
        self._clients = clients
        self._settings = settings

    def _request(self, deployment: Deployment) -> tuple[str, dict[str, str], str | None]:
        secret = self._settings.secret(deployment.api_key_env)
        headers = {"content-type": "application/json"}
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        return f"{deployment.base_url}/chat/completions", headers, secret

    async def complete(self, deployment: Deployment, body: dict[str, Any]) -> Completion:
        """Send a non-streaming request and normalise its usage."""
        url, headers, secret = self._request(deployment)
        session = self._clients.session(deployment.base_url)
        response = await post(session, url, body, headers, deployment, secret)
        answer = await read_json(response, deployment)
        return Completion(answer, from_openai(answer.get("usage")))

    async def open_stream(self, deployment: Deployment, body: dict[str, Any]) -> OpenAIChunkStream:
        """Start a streaming request (the caller has already asked for usage in the stream)."""
        url, headers, secret = self._request(deployment)
        headers["accept"] = "text/event-stream"
        session = self._clients.session(deployment.base_url)
        response = await post(session, url, body, headers, deployment, secret)
        return OpenAIChunkStream(response, deployment)
