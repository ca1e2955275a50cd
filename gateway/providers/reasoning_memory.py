"""The reasoning of tool-call turns, kept for the APIs that want it back.

DeepSeek's thinking mode (on by default for V4) answers 400 "The reasoning_content in the thinking mode must be
passed back to the API" to a conversation whose earlier tool-call turns come back without their
`reasoning_content` (api-docs.deepseek.com/guides/thinking_mode, "Tool Calls"). OpenAI clients build the
assistant message from `content` and `tool_calls` and leave it out, and a turn another model answered has none.
So the gateway remembers the reasoning of each tool-call answer such a deployment gave, by the turn's first call
(its id and function name: the id is the upstream's random one), and puts it back (providers/adapt.py). It is kept
in process and, with Redis configured, in Redis too, so that a tool loop may reach any gateway replica.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.state import RedisState

# At most this many characters of reasoning are kept in process; the least recently used turn goes first.
MEMORY_CHARS = 32 * 1024 * 1024
SHARED_TTL_S = 24 * 3600.0  # in Redis: an agent session resumed the next day still finds its turns

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


def lacks_reasoning(message: Any) -> bool:
    """Whether a message is an assistant tool-call turn sent without its reasoning (an empty one counts as none:
    V4 Pro refuses it)."""
    if not (isinstance(message, dict) and message.get("role") == "assistant" and message.get("tool_calls")):
        return False
    reasoning = message.get("reasoning_content")
    return not (isinstance(reasoning, str) and reasoning)


def turns_lacking_reasoning(messages: Any) -> list[int]:
    """The indexes of the tool-call turns in `messages` sent without their reasoning."""
    if not isinstance(messages, list):
        return []
    return [index for index, message in enumerate(messages) if lacks_reasoning(message)]


def shared_key(key: TurnKey) -> str:
    return "gw:reasoning:" + hashlib.sha256(f"{key[0]}\0{key[1]}".encode()).hexdigest()[:32]


class ReasoningMemory:
    """Reasoning by tool-call turn: in process (bounded by MEMORY_CHARS) and, given Redis, shared by replicas.
    Best effort: Redis unreachable only means a turn is not found."""

    def __init__(self, shared: RedisState | None = None, limit_chars: int = MEMORY_CHARS) -> None:
        self._turns: OrderedDict[TurnKey, str] = OrderedDict()
        self._chars = 0
        self._limit = limit_chars
        self._shared = shared

    def _keep(self, key: TurnKey, reasoning: str) -> None:
        if len(reasoning) > self._limit:
            return
        previous = self._turns.pop(key, None)
        if previous is not None:
            self._chars -= len(previous)
        self._turns[key] = reasoning
        self._chars += len(reasoning)
        while self._chars > self._limit:
            _, forgotten = self._turns.popitem(last=False)
            self._chars -= len(forgotten)

    async def remember(self, tool_calls: Any, reasoning: Any) -> None:
        key = turn_key(tool_calls)
        if key is None or not isinstance(reasoning, str) or not reasoning:
            return
        self._keep(key, reasoning)
        if self._shared is not None:
            await self._shared.set_shared(shared_key(key), reasoning, SHARED_TTL_S)

    async def recall(self, messages: Sequence[Any], indexes: Sequence[int]) -> dict[int, str]:
        """The reasoning of the tool-call turns at `indexes` of `messages` that this gateway (or, given Redis,
        another replica) saw, by index."""
        found: dict[int, str] = {}
        unseen: list[tuple[int, TurnKey]] = []
        for index in indexes:
            key = turn_key(messages[index].get("tool_calls"))
            if key is None:
                continue
            reasoning = self._turns.get(key)
            if reasoning is not None:
                self._turns.move_to_end(key)
                found[index] = reasoning
            else:
                unseen.append((index, key))
        if unseen and self._shared is not None:
            shared = await asyncio.gather(*(self._shared.get_shared(shared_key(key)) for _, key in unseen))
            for (index, key), reasoning in zip(unseen, shared, strict=True):
                if reasoning:
                    self._keep(key, reasoning)
                    found[index] = reasoning
        return found

    async def remember_answer(self, answer: Mapping[str, Any]) -> None:
        """Keep the reasoning of each choice of a non-streamed answer that calls tools."""
        for choice in answer.get("choices") or ():
            message = choice.get("message") if isinstance(choice, Mapping) else None
            if isinstance(message, Mapping) and message.get("tool_calls"):
                await self.remember(message["tool_calls"], message.get("reasoning_content"))

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

    async def commit(self) -> None:
        for index, call in self._first_call.items():
            parts = self._reasoning.get(index)
            if parts:
                await self._memory.remember([call], "".join(parts))
