"""Pure translation of OpenAI chat-completions requests into Anthropic Messages requests (the answers come back
through anthropic_answers.py).

Sampling fields with no Messages equivalent (seed, presence/frequency penalties, …) are dropped.
What would change the answer's meaning or shape if dropped (`n` > 1, logprobs, audio or file parts,
custom tools, the legacy `functions`, a conversation of system messages only) is refused with
UnsupportedByDeployment, so that dispatch moves on to the plan's next (OpenAI-compatible) deployment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import InvalidRequest, UnsupportedByDeployment
from gateway.toolcalls import is_function_tool, tool_name

DEFAULT_MAX_TOKENS = 8192
# Messages refuses a tool_use id (and the tool_use_id of its result) outside this pattern ("String should match
# pattern '^[a-zA-Z0-9_-]+$'"); a conversation that another model began may carry one (Kimi's
# "functions.Bash:0", OpenAI Responses ids with "|"): github.com/langchain-ai/langchain/pull/37756.
TOOL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
JSON_OBJECT_INSTRUCTION = "Respond with one valid JSON object and nothing else."


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping) and part.get("type") == "text")


# The image types Messages takes; OpenAI clients also write image/jpg.
IMAGE_TYPES = {"image/jpeg": "image/jpeg", "image/jpg": "image/jpeg", "image/png": "image/png",
               "image/gif": "image/gif", "image/webp": "image/webp"}


def _image_block(part: Mapping[str, Any]) -> dict[str, Any]:
    image = part.get("image_url") or {}
    url = image.get("url", "") if isinstance(image, Mapping) else str(image)
    if url.startswith("data:") and ";base64," in url:
        header, data = url[5:].split(";base64,", 1)
        declared = header.split(";", 1)[0].strip().lower()  # data:image/png;name=a.png;base64,...
        media_type = IMAGE_TYPES.get(declared)
        if media_type is None:
            raise UnsupportedByDeployment(f"images of type {declared!r} cannot be sent to an Anthropic deployment "
                                          "(JPEG, PNG, GIF and WebP can)", param="messages")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    # Messages refuses text blocks that are empty or only whitespace; they say nothing, so they are left out.
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text":
            text = part.get("text", "")
            if isinstance(text, str) and not text.strip():
                continue
            block: dict[str, Any] = {"type": "text", "text": text}
            if "cache_control" in part:  # clients that mark cache breakpoints keep them
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
        elif kind == "image_url":
            blocks.append(_image_block(part))
        elif kind == "refusal":  # an earlier assistant refusal, sent back as history
            blocks.append({"type": "text", "text": str(part.get("refusal") or "")})
        else:  # audio, files: dropping them would answer a different question than the one asked
            raise UnsupportedByDeployment(f"content parts of type {kind!r} cannot be sent to an Anthropic deployment "
                                          "(text and image_url can)", param="messages")
    return blocks


def tool_id(value: Any) -> Any:
    """A tool call id as Messages takes it: as it is when it fits TOOL_ID, else its characters outside the pattern
    as "_", cut, and a digest of the whole id (so that a call and its result still pair, and distinct ids stay
    distinct). Anything but a string is left for Messages to refuse."""
    if not isinstance(value, str) or TOOL_ID.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"{re.sub(r'[^a-zA-Z0-9_-]', '_', value)[:51]}_{digest}"


def _tool_use_blocks(tool_calls: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    blocks = []
    for call in tool_calls:
        if call.get("type") == "custom":
            raise UnsupportedByDeployment(
                "custom tool calls cannot be sent to an Anthropic deployment (function calls can)", param="messages")
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            raise InvalidRequest(
                f"assistant tool call {call.get('id')!r} has arguments that are not valid JSON",
                param="messages",
            ) from None
        blocks.append({"type": "tool_use", "id": tool_id(call.get("id")), "name": function.get("name"),
                       "input": parsed})
    return blocks


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    # Messages requires alternating roles: consecutive same-role turns (e.g. several tool
    # results, or tool results followed by a user note) merge into one turn.
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _translate_messages(openai_messages: list[Mapping[str, Any]]) -> tuple[list[dict], list[dict]]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in openai_messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.extend(_content_blocks(content))
        elif role == "user":
            _append(messages, "user", _content_blocks(content))
        elif role == "assistant":
            blocks = _content_blocks(content) + _tool_use_blocks(message.get("tool_calls") or [])
            _append(messages, "assistant", blocks)
        elif role == "tool":
            # A result with images keeps them (tool_result takes text and image blocks); text stays a string.
            images = isinstance(content, list) and any(
                isinstance(part, Mapping) and part.get("type") == "image_url" for part in content)
            output = _content_blocks(content) if images else _text_of(content)
            _append(messages, "user", [{"type": "tool_result", "tool_use_id": tool_id(message.get("tool_call_id")),
                                        "content": output}])
        else:
            raise UnsupportedByDeployment(f"messages with role {role!r} cannot be sent to an Anthropic deployment",
                                          param="messages")
    if not messages:
        raise UnsupportedByDeployment("the conversation has no user or assistant content to send to an Anthropic "
                                      "deployment (system messages alone are not a conversation)", param="messages")
    return system, messages


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    translated: dict[str, Any] | None
    if choice is None:
        translated = None
    elif choice == "none":
        translated = {"type": "none"}
    elif choice == "auto":
        translated = {"type": "auto"}
    elif choice == "required":
        translated = {"type": "any"}
    elif isinstance(choice, Mapping):
        translated = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        raise InvalidRequest(f"tool_choice {choice!r} is not understood", param="tool_choice")
    if parallel is False:
        translated = translated or {"type": "auto"}
        if translated["type"] != "none":
            translated["disable_parallel_tool_use"] = True
    return translated


def _allowed(tools: list[Mapping[str, Any]], choice: Any) -> tuple[list[Mapping[str, Any]], Any]:
    """OpenAI's allowed_tools tool_choice in Messages terms: only the allowed tools offered, chosen freely
    ('auto') or one of them required ('required')."""
    if not (isinstance(choice, Mapping) and choice.get("type") == "allowed_tools"):
        return tools, choice
    allowed = choice.get("allowed_tools") or {}
    names = {tool_name(spec) for spec in allowed.get("tools") or ()}
    return [tool for tool in tools if tool_name(tool) in names], allowed.get("mode", "auto")


# Messages parameters with no OpenAI counterpart: a client sends them as extra body fields, and they
# go to Anthropic as they are (OpenAI-compatible upstreams get every extra field unchanged anyway).
ANTHROPIC_NATIVE_FIELDS = ("top_k", "thinking")


# OpenAI's reasoning_effort values as Messages' effort levels (low, medium, high, xhigh, max).
EFFORTS = {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}


def unsupported_field(body: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """A field at the top of a request that Messages cannot take, as (what it is, its param, the message that
    refuses it); None when there is none. Routing reads it to plan such requests off Anthropic deployments
    (cheaply: no message is read); the translation refuses it, as it refuses what it finds in the messages."""
    if (body.get("n") or 1) > 1:
        return "n > 1", "n", "n > 1 is not supported by Anthropic deployments; send n=1"
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            return (f"'{legacy}'", legacy, f"'{legacy}' (deprecated by OpenAI) cannot be sent to an Anthropic "
                    "deployment; send 'tools' and 'tool_choice' instead")
    if body.get("logprobs") or body.get("top_logprobs"):
        return ("logprobs", "logprobs", "logprobs are not returned by Anthropic deployments; ask an "
                "OpenAI-compatible model, or send the request without logprobs")
    if not all(is_function_tool(tool) for tool in body.get("tools") or ()):
        return "custom tools", "tools", "custom tools cannot be sent to an Anthropic deployment (function tools can)"
    if any(isinstance(stop, str) and stop and not stop.strip() for stop in _stops(body)):
        return ("stop sequences of only whitespace", "stop", "stop sequences of only whitespace (such as a newline) "
                "cannot be sent to an Anthropic deployment; ask an OpenAI-compatible model")
    return None


def _stops(body: Mapping[str, Any]) -> list[Any]:
    stop = body.get("stop")
    return [stop] if isinstance(stop, str) else list(stop) if isinstance(stop, list) else []


def _with_thinking(content: list[dict[str, Any]], sequence: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An assistant turn's blocks with its kept thinking blocks back where they were (anthropic_answers.thinking_turn:
    Messages refuses thinking blocks moved), each text and tool_use block in the place its marker holds; blocks the
    sequence does not place follow."""
    texts = [block for block in content if block.get("type") == "text"]
    calls = {block.get("id"): block for block in content if block.get("type") == "tool_use"}
    placed: list[dict[str, Any]] = []
    for marker in sequence:
        if marker.get("type") == "text":
            if texts:
                placed.append(texts.pop(0))
        elif marker.get("type") == "tool_use":
            if marker.get("id") in calls:
                placed.append(calls.pop(marker["id"]))
        else:
            placed.append(dict(marker))
    unplaced = {id(block) for block in (*texts, *calls.values())}
    return [*placed, *(block for block in content if id(block) in unplaced)]


def _continues_tool_use(messages: list[dict[str, Any]]) -> bool:
    """Whether the conversation ends with tool results answering the last assistant turn's tool calls."""
    if len(messages) < 2 or messages[-1]["role"] != "user" or messages[-2]["role"] != "assistant":
        return False
    return any(block.get("type") == "tool_result" for block in messages[-1]["content"]) and \
        any(block.get("type") == "tool_use" for block in messages[-2]["content"])


def to_messages_request(body: Mapping[str, Any], upstream_model: str,
                        thinking_blocks: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """An Anthropic Messages request equivalent to an OpenAI chat-completions request. `thinking_blocks` are those
    the gateway kept of the tool-call turn the request's last tool results answer (tool_turn_memory.py)."""
    unsupported = unsupported_field(body)
    if unsupported is not None:
        _, param, message = unsupported
        raise UnsupportedByDeployment(message, param=param)
    system, messages = _translate_messages(body.get("messages") or [])
    request: dict[str, Any] = {
        "model": upstream_model,
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS,
    }
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    elif response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        request["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    effort = body.get("reasoning_effort")
    if effort is not None:
        # Messages' effort (output_config.effort) sets how much the model spends, thinking included, without
        # turning extended thinking on (whose blocks an OpenAI client could not send back in a tool loop).
        request.setdefault("output_config", {})["effort"] = EFFORTS.get(effort, effort)
    if system:
        plain = all(set(block) == {"type", "text"} for block in system)
        request["system"] = "\n\n".join(block["text"] for block in system) if plain else system
    if body.get("temperature") is not None:
        request["temperature"] = min(float(body["temperature"]), 1.0)  # Messages accepts 0..1
    if body.get("top_p") is not None and "temperature" not in request:
        # Claude models since Opus 4.1 and Sonnet 4.5 refuse both ("use only one"): temperature wins.
        request["top_p"] = body["top_p"]
    stops = [stop for stop in _stops(body) if stop != ""]  # an empty one never matches
    if stops:
        request["stop_sequences"] = stops
    tools, tool_choice = _allowed(body.get("tools") or [], body.get("tool_choice"))
    if tools:
        request["tools"] = [
            {
                "name": tool["function"]["name"],
                "description": tool["function"].get("description", ""),
                "input_schema": tool["function"].get("parameters") or {"type": "object", "properties": {}},
            }
            for tool in tools
        ]
    choice = _tool_choice(tool_choice, body.get("parallel_tool_calls"))
    if choice and tools:
        request["tool_choice"] = choice
    if body.get("user"):
        request["metadata"] = {"user_id": str(body["user"])}
    for native in ANTHROPIC_NATIVE_FIELDS:  # the Messages API's own parameters, sent as OpenAI extras
        if body.get(native) is not None:
            request[native] = body[native]
    if "thinking" in request and _continues_tool_use(messages):
        # With thinking on, the assistant turn whose tool calls the last results answer must start with its
        # (signed) thinking blocks, which OpenAI messages cannot carry back: those the gateway kept go back, and
        # without them the turn is answered without thinking rather than refused.
        if thinking_blocks:
            messages[-2]["content"] = _with_thinking(messages[-2]["content"], thinking_blocks)
        else:
            del request["thinking"]
    if body.get("stream"):
        request["stream"] = True
    return request
