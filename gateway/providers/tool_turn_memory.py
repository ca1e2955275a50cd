"""What APIs want back of their earlier tool-call turns, kept for clients that do not send it.

- DeepSeek's thinking mode (on by default for V4) answers 400 "The reasoning_content in the thinking mode must be
  passed back to the API" to a conversation whose earlier tool-call turns come back without their
  `reasoning_content` (api-docs.deepseek.com/guides/thinking_mode, "Tool Calls").
- Gemini 3 answers 400 "Function call is missing a thought_signature" to a tool call sent back without the
  signature it came with (`extra_content.google.thought_signature` on its OpenAI-compatible endpoint;
  ai.google.dev/gemini-api/docs/thought-signatures).
- Anthropic's Messages API, with extended thinking on, wants the tool-call turn that the last tool results answer
  to start with its signed thinking blocks, which OpenAI messages have no place for.

OpenAI clients rebuild the assistant message from `content` and `tool_calls` and leave these out, and a turn
another model answered never had them. So the gateway remembers them from the answers of the deployments that
want them, by tool call (its id and function name: the id is the upstream's random one), and puts them back
(providers/adapt.py). They are kept per caller (an API key's calls are never another key's), in process and, with
Redis configured, in Redis too (for an hour), so that the next turn of a tool loop may reach any gateway replica.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.state import RedisState

log = logging.getLogger("gateway.providers")

# What is kept: a turn's reasoning (DeepSeek), a call's thought signature (Gemini), a turn's thinking blocks (Claude).
REASONING, SIGNATURE, THINKING = "reasoning", "signature", "thinking"
# In process: at most this many characters, counting ENTRY_COST for each entry; the least recently used goes first.
MEMORY_CHARS = 32 * 1024 * 1024
ENTRY_COST = 256
SHARED_TTL_S = 3600.0  # in Redis (as sticky sessions): a tool loop idle for an hour runs without
SHARED_MAX_CHARS = 256 * 1024  # longer reasoning is kept in process only: Redis also holds the budget counters

CallKey = tuple[str, str]


def call_key(call: Any) -> CallKey | None:
    """What identifies a tool call: its id and function name (None when it has neither)."""
    if not isinstance(call, Mapping):
        return None
    function = call.get("function")
    call_id, name = call.get("id"), function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
        return None
    return call_id, name


def _tool_turns(messages: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(messages, list):
        return []
    return [(index, message) for index, message in enumerate(messages)
            if isinstance(message, dict) and message.get("role") == "assistant"
            and isinstance(message.get("tool_calls"), list) and message["tool_calls"]]


def turns_lacking_reasoning(messages: Any) -> list[tuple[int, CallKey | None]]:
    """The tool-call turns sent without their reasoning (an empty one counts as none: V4 Pro refuses it), as
    (message index, the key of the turn's first call)."""
    lacking = []
    for index, message in _tool_turns(messages):
        reasoning = message.get("reasoning_content")
        if not (isinstance(reasoning, str) and reasoning):
            lacking.append((index, call_key(message["tool_calls"][0])))
    return lacking


def thought_signature(call: Any) -> str | None:
    """The thought signature a tool call carries (Gemini's OpenAI-compatible shape), or None."""
    extra = call.get("extra_content") if isinstance(call, Mapping) else None
    google = extra.get("google") if isinstance(extra, Mapping) else None
    signature = google.get("thought_signature") if isinstance(google, Mapping) else None
    return signature if isinstance(signature, str) and signature else None


def calls_lacking_signature(messages: Any) -> list[tuple[int, int, CallKey | None]]:
    """The tool calls sent without their thought signature, as (message index, call index, the call's key)."""
    return [(index, position, call_key(call)) for index, message in _tool_turns(messages)
            for position, call in enumerate(message["tool_calls"]) if thought_signature(call) is None]


def continued_tool_turn(messages: Any) -> CallKey | None:
    """The key of the tool-call turn a conversation goes on from (its last assistant message, when tool results
    follow it), or None."""
    if not isinstance(messages, list):
        return None
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, dict) and message.get("role") == "assistant":
            calls = message.get("tool_calls")
            answered = any(isinstance(m, dict) and m.get("role") == "tool" for m in messages[index + 1:])
            return call_key(calls[0]) if isinstance(calls, list) and calls and answered else None
    return None


def shared_key(kind: str, scope: str, key: CallKey) -> str:
    return f"gw:turn:{kind}:" + hashlib.sha256(f"{scope}\0{key[0]}\0{key[1]}".encode()).hexdigest()[:32]


Entry = tuple[str, str, CallKey]  # (kind, scope, call)


class ToolTurnMemory:
    """Reasoning and signatures by caller and tool call: in process (bounded by MEMORY_CHARS) and, given Redis,
    shared by replicas. Best effort: what Redis cannot store or give back is only not found, and writing to it
    never holds up an answer."""

    def __init__(self, shared: RedisState | None = None, limit_chars: int = MEMORY_CHARS) -> None:
        self._entries: OrderedDict[Entry, str] = OrderedDict()
        self._chars = 0
        self._limit = limit_chars
        self._shared = shared
        self._writes: set[asyncio.Task[None]] = set()  # shared writes under way (held: tasks are weakly referenced)

    def _keep(self, entry: Entry, value: str) -> None:
        if len(value) + ENTRY_COST > self._limit:
            return
        previous = self._entries.pop(entry, None)
        if previous is not None:
            self._chars -= len(previous) + ENTRY_COST
        self._entries[entry] = value
        self._chars += len(value) + ENTRY_COST
        while self._chars > self._limit:
            _, forgotten = self._entries.popitem(last=False)
            self._chars -= len(forgotten) + ENTRY_COST

    def remember(self, kind: str, scope: str, key: CallKey | None, value: Any) -> None:
        """Keep `value` in process now, and in Redis in the background."""
        if key is None or not isinstance(value, str) or not value:
            return
        self._keep((kind, scope, key), value)
        if self._shared is not None and len(value) <= SHARED_MAX_CHARS:
            task = asyncio.get_running_loop().create_task(self._share(shared_key(kind, scope, key), value))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _share(self, key: str, value: str) -> None:
        try:
            await self._shared.set_shared(key, value, SHARED_TTL_S)  # type: ignore[union-attr]
        except Exception:  # never the request's concern (set_shared answers Redis's own errors already)
            log.exception("tool-turn memory not shared")

    async def recall(self, kind: str, scope: str, keys: Sequence[CallKey | None]) -> dict[CallKey, str]:
        """What this gateway (or, given Redis, another replica) kept of `kind` for those calls of `scope`."""
        found: dict[CallKey, str] = {}
        unseen: list[CallKey] = []
        for key in dict.fromkeys(keys):
            if key is None:
                continue
            value = self._entries.get((kind, scope, key))
            if value is not None:
                self._entries.move_to_end((kind, scope, key))
                found[key] = value
            else:
                unseen.append(key)
        if unseen and self._shared is not None:
            values = await self._shared.get_shared_many([shared_key(kind, scope, key) for key in unseen])
            for key, value in zip(unseen, values, strict=True):
                if value:
                    self._keep((kind, scope, key), value)
                    found[key] = value
        return found

    def remember_answer(self, answer: Mapping[str, Any], scope: str, reasoning: bool, signatures: bool) -> None:
        """Keep what the choices of a non-streamed answer that calls tools carry."""
        for choice in answer.get("choices") or ():
            message = choice.get("message") if isinstance(choice, Mapping) else None
            calls = message.get("tool_calls") if isinstance(message, Mapping) else None
            if not isinstance(calls, list) or not calls:
                continue
            if reasoning:
                self.remember(REASONING, scope, call_key(calls[0]), message.get("reasoning_content"))
            if signatures:
                for call in calls:
                    self.remember(SIGNATURE, scope, call_key(call), thought_signature(call))

    def capture(self, scope: str, reasoning: bool, signatures: bool) -> StreamCapture:
        return StreamCapture(self, scope, reasoning, signatures)

    async def close(self) -> None:
        """Let the shared writes under way finish."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


def _position(index: Any) -> int:
    return index if isinstance(index, int) else 1 << 30


class StreamCapture:
    """Collects, chunk by chunk, each choice's reasoning and its calls' ids, names and signatures (assembled as
    the client assembles them); `commit` keeps those of a whole answer."""

    def __init__(self, memory: ToolTurnMemory, scope: str, reasoning: bool, signatures: bool) -> None:
        self._memory = memory
        self._scope = scope
        self._wants_reasoning = reasoning
        self._wants_signatures = signatures
        self._reasoning: dict[Any, list[str]] = {}
        self._calls: dict[Any, dict[Any, dict[str, Any]]] = {}  # choice index -> call index -> what it carries

    def add(self, chunk: Mapping[str, Any]) -> None:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            if not isinstance(delta, Mapping):
                continue
            index = choice.get("index", 0)
            reasoning = delta.get("reasoning_content")
            if self._wants_reasoning and isinstance(reasoning, str) and reasoning:
                self._reasoning.setdefault(index, []).append(reasoning)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else ():
                if not isinstance(call, Mapping):
                    continue
                seen = self._calls.setdefault(index, {}).setdefault(call.get("index", 0), {"function": {"name": ""}})
                function = call.get("function")
                if isinstance(call.get("id"), str) and call["id"]:
                    seen["id"] = call["id"]
                if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                    seen["function"]["name"] += function["name"]  # as the gateway's assembler joins the pieces
                if thought_signature(call):
                    seen["extra_content"] = call["extra_content"]

    def commit(self) -> None:
        for index, calls in self._calls.items():
            ordered = [calls[position] for position in sorted(calls, key=_position)]
            if self._wants_reasoning and self._reasoning.get(index):
                self._memory.remember(REASONING, self._scope, call_key(ordered[0]), "".join(self._reasoning[index]))
            if self._wants_signatures:
                for call in ordered:
                    self._memory.remember(SIGNATURE, self._scope, call_key(call), thought_signature(call))
