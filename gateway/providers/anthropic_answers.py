"""Pure translation of Anthropic Messages answers (whole, or as stream events) into OpenAI chat-completion shapes,
with their usage normalised (cumulative stream usage taken, never summed)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import UpstreamError
from gateway.providers.shapes import ANTHROPIC_USAGE_COUNTS, ANTHROPIC_USAGE_DETAILS, usage_problem
from gateway.usage import Usage, from_anthropic, merge_anthropic

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": block.get("name"), "arguments": orjson.dumps(block.get("input") or {}).decode()},
    }


def _checked_usage(usage: Any) -> Any:
    """`usage` itself, or ValueError when a count in it is not a whole number (it would bill as zero)."""
    problem = usage_problem(usage, ANTHROPIC_USAGE_COUNTS, ANTHROPIC_USAGE_DETAILS)
    if problem:
        raise ValueError(problem)
    return usage


THINKING_BLOCKS = ("thinking", "redacted_thinking")


def thinking_turn(blocks: list[Mapping[str, Any]]) -> tuple[tuple[str, str], list[dict[str, Any]]] | None:
    """A tool-call turn's (signed) thinking blocks in their place among its text and tool_use blocks (those as
    markers: `{"type": "text"}`, `{"type": "tool_use", "id": ...}`), by its first tool call's (id, name): what
    Messages wants back, in the same order, when the conversation goes on from that turn with thinking (None: no
    tool call, or no thinking)."""
    first = next((block for block in blocks if block.get("type") == "tool_use"), None)
    if not any(block.get("type") in THINKING_BLOCKS for block in blocks) or first is None \
            or not isinstance(first.get("id"), str) or not isinstance(first.get("name"), str):
        return None
    sequence: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") in THINKING_BLOCKS:
            sequence.append(dict(block))
        elif block.get("type") == "tool_use":
            sequence.append({"type": "tool_use", "id": block.get("id")})
        elif block.get("type") == "text":
            sequence.append({"type": "text"})
    return (first["id"], first["name"]), sequence


def from_messages_response(response: Mapping[str, Any]) -> tuple[dict[str, Any], Usage]:
    """An OpenAI chat.completion (and normalised usage) from an Anthropic Messages response; thinking is given as
    `reasoning_content` (as DeepSeek's and vLLM's APIs give theirs)."""
    blocks = response.get("content") or []
    text = "".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    tool_calls = [_tool_call(block) for block in blocks if block.get("type") == "tool_use"]
    reasoning = "".join(_text(block.get("thinking") or "") for block in blocks if block.get("type") == "thinking")
    usage = from_anthropic(_checked_usage(response.get("usage")))
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if tool_calls else "")}
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = tool_calls
    body = {
        "id": f"chatcmpl-{response.get('id', '')}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": STOP_REASONS.get(response.get("stop_reason") or "end_turn", "stop"),
                "logprobs": None,
            }
        ],
        "usage": usage.to_openai(),
    }
    return body, usage


def _text(value: Any) -> str:
    """Thinking text as it must be: a string (anything else is a malformed event, a 502)."""
    if not isinstance(value, str):
        raise ValueError(f"thinking is {type(value).__name__}, not text")
    return value


class StreamTranslator:
    """Turns Anthropic stream events into OpenAI chunks, tracking cumulative usage; thinking is streamed as
    `reasoning_content` (so a stream says something while the model thinks) and its blocks are kept whole."""

    def __init__(self) -> None:
        self._id = "chatcmpl-"
        self._model = ""
        self._created = int(time.time())
        self._tool_index_of_block: dict[int, int] = {}
        # Tool blocks with no input_json_delta yet, with the input their start carried: a tool called
        # without arguments gets no delta at all, and must still reach the client as "{}".
        self._no_arguments_yet: dict[int, Any] = {}
        self._raw_usage: dict[str, Any] = {}
        # The role goes out with the first chunk that says something (text, a tool call, the finish), not as a
        # chunk of its own at message_start: until then a failure (an overloaded_error event right after
        # message_start, say) comes before the stream's first chunk, and can still be retried or failed over.
        self._role_pending = True
        self.stopped = False  # a stop_reason arrived: the answer is whole (message_stop only ends the stream)
        self.finished = False
        self.blocks: list[dict[str, Any]] = []  # the thinking, text and tool_use blocks, in order (thinking_turn)
        self._block_at: dict[int, dict[str, Any]] = {}

    @property
    def usage(self) -> Usage | None:
        """Usage so far: the last cumulative values reported, never a sum of deltas."""
        return from_anthropic(self._raw_usage) if self._raw_usage else None

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        if self._role_pending:
            self._role_pending = False
            delta = {"role": "assistant", **delta}
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    def handle(self, event: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The OpenAI chunks for one Anthropic event (often none)."""
        kind = data.get("type", event)
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = f"chatcmpl-{message.get('id', '')}"
            self._model = message.get("model", "")
            self._raw_usage = merge_anthropic(self._raw_usage, _checked_usage(message.get("usage")))
            return []
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") in (*THINKING_BLOCKS, "tool_use", "text"):
                kept = {**block}
                self.blocks.append(kept)
                self._block_at[data.get("index", 0)] = kept
            if block.get("type") == "thinking" and block.get("thinking"):
                return [self._chunk({"reasoning_content": _text(block["thinking"])})]
            if block.get("type") == "tool_use":
                tool_index = len(self._tool_index_of_block)
                self._tool_index_of_block[data.get("index", 0)] = tool_index
                self._no_arguments_yet[data.get("index", 0)] = block.get("input")
                call = {"index": tool_index, "id": block.get("id"), "type": "function",
                        "function": {"name": block.get("name"), "arguments": ""}}
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [self._chunk({"content": delta["text"]})]
            if delta.get("type") in ("thinking_delta", "signature_delta"):
                return self._thinking(data.get("index", 0), delta)
            if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                self._no_arguments_yet.pop(data.get("index", 0), None)
                tool_index = self._tool_index_of_block.get(data.get("index", 0), 0)
                call = {"index": tool_index, "function": {"arguments": delta["partial_json"]}}
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "content_block_stop":
            return self._start_arguments(data.get("index", 0))
        if kind == "message_delta":
            self._raw_usage = merge_anthropic(self._raw_usage, _checked_usage(data.get("usage")))
            stop_reason = (data.get("delta") or {}).get("stop_reason")
            if stop_reason:
                self.stopped = True
                # A block never stopped still gets its arguments before the finish.
                pending = [c for block in list(self._no_arguments_yet) for c in self._start_arguments(block)]
                return [*pending, self._chunk({}, STOP_REASONS.get(stop_reason, "stop"))]
            return []
        if kind == "message_stop":
            self.finished = True
            chunk = self._chunk({})
            chunk["choices"] = []  # (the usage chunk: a stream without any other says nothing, role included)
            chunk["usage"] = (self.usage or Usage()).to_openai()
            return [chunk]
        if kind == "error":
            error = data.get("error") or {}
            raise UpstreamError(f"Anthropic stream error: {error.get('type', 'error')}: {error.get('message', '')}")
        return []  # ping: nothing for the client

    def _thinking(self, index: int, delta: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A thinking block's text (streamed as reasoning_content) or signature (kept)."""
        block = self._block_at.get(index)
        if delta["type"] == "signature_delta":
            if block is not None:
                block["signature"] = (block.get("signature") or "") + (delta.get("signature") or "")
            return []
        text = _text(delta.get("thinking") or "")
        if block is not None:
            block["thinking"] = (block.get("thinking") or "") + text
        return [self._chunk({"reasoning_content": text})] if text else []

    def _start_arguments(self, block: int) -> list[dict[str, Any]]:
        """The arguments of a finished tool block that streamed none: those its start carried, or "{}"."""
        if block not in self._no_arguments_yet:
            return []
        arguments = orjson.dumps(self._no_arguments_yet.pop(block) or {}).decode()
        call = {"index": self._tool_index_of_block[block], "function": {"arguments": arguments}}
        return [self._chunk({"tool_calls": [call]})]
