"""Normalise every provider's usage payload into one `Usage` value.

The fields are disjoint so that nothing is billed twice:
``input`` (uncached prompt tokens) + ``cached_input`` (cache reads) + ``cache_write``
(cache writes) = all prompt tokens. ``reasoning`` is a subset of ``output``, reported for
visibility only (providers bill it as output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one request, in disjoint billing buckets."""

    input: int = 0
    cached_input: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0
    cache_write_1h: int = 0  # the part of cache_write with a 1-hour TTL (priced higher)

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens, however billed."""
        return self.input + self.cached_input + self.cache_write

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input + other.input,
            self.cached_input + other.cached_input,
            self.cache_write + other.cache_write,
            self.output + other.output,
            self.reasoning + other.reasoning,
            self.cache_write_1h + other.cache_write_1h,
        )

    def to_openai(self) -> dict[str, Any]:
        """This usage in OpenAI's shape (prompt_tokens includes cached tokens)."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.output,
            "total_tokens": self.prompt_tokens + self.output,
            "prompt_tokens_details": {"cached_tokens": self.cached_input, "cache_write_tokens": self.cache_write},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        }


# No request comes near a trillion tokens; a count past it is garbage, and priced it would overflow
# the ledger's money column (NUMERIC(20, 10)). Upstream shapes are checked against it (providers/shapes.py).
MAX_TOKEN_COUNT = 10**12


def _int(value: Any) -> int:
    """A token count; 12.0 is 12 (some upstreams send floats), anything else not positive is 0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def with_cached_tokens(usage: Any) -> None:
    """Give usage in DeepSeek's shape (`prompt_cache_hit_tokens`) OpenAI's `prompt_tokens_details.cached_tokens`
    too (in place), so that a client reading OpenAI's field finds the cached tokens on every route."""
    if not isinstance(usage, dict) or "prompt_cache_hit_tokens" not in usage:
        return
    details = usage.get("prompt_tokens_details")
    if not isinstance(details, dict):
        details = usage["prompt_tokens_details"] = {}
    if details.get("cached_tokens") is None:
        details["cached_tokens"] = _int(usage["prompt_cache_hit_tokens"])


def from_openai(usage: Mapping[str, Any] | None) -> Usage:
    """OpenAI-compatible usage (OpenAI, DeepSeek, Together, Fireworks, Gemini, vLLM, worker).

    OpenAI's ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``. DeepSeek reports
    ``prompt_cache_hit_tokens`` + ``prompt_cache_miss_tokens`` (= prompt_tokens) and may also send
    ``prompt_tokens_details.cached_tokens`` for the same tokens: read the hit field first and
    never add the two. OpenAI's ``completion_tokens`` includes the reasoning tokens; Gemini's leaves its
    thinking out, which only ``total_tokens`` counts (and which Google bills as output): a total above
    prompt + completion is output too, reasoning.
    """
    if not usage:
        return Usage()
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details") or {}
    if "prompt_cache_hit_tokens" in usage:
        cached = _int(usage.get("prompt_cache_hit_tokens"))
        miss = usage.get("prompt_cache_miss_tokens")
        uncached = _int(miss) if miss is not None else max(prompt - cached, 0)
    else:
        cached = min(_int(details.get("cached_tokens")), prompt)
        uncached = prompt - cached
    # Some OpenAI-compatible upstreams also report cache writes inside prompt_tokens.
    written = min(_int(details.get("cache_write_tokens")), uncached)
    completion_details = usage.get("completion_tokens_details") or {}
    output = _int(usage.get("completion_tokens"))
    reasoning = _int(completion_details.get("reasoning_tokens"))
    total = _int(usage.get("total_tokens"))  # (read only: a total of another shape does not fail an answer)
    unlisted = (total if total <= MAX_TOKEN_COUNT else 0) - cached - uncached - output
    if unlisted > 0:
        output += unlisted
        reasoning = max(reasoning, unlisted)
    return Usage(
        input=uncached - written,
        cached_input=cached,
        cache_write=written,
        output=output,
        reasoning=reasoning,
    )


def from_anthropic(usage: Mapping[str, Any] | None) -> Usage:
    """Anthropic Messages usage: ``input_tokens`` excludes cache reads and cache writes."""
    if not usage:
        return Usage()
    creation = usage.get("cache_creation") or {}
    return Usage(
        input=_int(usage.get("input_tokens")),
        cached_input=_int(usage.get("cache_read_input_tokens")),
        cache_write=_int(usage.get("cache_creation_input_tokens")),
        output=_int(usage.get("output_tokens")),
        cache_write_1h=_int(creation.get("ephemeral_1h_input_tokens")),
    )


def merge_anthropic(current: Mapping[str, Any], update: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fold a ``message_delta`` usage into the one from ``message_start``.

    Anthropic's streamed usage is cumulative: a later value replaces an earlier one, it is
    never added to it.
    """
    merged = dict(current)
    for key, value in (update or {}).items():
        if value is not None:
            merged[key] = value
    return merged


# What an image in a prompt costs, whatever its size in the request: OpenAI bills 85 to ~1,100 tokens an
# image, Anthropic about (width x height) / 750, at most ~1,600. Its base64 bytes are no measure of it.
IMAGE_TOKENS = 1_000


def inline_images(messages: Any) -> tuple[int, int]:
    """(how many image parts the messages carry, the characters of their URLs: base64 data for inline ones)."""
    count = chars = 0
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, Mapping) else None
                count += 1
                chars += len(url) if isinstance(url, str) else 0
    return count, chars


def prompt_bytes(body: Mapping[str, Any], size: int) -> int:
    """The bytes of a `size`-byte request that stand for prompt tokens (~4 a token), an image counting as
    IMAGE_TOKENS rather than its base64 bytes."""
    count, chars = inline_images(body.get("messages"))
    return max(1, size - chars + 4 * IMAGE_TOKENS * count) if count else size


def estimate_tokens(text: str) -> int:
    """A provider-neutral token estimate: about four characters per token."""
    return max(1, (len(text) + 3) // 4)


def estimated_usage(body: Mapping[str, Any], produced_chars: int = 0) -> Usage:
    """What an upstream that never reported usage billed: the prompt sent, ~4 characters a token produced."""
    sent = len(orjson.dumps(body.get("messages") or []).decode())
    return Usage(input=max(1, (prompt_bytes(body, sent) + 3) // 4), output=(produced_chars + 3) // 4)


def produced_chars(part: Any) -> int:
    """The size of an answer's part whose shape cannot be trusted (a malformed answer's choices or content), as
    JSON: what the upstream produced, erring high."""
    try:
        return len(orjson.dumps(part)) if part else 0
    except (TypeError, orjson.JSONEncodeError):
        return 0


def answer_chars(answer: Mapping[str, Any]) -> int:
    """The characters a chat.completion produced: every choice's content, reasoning and tool-call arguments."""
    chars = 0
    for choice in answer.get("choices") or ():
        message = choice.get("message") or {}
        chars += len(message.get("content") or "")
        reasoning = message.get("reasoning_content")
        chars += len(reasoning) if isinstance(reasoning, str) else 0
        chars += call_chars(message.get("tool_calls") or ())
    return chars


def call_chars(calls: Any) -> int:
    """The characters of tool calls' arguments (a custom tool's input), whole or a stream's pieces of them."""
    chars = 0
    for call in calls if isinstance(calls, list | tuple) else ():
        if isinstance(call, Mapping):
            function, custom = call.get("function"), call.get("custom")
            chars += len(function.get("arguments") or "") if isinstance(function, Mapping) else 0
            chars += len(custom.get("input") or "") if isinstance(custom, Mapping) else 0
    return chars
