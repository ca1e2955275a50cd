"""A deterministic offline upstream for the demo, tests and benchmarks.

It answers in OpenAI shapes with plausible text, counts tokens from the request (about four
characters a token), reports cache hits when a request repeats an earlier one's message
prefix, emits schema-shaped tool calls when tools are offered, and can be given latency
(`latency_ms`, `ms_per_token`), a failure rate (`failure_rate`) and a tool-call validity rate
(`tool_call_validity`) per deployment through the catalogue's `simulation` mapping.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from gateway.catalogue import Deployment
from gateway.errors import UpstreamError
from gateway.providers.base import Completion
from gateway.toolcalls import is_function_tool, tool_name
from gateway.usage import Usage, estimate_tokens

WORDS = (
    "the gateway routes each request to a model that is good enough for the task and cheap enough "
    "for the budget while the ledger records what it cost and what it saved compared with the baseline "
    "so that teams can see spend by category and decide where quality matters most in production traffic"
).split()
CACHE_BLOCK_TOKENS = 64  # providers cache prompt prefixes in blocks; partial blocks are not hits
MAX_REMEMBERED_PREFIXES = 4096


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    text = f"{message.get('role', '')}: {content or ''}"
    if message.get("tool_calls"):
        text += orjson.dumps(message["tool_calls"]).decode()
    return text


def _sample_value(schema: Mapping[str, Any], rng: random.Random) -> Any:
    kind = schema.get("type")
    if "enum" in schema and schema["enum"]:
        return rng.choice(schema["enum"])
    if kind == "integer":
        return rng.randint(1, 100)
    if kind == "number":
        return round(rng.uniform(1, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [_sample_value(schema.get("items") or {"type": "string"}, rng)]
    if kind == "object":
        return _sample_object(schema, rng)
    return " ".join(rng.choice(WORDS) for _ in range(2))


def _sample_object(schema: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    return {name: _sample_value(prop or {}, rng) for name, prop in properties.items()}


class SimulatedProvider:
    """Answers like an OpenAI-compatible upstream without any network."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._prefix_tokens: OrderedDict[bytes, int] = OrderedDict()
        self._failures = random.Random(seed)

    def _cached_tokens(self, deployment: Deployment, messages: list[Mapping[str, Any]]) -> tuple[int, int]:
        """(prompt tokens, cached tokens): a hit is the longest earlier-seen message prefix."""
        digest = hashlib.blake2b(deployment.name.encode(), digest_size=16)
        tokens = cached = 0
        for message in messages:
            tokens += estimate_tokens(_message_text(message))
            digest.update(orjson.dumps(message, option=orjson.OPT_SORT_KEYS))
            key = digest.copy().digest()
            if key in self._prefix_tokens:
                cached = self._prefix_tokens[key]
                self._prefix_tokens.move_to_end(key)
            else:
                self._prefix_tokens[key] = tokens
                if len(self._prefix_tokens) > MAX_REMEMBERED_PREFIXES:
                    self._prefix_tokens.popitem(last=False)
        cached = min(cached, tokens) // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS
        return tokens, cached

    def _answer(self, deployment: Deployment, body: Mapping[str, Any]) -> tuple[dict[str, Any], Usage]:
        options = deployment.simulation
        if options.get("failure_rate") and self._failures.random() < float(options["failure_rate"]):
            raise UpstreamError(f"upstream {deployment.name} failed with HTTP 500: simulated failure")
        messages = list(body.get("messages") or [])
        seed_material = orjson.dumps([deployment.name, messages, self._seed], option=orjson.OPT_SORT_KEYS)
        rng = random.Random(hashlib.blake2b(seed_material, digest_size=8).digest())
        prompt_tokens, cached = self._cached_tokens(deployment, messages)
        if body.get("tools"):
            prompt_tokens += estimate_tokens(orjson.dumps(body["tools"]).decode())
        choices = []
        output_tokens = 0
        for index in range(max(1, int(body.get("n") or 1))):  # each of the n choices drawn in turn
            message, finish, produced = self._message(body, rng, float(options.get("tool_call_validity", 1.0)))
            choices.append({"index": index, "message": message, "finish_reason": finish, "logprobs": None})
            output_tokens += produced
        usage = Usage(input=prompt_tokens - cached, cached_input=cached, output=output_tokens)
        answer = {
            "id": f"chatcmpl-sim-{rng.getrandbits(48):012x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": deployment.upstream_model,
            "choices": choices,
            "usage": usage.to_openai(),
        }
        return answer, usage

    def _message(self, body: Mapping[str, Any], rng: random.Random, validity: float) -> tuple[dict[str, Any], str, int]:
        """One choice: the assistant message, its finish_reason and the tokens it took."""
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or 256
        message: dict[str, Any] = {"role": "assistant", "content": None}
        tool_call = self._tool_call(body, rng, validity)
        if tool_call:
            message["tool_calls"] = [tool_call]
            return message, "tool_calls", estimate_tokens(tool_call["function"]["arguments"]) + 8
        wanted = rng.randint(20, 160)
        output_tokens = min(wanted, int(limit))
        if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
            schema = ((body["response_format"].get("json_schema") or {}).get("schema")) or {}
            message["content"] = orjson.dumps(_sample_object(schema, rng) or {"answer": "ok"}).decode()
        else:
            message["content"] = " ".join(rng.choice(WORDS) for _ in range(output_tokens)).capitalize() + "."
        return message, "length" if output_tokens < wanted else "stop", output_tokens

    @staticmethod
    def _tool_call(body: Mapping[str, Any], rng: random.Random, validity: float) -> dict[str, Any] | None:
        functions = [tool["function"] for tool in body.get("tools") or () if is_function_tool(tool)]
        choice = body.get("tool_choice", "auto")
        last_role = (body.get("messages") or [{}])[-1].get("role")
        if not functions or choice == "none" or (choice == "auto" and last_role == "tool"):
            return None  # (custom tools take free-form text: the simulation answers those in words)
        function = functions[0]
        if isinstance(choice, Mapping) and choice.get("type", "function") == "function":
            wanted = tool_name(choice)
            function = next((f for f in functions if f["name"] == wanted), function)
        schema = function.get("parameters") or {}
        arguments = orjson.dumps(_sample_object(schema, rng)).decode()
        if rng.random() >= validity:
            arguments = arguments[: max(1, len(arguments) // 2)]  # a truncated, invalid call
        return {"id": f"call_{rng.getrandbits(48):012x}", "type": "function",
                "function": {"name": function["name"], "arguments": arguments}}

    async def complete(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> Completion:
        """Answer after the configured latency."""
        answer, usage = self._answer(deployment, body)
        options = deployment.simulation
        delay = float(options.get("latency_ms", 0)) + float(options.get("ms_per_token", 0)) * usage.output
        if delay:
            await asyncio.sleep(delay / 1000)
        return Completion(answer, usage)

    async def open_stream(self, deployment: Deployment, body: dict[str, Any], caller: str = "") -> SimulatedStream:
        """Stream the same answer `complete` would give, a few words per chunk."""
        answer, usage = self._answer(deployment, body)
        return SimulatedStream(answer, usage, deployment.simulation)


class SimulatedStream:
    """Chunks of a simulated answer, paced by the configured per-token latency."""

    buffered = False  # paced chunks: each is sent as it is made

    def __init__(self, answer: dict[str, Any], usage: Usage, options: Mapping[str, Any]) -> None:
        self._answer = answer
        self._final_usage = usage
        self._options = options
        self.usage: Usage | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
        return {"id": self._answer["id"], "object": "chat.completion.chunk", "created": self._answer["created"],
                "model": self._answer["model"],
                "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        first_delay = float(self._options.get("latency_ms", 0)) / 1000
        per_token = float(self._options.get("ms_per_token", 0)) / 1000
        if first_delay:
            await asyncio.sleep(first_delay)
        for choice in self._answer["choices"]:  # several choices (n > 1) stream one after the other
            async for chunk in self._choice_chunks(choice, per_token):
                yield chunk
        self.usage = self._final_usage
        final = self._chunk({})
        final["choices"] = []
        final["usage"] = self._final_usage.to_openai()
        yield final

    async def _choice_chunks(self, choice: Mapping[str, Any], per_token: float) -> AsyncIterator[dict[str, Any]]:
        index, message = choice["index"], choice["message"]
        yield self._chunk({"role": "assistant", "content": ""}, index=index)
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            yield self._chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                               "function": {"name": call["function"]["name"], "arguments": ""}}]},
                              index=index)
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 16):
                piece = {"index": 0, "function": {"arguments": arguments[start:start + 16]}}
                yield self._chunk({"tool_calls": [piece]}, index=index)
        else:
            words = (message.get("content") or "").split(" ")
            for start in range(0, len(words), 4):
                if per_token:
                    await asyncio.sleep(per_token * 4)
                piece = " ".join(words[start:start + 4])
                yield self._chunk({"content": piece if start == 0 else " " + piece}, index=index)
        yield self._chunk({}, choice["finish_reason"], index=index)

    async def aclose(self) -> None:
        """Nothing to release."""
