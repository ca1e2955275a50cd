"""Validate tool calls and json_schema answers against the request; assemble streamed calls. Pure."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import orjson
import referencing
import referencing.exceptions
import referencing.jsonschema


def tool_name(spec: Any) -> str | None:
    """The name in a tool, a named tool_choice or a tool call: {'type': 'function', 'function': {'name'}}
    or {'type': 'custom', 'custom': {'name'}} (the type defaults to function)."""
    if not isinstance(spec, Mapping):
        return None
    kind = spec.get("type", "function")
    inner = spec.get(kind) if isinstance(kind, str) else None
    name = inner.get("name") if isinstance(inner, Mapping) else None
    return name if isinstance(name, str) else None


def is_function_tool(tool: Mapping[str, Any]) -> bool:
    """A function tool (JSON arguments under a schema), as opposed to a custom tool (free-form input)."""
    return tool.get("type", "function") == "function"


def _tools_by_name(request: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {tool["function"]["name"]: tool["function"] for tool in request.get("tools") or () if is_function_tool(tool)}


def _no_retrieval(uri: str) -> referencing.Resource:
    """The registry's fetcher: the gateway never fetches a schema a client names (no request to an address of
    the client's choosing, no wait on the network while validating)."""
    raise referencing.exceptions.NoSuchResource(ref=uri)


_LOCAL_ONLY = referencing.Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]


def _refs(schema: Any) -> list[str]:
    """Every `$ref` string in a schema, however deeply nested."""
    found: list[str] = []
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.append(ref)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


# Agents send the same tools every turn: compiling a validator (and checking the schema against
# its meta-schema and its references) once per distinct schema, not per request, keeps validation
# off the profile.
@functools.lru_cache(maxsize=2048)
def _compiled(schema_json: bytes) -> Any:
    schema = orjson.loads(schema_json)
    try:
        return _compile(schema)
    except jsonschema.SchemaError:
        raise
    except (AttributeError, TypeError, ValueError, LookupError, referencing.exceptions.Unresolvable) as exc:
        # jsonschema and referencing read keywords such as $schema and $id without checking their types
        # first: whatever they trip on in a client's schema is the client's to fix, not a server error.
        raise jsonschema.SchemaError(f"the schema cannot be compiled ({type(exc).__name__}: {exc})"[:300]) from None


def _compile(schema: Any) -> Any:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)  # raises SchemaError for a schema that is itself invalid
    refs = _refs(schema)
    if refs:
        root = referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012)
        resolver = _LOCAL_ONLY.resolver_with_root(root)
        for ref in refs:
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                raise jsonschema.SchemaError(
                    f"$ref {ref!r} does not resolve within the schema (the gateway does not fetch schemas from "
                    "elsewhere): define it under $defs and refer to it as '#/$defs/<name>'") from None
    return validator_class(schema, registry=_LOCAL_ONLY)


def _validator(schema: Mapping[str, Any]) -> Any:
    return _compiled(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


def schema_error(schema: Mapping[str, Any]) -> str | None:
    """Why `schema` is not a valid JSON Schema (the client's mistake), or None."""
    try:
        _validator(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(map(str, exc.path))
        return f"{exc.message}" + (f" (at {where})" if where else "")
    return None


def _schema_problems(instance: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    try:
        validator = _validator(schema)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    except (jsonschema.SchemaError, referencing.exceptions.Unresolvable):
        return []  # refused at parse time; a schema that slipped through holds the answer to nothing
    return [f"{where}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:5]]


def tool_call_problems(message: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    """Why the assistant message's tool calls do not satisfy the request (empty when valid)."""
    if not request.get("tools"):
        return []
    tools = _tools_by_name(request)
    calls = message.get("tool_calls") or []
    choice = request.get("tool_choice")
    problems: list[str] = []
    if choice == "required" and not calls:
        problems.append("tool_choice is 'required' but the answer calls no tool")
    if isinstance(choice, Mapping) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = {tool_name(tool) for tool in allowed.get("tools") or ()}
        if allowed.get("mode") == "required" and not calls:
            problems.append("tool_choice requires a call to one of its allowed_tools, and the answer calls none")
        for call in calls:
            if tool_name(call) not in names:
                problems.append(f"tool_choice allows only {', '.join(sorted(map(str, names)))}; "
                                f"the answer calls {tool_name(call)!r}")
    elif isinstance(choice, Mapping):
        wanted = tool_name(choice)
        if not any(tool_name(call) == wanted for call in calls):
            problems.append(f"tool_choice requires a call to {wanted!r}")
    if choice == "none" and calls:
        problems.append("tool_choice is 'none' but the answer calls a tool")
    for i, call in enumerate(calls):
        function = call.get("function") or {}
        name = function.get("name")
        where = f"tool call {i} ({name})"
        if name not in tools:
            problems.append(f"{where}: no tool named {name!r}; available: {', '.join(tools)}")
            continue
        try:
            arguments = orjson.loads(function.get("arguments") or "")
        except orjson.JSONDecodeError as exc:
            problems.append(f"{where}: arguments are not valid JSON ({exc})")
            continue
        if not isinstance(arguments, dict):
            problems.append(f"{where}: arguments must be a JSON object")
            continue
        problems += _schema_problems(arguments, tools[name].get("parameters") or {}, where)
    return problems


def json_schema_problems(message: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    """Why the content does not satisfy `response_format: json_schema` (empty when valid or not asked)."""
    response_format = request.get("response_format") or {}
    if response_format.get("type") != "json_schema" or message.get("tool_calls"):
        return []
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    try:
        content = orjson.loads(message.get("content") or "")
    except orjson.JSONDecodeError as exc:
        return [f"content is not valid JSON ({exc})"]
    return _schema_problems(content, schema, "content")


# Answers that end this way are passed on as they are: a repair with the same max_tokens would be cut again,
# and a filtered answer is the provider's decision (the SDK raises LengthFinishReasonError and
# ContentFilterFinishReasonError for them).
UNCHECKED_FINISHES = frozenset({"length", "content_filter"})


def answer_problems(message: Mapping[str, Any], request: Mapping[str, Any],
                    finish_reason: str | None = None) -> list[str]:
    """Every validation problem of an assistant message against its request.

    A refusal (structured outputs' `refusal`) is an answer, not an invalid one, and so is an answer cut
    off by its finish_reason (UNCHECKED_FINISHES).
    """
    if message.get("refusal") or finish_reason in UNCHECKED_FINISHES:
        return []
    return tool_call_problems(message, request) + json_schema_problems(message, request)


def needs_validation(request: Mapping[str, Any]) -> bool:
    """Whether answers to this request are checked and repaired (tools offered, or a json_schema asked for).

    A request for several choices (n > 1) is passed through unchecked: a repair asks again for one answer,
    and it cannot stand in for a single choice among several. So is one offering custom tools.
    """
    if (request.get("n") or 1) > 1:
        return False
    tools = request.get("tools") or ()
    if not all(is_function_tool(tool) for tool in tools):
        return False  # a custom tool's input is free-form text: nothing to check it against
    return bool(tools) or (request.get("response_format") or {}).get("type") == "json_schema"


def non_streaming(request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as a non-streaming one: `stream_options` goes too (OpenAI refuses it without `stream`)."""
    body = {**request, "stream": False}
    body.pop("stream_options", None)
    return body


def repair_request(request: Mapping[str, Any], message: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The request again, with the invalid answer and what was wrong with it, asking for a corrected one."""
    shown = message.get("content") or ""
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        shown += f"\n[called {function.get('name')} with arguments: {function.get('arguments')}]"
    feedback = ("Your previous answer was invalid:\n- " + "\n- ".join(problems) +
                "\nAnswer again, correcting these problems. Tool arguments must be a JSON object that satisfies "
                "the tool's JSON schema.")
    messages = [*request["messages"], {"role": "assistant", "content": shown.strip() or "(empty)"},
                {"role": "user", "content": feedback}]
    return {**non_streaming(request), "messages": messages}


ASSEMBLED_FIELDS = frozenset({"index", "id", "type", "function"})


@dataclass(slots=True)
class ToolCallAssembler:
    """Collects streamed tool-call deltas by index until the calls are complete."""

    calls: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, delta_calls: list[Mapping[str, Any]]) -> None:
        """Fold one chunk's `tool_calls` deltas in."""
        for delta in delta_calls:
            call = self.calls.setdefault(delta.get("index", 0),
                                         {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
            if delta.get("id"):
                call["id"] = delta["id"]
            for key, value in delta.items():
                # What else a call carries (Gemini's extra_content with its thought signature) goes back as sent.
                if key not in ASSEMBLED_FIELDS and value is not None:
                    call.setdefault(key, value)
            function = delta.get("function") or {}
            if function.get("name"):
                call["function"]["name"] += function["name"]
            if function.get("arguments"):
                call["function"]["arguments"] += function["arguments"]

    def message(self, content: str | None = None) -> dict[str, Any]:
        """The assistant message the deltas add up to."""
        calls = [self.calls[i] for i in sorted(self.calls)]
        return {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}


class _ChoiceCalls:
    """The calls of one streamed choice: how many, the index of each call id and of each upstream index, and
    which calls have named their id."""

    __slots__ = ("count", "by_id", "by_upstream", "named", "last")

    def __init__(self) -> None:
        self.count = 0
        self.by_id: dict[str, int] = {}
        self.by_upstream: dict[Any, int] = {}
        self.named: set[int] = set()
        self.last: int | None = None

    def _new(self) -> int:
        self.count += 1
        return self.count - 1

    def number(self, call: dict[str, Any]) -> None:
        call_id, upstream = call.get("id"), call.get("index")
        known = self.by_upstream.get(upstream) if upstream is not None else None
        if isinstance(call_id, str) and call_id:
            index = self.by_id.get(call_id)
            if index is None:
                # A new id is a new call, unless it names the call its upstream index started without one.
                index = known if known is not None and known not in self.named else self._new()
                self.by_id[call_id] = index
                self.named.add(index)
        elif known is not None:
            index = known
        elif upstream is None and self.last is not None:
            index = self.last  # an indexless piece continues the call before it
        else:
            index = self._new()  # a call that has not named its id yet
        if upstream is not None:
            self.by_upstream[upstream] = index
        call["index"] = self.last = index


@dataclass(slots=True)
class StreamedCallIndexes:
    """Numbers a stream's tool-call deltas as OpenAI does (each call its own `index`, in order), by call id.

    Gemini's OpenAI-compatible endpoint leaves `index` out, or gives parallel calls the same one: folded by index
    (by the assembler, or the client's SDK), two calls would become one whose arguments are two JSON objects.
    A well-numbered stream keeps its numbers.
    """

    choices: dict[Any, _ChoiceCalls] = field(default_factory=dict)

    def number(self, chunk: Mapping[str, Any]) -> None:
        """Give each tool-call delta of the chunk its index (in place)."""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            calls = delta.get("tool_calls") if isinstance(delta, Mapping) else None
            if isinstance(calls, list):
                state = self.choices.get(choice.get("index", 0))
                if state is None:
                    state = self.choices[choice.get("index", 0)] = _ChoiceCalls()
                for call in calls:
                    if isinstance(call, dict):
                        state.number(call)


def tool_call_chunks(template: Mapping[str, Any], calls: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chunks that deliver complete tool calls (one chunk per call)."""
    chunks = []
    for index, call in enumerate(calls):
        extras = {key: value for key, value in call.items() if key not in ASSEMBLED_FIELDS}
        delta = {"tool_calls": [{"index": index, "id": call.get("id"), "type": "function",
                                 "function": dict(call.get("function") or {}), **extras}]}
        chunks.append({**template, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    return chunks
