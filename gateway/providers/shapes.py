"""Shape checks for what OpenAI-compatible upstreams send, before the gateway reads or relays it.

Only the fields the gateway itself reads are checked (choices, message, delta, content, tool calls,
finish_reason, usage), in plain isinstance tests: they run on every answer and every stream chunk.
An answer of another shape is the upstream's fault, reported as a 502 (retried and failed over
like any upstream failure) instead of failing later inside the gateway as a 500.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gateway.usage import MAX_TOKEN_COUNT

# The usage fields gateway.usage reads (others, such as audio counts, pass unchecked; total_tokens is read only
# when it is a count, so a total of another shape does not fail an answer).
USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens")
USAGE_DETAILS = {"prompt_tokens_details": ("cached_tokens", "cache_write_tokens"),
                 "completion_tokens_details": ("reasoning_tokens",)}
ANTHROPIC_USAGE_COUNTS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
ANTHROPIC_USAGE_DETAILS = {"cache_creation": ("ephemeral_1h_input_tokens",)}


def _count_problem(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return not (math.isfinite(value) and 0 <= value <= MAX_TOKEN_COUNT and value == int(value))


def usage_problem(usage: Any, counts: tuple[str, ...] = USAGE_COUNTS,
                  details_fields: Mapping[str, tuple[str, ...]] = USAGE_DETAILS) -> str | None:
    """What is wrong with a usage object (None when it is absent or well formed): every count the
    gateway reads a non-negative whole number, every details object it reads a mapping. A count of
    another type would otherwise be billed as zero."""
    if usage is None:
        return None
    if not isinstance(usage, Mapping):
        return "usage is not an object"
    for name in counts:
        if _count_problem(usage.get(name)):
            return f"usage.{name} is not a token count"
    for name, keys in details_fields.items():
        details = usage.get(name)
        if details is None:
            continue
        if not isinstance(details, Mapping):
            return f"usage.{name} is not an object"
        for key in keys:
            if _count_problem(details.get(key)):
                return f"usage.{name}.{key} is not a token count"
    return None


def _call_body_problem(call: Mapping[str, Any], part: str, keys: tuple[str, str], where: str,
                       partial: bool) -> str | None:
    """What is wrong with a tool call's `part` ({'name', 'arguments'} or a custom call's {'name', 'input'})."""
    body = call.get(part)
    if body is None and partial:
        return None
    if not isinstance(body, Mapping):
        return f"{where}.{part} is not an object"
    for key in keys:
        value = body.get(key)
        if not (isinstance(value, str) or (partial and value is None)):  # deltas send pieces
            return f"{where}.{part}.{key} is not a string"
    return None


def _tool_calls_problem(calls: Any, where: str, partial: bool) -> str | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return f"{where}.tool_calls is not an array"
    for i, call in enumerate(calls):
        if not isinstance(call, Mapping):
            return f"{where}.tool_calls[{i}] is not an object"
        index, call_id = call.get("index"), call.get("id")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            return f"{where}.tool_calls[{i}].index is not an integer"
        if call_id is not None and not isinstance(call_id, str):
            return f"{where}.tool_calls[{i}].id is not a string"
        if call.get("type") == "custom" or "custom" in call:  # a custom tool's call: free-form input
            problem = _call_body_problem(call, "custom", ("name", "input"), f"{where}.tool_calls[{i}]", partial)
        else:
            problem = _call_body_problem(call, "function", ("name", "arguments"), f"{where}.tool_calls[{i}]", partial)
        if problem:
            return problem
    return None


def _message_problem(message: Any, where: str, partial: bool) -> str | None:
    if message is None:
        return None
    if not isinstance(message, Mapping):
        return f"{where} is not an object"
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        return f"{where}.content is not a string"
    return _tool_calls_problem(message.get("tool_calls"), where, partial)


def _choices_problem(choices: Any, part: str, partial: bool) -> str | None:
    if choices is None:
        return None
    if not isinstance(choices, list):
        return "choices is not an array"
    for i, choice in enumerate(choices):
        if not isinstance(choice, Mapping):
            return f"choices[{i}] is not an object"
        index = choice.get("index")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            return f"choices[{i}].index is not an integer"
        finish = choice.get("finish_reason")
        if finish is not None and not isinstance(finish, str):
            return f"choices[{i}].finish_reason is not a string"
        problem = _message_problem(choice.get(part), f"choices[{i}].{part}", partial)
        if problem:
            return problem
    return None


def completion_problem(body: Mapping[str, Any]) -> str | None:
    """What is wrong with a non-streaming chat.completion (None when the gateway can read it)."""
    if body.get("choices") is None:
        return "it has no choices"
    return _choices_problem(body.get("choices"), "message", partial=False) or usage_problem(body.get("usage"))


def chunk_problem(chunk: Mapping[str, Any]) -> str | None:
    """What is wrong with one chat.completion.chunk (deltas may carry partial tool calls)."""
    return _choices_problem(chunk.get("choices"), "delta", partial=True) or usage_problem(chunk.get("usage"))
