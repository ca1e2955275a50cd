"""The reasoning of tool-call turns, kept for the APIs that want it back.

DeepSeek's thinking mode (on by default for V4) answers 400 "The reasoning_content in the thinking mode must be
passed back to the API" to a conversation whose earlier tool-call turns come back without their
`reasoning_content` (api-docs.deepseek.com/guides/thinking_mode, "Tool Calls"). OpenAI clients build the
assistant message from `content` and `tool_calls` and leave it out, and a turn another model answered has none.
So the gateway remembers the reasoning of each tool-call answer such a deployment gave, by the turn's first call
(its id and function name: the id is the upstream's random one), and puts it back (providers/adapt.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

# At most this many characters of reasoning are kept; the least recently used turn is forgotten first.
MEMORY_CHARS = 32 * 1024 * 1024

TurnKey = tuple[str, str]


def turn_key(tool_calls: Any) -> TurnKey | None:
    """What identifies a tool-call turn: its first call's id and function name (None when it has neither)."""
    if not isinstance(tool_calls, list) or not tool_calls or not isinstance(tool_calls[0], Mapping):
        return None
    first = tool_calls[0]
    function = first.get("function")
    call_id, name = first.get("id"), function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
        return None
    return call_id, name


class ReasoningMemory:
    """Reasoning by tool-call turn, bounded by MEMORY_CHARS (in-process: a turn another gateway instance
    answered is not known here)."""

    def __init__(self, limit_chars: int = MEMORY_CHARS) -> None:
        self._turns: OrderedDict[TurnKey, str] = OrderedDict()
        self._chars = 0
        self._limit = limit_chars

    def remember(self, tool_calls: Any, reasoning: Any) -> None:
        key = turn_key(tool_calls)
        if key is None or not isinstance(reasoning, str) or not reasoning or len(reasoning) > self._limit:
            return
        previous = self._turns.pop(key, None)
        if previous is not None:
            self._chars -= len(previous)
        self._turns[key] = reasoning
        self._chars += len(reasoning)
        while self._chars > self._limit:
            _, forgotten = self._turns.popitem(last=False)
            self._chars -= len(forgotten)

    def recall(self, message: Mapping[str, Any]) -> str | None:
        """The reasoning of the turn an assistant message with tool calls is, if this gateway saw it."""
        key = turn_key(message.get("tool_calls"))
        reasoning = self._turns.get(key) if key is not None else None
        if reasoning is not None:
            self._turns.move_to_end(key)  # type: ignore[arg-type]
        return reasoning

    def remember_answer(self, answer: Mapping[str, Any]) -> None:
        """Keep the reasoning of each choice of a non-streamed answer that calls tools."""
        for choice in answer.get("choices") or ():
            message = choice.get("message") if isinstance(choice, Mapping) else None
            if isinstance(message, Mapping) and message.get("tool_calls"):
                self.remember(message["tool_calls"], message.get("reasoning_content"))

    def capture(self) -> StreamCapture:
        return StreamCapture(self)


class StreamCapture:
    """Collects, chunk by chunk, the reasoning and first call of each choice of a stream; `commit` keeps those
    of a whole answer."""

    def __init__(self, memory: ReasoningMemory) -> None:
        self._memory = memory
        self._reasoning: dict[Any, list[str]] = {}
        self._first_call: dict[Any, dict[str, Any]] = {}

    def add(self, chunk: Mapping[str, Any]) -> None:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if not isinstance(delta, Mapping):
                continue
            index = choice.get("index", 0)
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                self._reasoning.setdefault(index, []).append(reasoning)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, Mapping) and call.get("index", 0) == 0:
                    first = self._first_call.setdefault(index, {"function": {}})
                    function = call.get("function")
                    if call.get("id"):
                        first["id"] = call["id"]
                    if isinstance(function, Mapping) and function.get("name"):
                        first["function"]["name"] = function["name"]

    def commit(self) -> None:
        for index, call in self._first_call.items():
            parts = self._reasoning.get(index)
            if parts:
                self._memory.remember([call], "".join(parts))
