"""What one deployment's API takes of an OpenAI request, as its catalogue entry says.

Some upstreams refuse fields that OpenAI's API takes (Gemini's OpenAI-compatible endpoint answers 400 to a
field it does not know; DeepSeek to a json_schema response format; the GPT-5 family and Claude Opus 4.7 to
sampling other than the default). A request carrying one is an `UnsupportedByDeployment`: dispatch moves on
to the plan's next deployment (asked for by name, the client gets a 400 naming the field). Fields that only
mean something to OpenAI's own platform (`store`, `metadata`) are left out where the catalogue says so, the
output cap goes by the name the deployment reads, developer messages go as system messages to an API
that knows no developer role (DeepSeek's), text parts go as one string to an API that takes strings only
(DeepSeek's), fields another model's answer carried are left out of the messages for a strict API, and
earlier tool-call turns get back what the API wants of them (DeepSeek's reasoning, Gemini's thought
signatures: providers/tool_turn_memory.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.catalogue import Deployment
from gateway.errors import UnsupportedByDeployment
from gateway.providers.tool_turn_memory import CallKey, calls_lacking_signature, turns_lacking_reasoning

# OpenAI's defaults; top_k (an Anthropic extra) has none a client could mean, so any value is refused.
SAMPLING_DEFAULTS: dict[str, float | None] = {"temperature": 1, "top_p": 1, "top_k": None}
# A refused field sent at OpenAI's default for it asks for nothing: it is left out rather than refused.
REFUSED_AT_DEFAULT_IS_DROPPED: dict[str, object] = {"frequency_penalty": 0, "presence_penalty": 0, "logit_bias": {},
                                                   "logprobs": False}
TOKEN_CAPS = ("max_tokens", "max_completion_tokens")
THINKING_OFF = {"type": "disabled"}
# What Gemini takes on a call it did not make (another model's, or one whose signature is lost), per its docs.
SKIP_SIGNATURE = "skip_thought_signature_validator"


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the gateway remembers of a request's earlier tool calls (tool_turn_memory.py), by call."""

    reasoning: Mapping[CallKey, str] = field(default_factory=dict)  # by the turn's first call
    signatures: Mapping[CallKey, str] = field(default_factory=dict)


NOTHING_RECALLED = Recalled()


def adapted_request(body: dict[str, Any], deployment: Deployment, recalled: Recalled | None = None) -> dict[str, Any]:
    """The request as `deployment` takes it (the same object when nothing needs to change); what it cannot take
    is an `UnsupportedByDeployment`. `recalled` is what is known of its earlier tool calls."""
    if deployment.non_streaming_max_tokens is not None and not body.get("stream"):
        # Routing keeps a client's request over the cap off the deployment (refusal): one sent here anyway is the
        # gateway's own, the repair or escalation of a streamed answer, and asks for at most what it takes.
        body = output_capped(body, deployment.non_streaming_max_tokens)
    refused = refusal(body, deployment)
    if refused is not None:
        raise refused
    if deployment.drops and any(name in body for name in deployment.drops):
        body = {key: value for key, value in body.items() if key not in deployment.drops}
    if deployment.message_drops or deployment.tool_call_drops:
        body = without_message_fields(body, deployment.message_drops, deployment.tool_call_drops)
    if deployment.refuses and any(not kind and name in body for name, kind in deployment.refuses):
        # What is left of a refused field is null or at its default (a penalty of 0): left out.
        body = {key: value for key, value in body.items() if (key, "") not in deployment.refuses}
    if deployment.default_sampling_only and any(name in body for name in SAMPLING_DEFAULTS):
        body = {key: value for key, value in body.items() if key not in SAMPLING_DEFAULTS}  # (their defaults)
    if deployment.max_tokens_param:
        body = token_cap(body, deployment.max_tokens_param)
    if not deployment.developer_role:
        body = developer_as_system(body)
    if deployment.text_content:
        body = text_parts_joined(body)
    recalled = recalled or NOTHING_RECALLED
    if deployment.tool_turn_reasoning:
        body = with_tool_turn_reasoning(body, recalled.reasoning)
    if deployment.thought_signatures:
        body = with_thought_signatures(body, recalled.signatures)
    return body


def refusal(body: Mapping[str, Any], deployment: Deployment,
            inputs: frozenset[str] = frozenset()) -> UnsupportedByDeployment | None:
    """Why `deployment` cannot take the request, or None when it can: input its model does not take (`inputs`, the
    kinds besides text the messages carry: wire.input_kinds), a field its catalogue entry refuses, or sampling
    other than the default where it takes only that. Routing plans around it (RequestFacts.refusal); dispatch
    raises it for a deployment it is sent to anyway (an escalation, say)."""
    if inputs and deployment.inputs is not None and not inputs <= deployment.inputs:
        lacking = " or ".join(sorted(inputs - deployment.inputs))
        return UnsupportedByDeployment(f"{deployment.model} takes no {lacking} input (its prompts are "
                                       f"{', '.join(sorted(deployment.inputs))} only); send the request without it, "
                                       "or ask a model that takes it", param="messages")
    entry = refused_entry(body, deployment.refuses) if deployment.refuses else None
    if entry is not None:
        return _refused(deployment, entry, "; send the request without it, or ask another model")
    if deployment.non_streaming_max_tokens is not None and not body.get("stream"):
        refused = _output_cap_refusal(body, deployment, deployment.non_streaming_max_tokens)
        if refused is not None:
            return refused
    if deployment.thinking_refuses and not thinking_disabled(body):
        entry = refused_entry(body, deployment.thinking_refuses)
        if entry is not None:
            return _refused(deployment, entry, ' in thinking mode; send thinking {"type": "disabled"} with it, send '
                                               "the request without it, or ask another model")
    if deployment.default_sampling_only:
        for name, default in SAMPLING_DEFAULTS.items():
            value = body.get(name)
            if value is not None and value != default:
                takes = f"only the default {name} ({default:g})" if default is not None else f"no {name}"
                return UnsupportedByDeployment(f"{deployment.model} takes {takes}; send the request without "
                                               f"{name}, or ask another model", param=name)
    return None


def _refused(deployment: Deployment, entry: tuple[str, str], advice: str) -> UnsupportedByDeployment:
    name, kind = entry
    what = f"{name} of type {kind!r}" if kind else f"'{name}'"
    return UnsupportedByDeployment(f"{deployment.name} cannot take {what}{advice}", param=name)


def _output_cap_refusal(body: Mapping[str, Any], deployment: Deployment, limit: int) -> UnsupportedByDeployment | None:
    """A non-streaming request whose output cap is over what the deployment takes without streaming (Fireworks:
    400 "Requests with max_tokens > 4096 must have stream=true"), or None. The cap counted is the one sent
    upstream: `max_completion_tokens` when given (token_cap), else `max_tokens`."""
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    cap = body.get(name)
    if not isinstance(cap, int) or cap <= limit:
        return None
    return UnsupportedByDeployment(f"{deployment.name} takes {name} of at most {limit} on a request that does not "
                                   f"stream, got {cap}; stream the request, lower {name}, or ask another model",
                                   param=name)


def output_capped(body: dict[str, Any], limit: int) -> dict[str, Any]:
    """The request with an output cap over `limit` lowered to it (the same object when none is)."""
    over = [name for name in TOKEN_CAPS if isinstance(body.get(name), int) and body[name] > limit]
    return {**body, **dict.fromkeys(over, limit)} if over else body


def thinking_disabled(body: Mapping[str, Any]) -> bool:
    """Whether the request turns thinking off (DeepSeek's and Anthropic's `thinking` parameter)."""
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") == "disabled"


def refused_entry(body: Mapping[str, Any], refuses: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """The first catalogue `refuses` entry the request matches, as (field, kind): `field` (kind "") is present at
    all, or `field:kind` has the value, or the `type` when the value is an object, `kind` (response_format:
    json_schema)."""
    for entry in refuses:
        name, kind = entry
        value = body.get(name)
        if value is None or (not kind and value == REFUSED_AT_DEFAULT_IS_DROPPED.get(name, _NO_DEFAULT)):
            continue
        if not kind or _kind(value) == kind:
            return entry
    return None


_NO_DEFAULT = object()


def _kind(value: Any) -> Any:
    """What a refuses entry's `kind` is matched with: a string value itself, an object's `type` (a tool_choice
    naming its function may leave out `"type": "function"`)."""
    if not isinstance(value, dict):
        return value
    return value.get("type") or ("function" if "function" in value else None)


def without_message_fields(body: dict[str, Any], names: frozenset[str],
                           call_names: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The request without those fields in any message (`names`) or any of their tool calls (`call_names`): what
    another model's answer carried back (`reasoning_content`, Gemini's `extra_content`) and a strict API refuses
    as an unknown name."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_carries(m, names, call_names) for m in messages):
        return body
    return {**body, "messages": [_without(m, names, call_names) if _carries(m, names, call_names) else m
                                 for m in messages]}


def _carries(message: Any, names: frozenset[str], call_names: frozenset[str]) -> bool:
    if not isinstance(message, dict):
        return False
    calls = message.get("tool_calls") if call_names else None
    return not names.isdisjoint(message) or (isinstance(calls, list) and any(
        isinstance(call, dict) and not call_names.isdisjoint(call) for call in calls))


def _without(message: dict[str, Any], names: frozenset[str], call_names: frozenset[str]) -> dict[str, Any]:
    kept = {key: value for key, value in message.items() if key not in names}
    if call_names and isinstance(kept.get("tool_calls"), list):
        kept["tool_calls"] = [{key: value for key, value in call.items() if key not in call_names}
                              if isinstance(call, dict) else call for call in kept["tool_calls"]]
    return kept


TEXT_PARTS_SEPARATOR = "\n\n"


def text_parts_joined(body: dict[str, Any]) -> dict[str, Any]:
    """The request with each message whose content is text parts only (`[{"type": "text", "text": ...}]`, as OpenAI
    SDKs and agent frameworks send system prompts and tool results) given that text as one string, for an API that
    takes content as a string only (DeepSeek's: "messages[2]: invalid type: sequence, expected a string")."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_text_parts_only(m) for m in messages):
        return body
    joined = [{**m, "content": TEXT_PARTS_SEPARATOR.join(part["text"] for part in m["content"])}
              if _text_parts_only(m) else m for m in messages]
    return {**body, "messages": joined}


def _text_parts_only(message: Any) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str) for part in content)


def developer_as_system(body: dict[str, Any]) -> dict[str, Any]:
    """The request with OpenAI's developer messages sent as system messages (what they mean to every model
    but OpenAI's reasoning ones), for an API that knows no developer role."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(isinstance(m, dict) and m.get("role") == "developer"
                                                 for m in messages):
        return body
    renamed = [{**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "developer" else m
               for m in messages]
    return {**body, "messages": renamed}


def token_cap(body: dict[str, Any], param: str) -> dict[str, Any]:
    """The output cap sent under the one name the deployment reads: the GPT-5 family refuses `max_tokens`,
    DeepSeek ignores `max_completion_tokens`. Given both, `max_completion_tokens` wins, as at OpenAI."""
    other = TOKEN_CAPS[param == TOKEN_CAPS[0]]
    if other not in body:
        return body
    value = body[other]
    adapted = {key: item for key, item in body.items() if key != other}
    if value is not None and (other == "max_completion_tokens" or adapted.get(param) is None):
        adapted[param] = value
    return adapted


def with_tool_turn_reasoning(body: dict[str, Any], known: Mapping[CallKey, str]) -> dict[str, Any]:
    """The request with each earlier tool-call turn's `reasoning_content` (`known`, by the turn's first call), for
    an API whose thinking mode refuses a conversation without it (DeepSeek's). A turn whose reasoning is not known
    (another model answered it, or the client called elsewhere) sends the request with thinking disabled, which
    needs none, and without `reasoning_effort`, which means nothing then; when the client asked for thinking
    itself, the deployment cannot take the request (`UnsupportedByDeployment`: the plan moves on)."""
    if thinking_disabled(body):
        return body
    lacking = turns_lacking_reasoning(body.get("messages"))
    if not lacking:
        return body
    messages = list(body["messages"])
    unknown = False
    for index, key in lacking:
        if key is not None and key in known:
            messages[index] = {**messages[index], "reasoning_content": known[key]}
        else:
            unknown = True
    adapted = {**body, "messages": messages}
    if unknown:
        if body.get("thinking") is not None:  # asked for (in Anthropic's shape, say): another route may serve
            raise UnsupportedByDeployment(
                "this deployment's thinking mode needs the reasoning_content of every earlier tool-call turn, and "
                "the gateway does not know them all; send them back, set thinking to disabled, or ask another model",
                param="messages")
        adapted["thinking"] = THINKING_OFF
        adapted.pop("reasoning_effort", None)
    return adapted


def with_thought_signatures(body: dict[str, Any], known: Mapping[CallKey, str]) -> dict[str, Any]:
    """The request with each earlier tool call's thought signature (`known`, by call), for an API that refuses a
    turn whose first call has none (Gemini 3's); a first call whose signature is not known gets SKIP_SIGNATURE."""
    lacking = calls_lacking_signature(body.get("messages"))
    if not lacking:
        return body
    messages = list(body["messages"])
    for index, position, key in lacking:
        signature = known.get(key) if key is not None else None
        if signature is None and position != 0:
            continue  # only a turn's first call must carry one (the others of parallel calls have none)
        calls = list(messages[index]["tool_calls"])
        call = calls[position]
        if not isinstance(call, dict):
            continue
        extra = call.get("extra_content") if isinstance(call.get("extra_content"), dict) else {}
        google = extra.get("google") if isinstance(extra.get("google"), dict) else {}
        calls[position] = {**call, "extra_content": {**extra, "google": {
            **google, "thought_signature": signature or SKIP_SIGNATURE}}}
        messages[index] = {**messages[index], "tool_calls": calls}
    return {**body, "messages": messages}
