"""A defensive, flattened view of a chat-completions body: the texts and counts the classifier reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Caps keep the work per request bounded whatever the client sends; the classifier only ever
# looks at windows of these texts, so nothing is lost by cutting here.
_MAX_TASK_CHARS = 64_000
_MAX_SIDE_CHARS = 2_000
_TEXT_PART_TYPES = frozenset({"text", "input_text"})
_USER_ROLES = frozenset({"user"})
_SYSTEM_ROLES = frozenset({"system", "developer"})
_TOOL_ROLES = frozenset({"tool", "function"})


@dataclass(frozen=True, slots=True)
class RequestView:
    """The parts of a request the classifier uses, all plain strings and counts."""

    task: str  # the last user turn (or, lacking one, the last text of any role)
    system: str
    previous_user: str
    history: str  # earlier user and assistant text, capped, for overlap with the task
    n_messages: int
    n_user_turns: int
    n_assistant_turns: int
    has_tools: bool
    tool_text: str  # tool names and descriptions
    tool_choice_forced: bool
    tool_calls_in_history: bool
    n_tool_results: int
    last_role: str
    response_format: str  # "", "json_object", "json_schema", "text" or another declared type
    has_image: bool


def content_text(content: Any) -> str:
    """Flatten one message's content (string, list of parts, part, None) to plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, list | tuple):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and str(part.get("type", "text")) in _TEXT_PART_TYPES:
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "\n".join(texts)
    return ""


def _has_image(content: Any) -> bool:
    if not isinstance(content, list | tuple):
        return False
    return any(isinstance(p, Mapping) and str(p.get("type", "")).startswith(("image", "input_image")) for p in content)


def _tool_text(tools: Any, functions: Any) -> str:
    parts: list[str] = []
    for spec in [*(tools if isinstance(tools, list) else ()), *(functions if isinstance(functions, list) else ())]:
        if not isinstance(spec, Mapping):
            continue
        inner = spec.get("function") or spec.get("custom")
        fn = inner if isinstance(inner, Mapping) else spec
        for key in ("name", "description"):
            value = fn.get(key)
            if isinstance(value, str):
                parts.append(value[:300])
        if sum(map(len, parts)) > _MAX_SIDE_CHARS:
            break
    return " ".join(parts)[:_MAX_SIDE_CHARS]


def _response_format(value: Any) -> str:
    if isinstance(value, Mapping):
        kind = value.get("type")
        return kind if isinstance(kind, str) else "unknown"
    return value if isinstance(value, str) else ""


def view_request(request: Any) -> RequestView:
    """Build a RequestView from any parsed JSON value; malformed parts read as absent."""
    req: Mapping[str, Any] = request if isinstance(request, Mapping) else {}
    raw = req.get("messages")
    messages = [m for m in raw if isinstance(m, Mapping)] if isinstance(raw, list) else []

    user_texts: list[str] = []
    system_texts: list[str] = []
    other_texts: list[tuple[str, str]] = []
    n_assistant = n_tool_results = 0
    tool_calls = has_image = False
    for msg in messages:
        role = msg.get("role")
        role = role if isinstance(role, str) else ""
        content = msg.get("content")
        if role in _USER_ROLES:
            user_texts.append(content_text(content)[:_MAX_TASK_CHARS])
            has_image = has_image or _has_image(content)
        elif role in _SYSTEM_ROLES:
            system_texts.append(content_text(content)[:_MAX_SIDE_CHARS])
        elif role in _TOOL_ROLES:
            n_tool_results += 1
        elif role == "assistant":
            n_assistant += 1
            tool_calls = tool_calls or bool(msg.get("tool_calls")) or bool(msg.get("function_call"))
            other_texts.append((role, content_text(content)[:_MAX_SIDE_CHARS]))

    if user_texts:
        task = user_texts[-1]
    else:  # no user turn: classify whatever instruction text there is
        fallback = [t for _, t in other_texts] + system_texts
        task = next((t for t in reversed(fallback) if t.strip()), "")
    history_parts = user_texts[:-1] + [t for _, t in other_texts]
    history = " ".join(p[:_MAX_SIDE_CHARS] for p in history_parts)[: 4 * _MAX_SIDE_CHARS]

    tools, functions = req.get("tools"), req.get("functions")
    tool_choice = req.get("tool_choice")
    forced = isinstance(tool_choice, Mapping) or tool_choice == "required"
    last_role = messages[-1].get("role") if messages else ""
    return RequestView(
        task=task,
        system=" ".join(system_texts)[:_MAX_SIDE_CHARS],
        previous_user=user_texts[-2][:_MAX_SIDE_CHARS] if len(user_texts) > 1 else "",
        history=history,
        n_messages=len(messages),
        n_user_turns=len(user_texts),
        n_assistant_turns=n_assistant,
        has_tools=bool(tools if isinstance(tools, list) else None)
        or bool(functions if isinstance(functions, list) else None),
        tool_text=_tool_text(tools, functions),
        tool_choice_forced=forced,
        tool_calls_in_history=tool_calls,
        n_tool_results=n_tool_results,
        last_role=last_role if isinstance(last_role, str) else "",
        response_format=_response_format(req.get("response_format")),
        has_image=has_image,
    )
