"""OpenAI wire format: parsing and checking chat requests, and SSE framing.

Requests are parsed once with orjson and checked field by field (no model round-trip of whole
messages on the hot path); every problem becomes an `InvalidRequest` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import InvalidRequest
from gateway.toolcalls import schema_error, tool_name

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TOOL_CHOICES = frozenset({"none", "auto", "required"})
RESPONSE_FORMATS = frozenset({"text", "json_object", "json_schema"})
SSE_DONE = b"data: [DONE]\n\n"
# The content part types that carry each kind of input besides text (the catalogue's model `inputs`), and what
# their JSON always contains, so that a request without any is known from its bytes without reading its messages.
INPUT_PARTS = {"image_url": "image", "input_audio": "audio", "file": "file"}
INPUT_PART_MARKER = re.compile(rb'"(?:%s)"' % b"|".join(part.encode() for part in INPUT_PARTS))  # one scan
NO_INPUTS: frozenset[str] = frozenset()


def sse_data(payload: Mapping[str, Any]) -> bytes:
    """One server-sent event carrying a JSON payload."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be a number between {low:g} and {high:g}, got {value!r}", param=name)


def _positive_int(body: Mapping[str, Any], name: str, high: int | None = None) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (high is not None and value > high):
        bound = f" and at most {high}" if high else ""
        raise InvalidRequest(f"'{name}' must be an integer of at least 1{bound}, got {value!r}", param=name)


def _check_content(content: Any, where: str, *, allow_none: bool) -> None:
    if content is None:
        if not allow_none:
            raise InvalidRequest(f"{where}.content is required", param=where)
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or an array of content parts", param=where)
    for j, part in enumerate(content):
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise InvalidRequest(f"{where}.content[{j}] must be an object with a 'type'", param=where)
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise InvalidRequest(f"{where}.content[{j}].text must be a string", param=where)
        if part["type"] == "image_url":
            image = part.get("image_url")
            if not isinstance(image, Mapping) or not isinstance(image.get("url"), str):
                raise InvalidRequest(f"{where}.content[{j}].image_url must be an object with a 'url' string",
                                     param=where)


def _check_tool_calls(calls: list[Any], where: str) -> None:
    for j, call in enumerate(calls):
        if isinstance(call, Mapping) and call.get("type") == "custom":
            custom = call.get("custom")
            if (not isinstance(custom, Mapping) or not isinstance(custom.get("name"), str)
                    or not isinstance(custom.get("input", ""), str)):
                raise InvalidRequest(f"{where}.tool_calls[{j}] of type 'custom' must be {{'id', 'type': 'custom', "
                                     "'custom': {'name', 'input'}}", param=where)
            continue
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise InvalidRequest(f"{where}.tool_calls[{j}] must be {{'id', 'type': 'function', 'function': "
                                 "{'name', 'arguments'}}", param=where)
        if not isinstance(function.get("arguments", ""), str):
            raise InvalidRequest(f"{where}.tool_calls[{j}].function.arguments must be a string of JSON",
                                 param=where)


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array of message objects", param="messages")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequest(f"{where} must be an object with 'role' and 'content'", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidRequest(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}", param=where)
        has_calls = role == "assistant" and bool(message.get("tool_calls"))
        _check_content(message.get("content"), where, allow_none=role == "assistant")
        if has_calls:
            if not isinstance(message["tool_calls"], list):
                raise InvalidRequest(f"{where}.tool_calls must be an array", param=where)
            _check_tool_calls(message["tool_calls"], where)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidRequest(f"{where}.tool_call_id is required on tool messages", param=where)


def _check_tools(body: Mapping[str, Any]) -> set[str]:
    tools = body.get("tools")
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array of function tools", param="tools")
    names = set()
    for i, tool in enumerate(tools):
        if isinstance(tool, Mapping) and tool.get("type") == "custom":
            name = tool_name(tool)
            if not name:
                raise InvalidRequest(f"tools[{i}] of type 'custom' needs {{'custom': {{'name': ...}}}}", param="tools")
            names.add(name)
            continue
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or tool.get("type", "function") != "function":
            raise InvalidRequest(f"tools[{i}] must be {{'type': 'function', 'function': {{...}}}} or "
                                 "{'type': 'custom', 'custom': {...}}", param="tools")
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise InvalidRequest(f"tools[{i}].function.name is required", param="tools")
        if function.get("parameters") is not None and not isinstance(function["parameters"], Mapping):
            raise InvalidRequest(f"tools[{i}].function.parameters must be a JSON schema object", param="tools")
        if function.get("parameters") and (problem := schema_error(function["parameters"])):
            raise InvalidRequest(f"tools[{i}].function.parameters is not a valid JSON Schema: {problem}",
                                 param="tools")
        names.add(function["name"])
    return names


def _check_tool_choice(choice: Any, tool_names: set[str]) -> None:
    if choice is None or (isinstance(choice, str) and choice in TOOL_CHOICES):
        if choice in ("required",) and not tool_names:
            raise InvalidRequest("tool_choice 'required' needs at least one tool in 'tools'", param="tool_choice")
        return
    if isinstance(choice, Mapping) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools")
        listed = allowed.get("tools") if isinstance(allowed, Mapping) else None
        if not isinstance(listed, list) or not listed or allowed.get("mode") not in ("auto", "required"):
            raise InvalidRequest("tool_choice.allowed_tools needs a 'mode' ('auto' or 'required') and a non-empty "
                                 "'tools' array", param="tool_choice")
        for spec in listed:
            if tool_name(spec) not in tool_names:
                raise InvalidRequest(f"tool_choice.allowed_tools names {tool_name(spec)!r}, which is not in 'tools'",
                                     param="tool_choice")
        return
    if isinstance(choice, Mapping):
        name = tool_name(choice)
        if name is not None and name in tool_names:
            return
        raise InvalidRequest(f"tool_choice names tool {name!r}, which is not in 'tools'", param="tool_choice")
    raise InvalidRequest(
        "tool_choice must be 'none', 'auto', 'required', {'type': 'function', 'function': {'name': ...}}, "
        "{'type': 'custom', 'custom': {'name': ...}} or {'type': 'allowed_tools', ...}",
        param="tool_choice",
    )


def _check_response_format(response_format: Any) -> None:
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if not isinstance(kind, str) or kind not in RESPONSE_FORMATS:
        raise InvalidRequest(f"response_format.type must be one of {sorted(RESPONSE_FORMATS)}", param="response_format")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise InvalidRequest("response_format.json_schema needs a 'name' and a 'schema'", param="response_format")
        if spec.get("schema") is not None and not isinstance(spec["schema"], Mapping):
            raise InvalidRequest("response_format.json_schema.schema must be an object", param="response_format")
        if spec.get("schema") and (problem := schema_error(spec["schema"])):
            raise InvalidRequest(f"response_format.json_schema.schema is not a valid JSON Schema: {problem}",
                                 param="response_format")


def input_kinds(body: Mapping[str, Any], raw: bytes) -> frozenset[str]:
    """The kinds of input besides text (INPUT_PARTS: "image", "audio", "file") a checked request's messages carry;
    its messages are read only when its bytes name such a part."""
    if INPUT_PART_MARKER.search(raw) is None:
        return NO_INPUTS
    kinds = set()
    for message in body["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            kinds.update(INPUT_PARTS[part["type"]] for part in content if part["type"] in INPUT_PARTS)
    return frozenset(kinds)


def parse_chat_request(raw: bytes) -> dict[str, Any]:
    """Parse and check a chat-completions body; the dict is passed upstream mostly unchanged."""
    if not raw:
        raise InvalidRequest("the request body is empty; send a JSON chat-completions request")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
            raise InvalidRequest("the request body must be JSON encoded as UTF-8 (this looks like UTF-16)") from None
        raise InvalidRequest(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest(f"'model' must be a string (a model name, or 'auto'), got {model!r}", param="model")
    if not model:
        raise InvalidRequest("'model' is required: a model name, or 'auto' to let the gateway choose", param="model")
    _check_messages(body.get("messages"))
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false", param="stream")
    options = body.get("stream_options")
    if options is not None and (
        not isinstance(options, Mapping) or not isinstance(options.get("include_usage", False), bool)
    ):
        raise InvalidRequest("'stream_options' must be an object like {'include_usage': true}", param="stream_options")
    if not stream and "stream_options" in body:
        # Meaningless without a stream (the answer carries its usage), and OpenAI's API answers it with 400 "The
        # 'stream_options' parameter is only allowed when 'stream' is enabled": left out, not sent upstream.
        del body["stream_options"]
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    _positive_int(body, "n", 128)
    _positive_int(body, "max_tokens")
    _positive_int(body, "max_completion_tokens")
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
        isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop)
    ):
        raise InvalidRequest("'stop' must be a string or an array of up to 4 strings", param="stop")
    effort = body.get("reasoning_effort")
    if effort is not None and not isinstance(effort, str):
        raise InvalidRequest("'reasoning_effort' must be a string such as 'low', 'medium' or 'high'",
                             param="reasoning_effort")
    _check_tool_choice(body.get("tool_choice"), _check_tools(body))
    _check_response_format(body.get("response_format"))
    return body


def wants_usage_chunk(body: Mapping[str, Any]) -> bool:
    """Whether the client itself asked for the final usage chunk of a stream."""
    options = body.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True
