"""The worker's OpenAI wire format: checking chat requests and shaping responses and stream chunks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.worker.engine import SamplingParams, Usage
from gateway.worker.errors import InvalidRequest

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_STOP_STRINGS = 16
SSE_DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class ChatRequest:
    """A checked `/v1/chat/completions` body: what to generate and how to deliver it."""

    messages: tuple[dict[str, str], ...]
    sampling: SamplingParams
    stream: bool = False
    include_usage: bool = False
    model: str | None = None


def parse_chat_request(raw: bytes) -> ChatRequest:
    """Parse and check a request body; every problem becomes an `InvalidRequest` naming the field."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}", code="invalid_json") from exc
    if not isinstance(body, Mapping):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    _reject_unsupported(body)
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("'model' must be a string", param="model")
    stream = _boolean(body, "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidRequest("'stream_options' must be an object", param="stream_options")
    return ChatRequest(
        messages=_messages(body.get("messages")),
        sampling=_sampling(body),
        stream=stream,
        include_usage=stream and bool((options or {}).get("include_usage")),
        model=model,
    )


def _reject_unsupported(body: Mapping[str, Any]) -> None:
    """Features this worker cannot honour fail loudly instead of being silently ignored."""
    if body.get("n") not in (None, 1):
        raise InvalidRequest("only n=1 is supported by this worker", param="n", code="unsupported_parameter")
    if body.get("tools") or body.get("functions"):
        raise InvalidRequest(
            "tool calling is not supported by this worker", param="tools", code="unsupported_parameter"
        )
    if body.get("logprobs"):
        raise InvalidRequest(
            "logprobs are not supported by this worker", param="logprobs", code="unsupported_parameter"
        )
    response_format = body.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, Mapping) or response_format.get("type") != "text"
    ):
        raise _unsupported("only response_format type 'text' is supported by this worker", "response_format")


def _unsupported(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="unsupported_parameter")


def _messages(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        raise InvalidRequest(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    if not isinstance(value, list) or not value:
        raise InvalidRequest("'messages' must be a non-empty array", param="messages")
    out = []
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequest(f"{where} must be an object", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidRequest(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}", param=f"{where}.role")
        out.append({"role": role, "content": _content(message.get("content"), where, role)})
    return tuple(out)


def _content(content: Any, where: str, role: str) -> str:
    """Flatten string or text-part content to the plain string chat templates expect."""
    if isinstance(content, str):
        return content
    if content is None and role == "assistant":
        return ""
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or an array of text parts", param=f"{where}.content")
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise InvalidRequest(
                f"{where}.content[{j}] must be a text part; this worker serves a text-only model",
                param=f"{where}.content",
            )
        texts.append(part["text"])
    return "".join(texts)


def _sampling(body: Mapping[str, Any]) -> SamplingParams:
    temperature = _number(body, "temperature", 0.0, 2.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    # max_completion_tokens supersedes the deprecated max_tokens when both are sent, as in OpenAI's API.
    max_tokens = _positive_int(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _positive_int(body, "max_tokens")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidRequest(f"'seed' must be an integer, got {seed!r}", param="seed")
    return SamplingParams(
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        max_tokens=max_tokens,
        stop=_stop(body.get("stop")),
        seed=seed,
        ignore_eos=_boolean(body, "ignore_eos"),
    )


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise InvalidRequest("'stop' must be a string or an array of strings", param="stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise InvalidRequest(f"'stop' accepts at most {MAX_STOP_STRINGS} strings", param="stop")
    return tuple(s for s in stops if s)


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be a number between {low:g} and {high:g}, got {value!r}", param=name)
    return float(value)


def _positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"'{name}' must be an integer of at least 1, got {value!r}", param=name)
    return value


def _boolean(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be a boolean, got {value!r}", param=name)
    return value


def usage_body(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage object, cached prompt tokens included."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def completion_body(
    request_id: str, created: int, model: str, text: str, finish_reason: str, usage: Usage
) -> dict[str, Any]:
    """A non-streaming `chat.completion` object."""
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage_body(usage),
    }


def chunk_body(
    request_id: str,
    created: int,
    model: str,
    delta: Mapping[str, Any] | None,
    finish_reason: str | None = None,
    *,
    include_usage: bool = False,
    usage: Usage | None = None,
) -> dict[str, Any]:
    """A `chat.completion.chunk`; `delta=None` makes the final usage-only chunk (no choices)."""
    chunk: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}],
    }
    if include_usage:
        # OpenAI sends `usage: null` on every chunk but the last when include_usage is on.
        chunk["usage"] = usage_body(usage) if usage is not None else None
    return chunk


def sse_data(payload: Mapping[str, Any]) -> bytes:
    """One server-sent event carrying a JSON payload."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"
