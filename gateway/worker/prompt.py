"""Rendering chat messages to prompt text with the model's own chat template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.worker.errors import InvalidRequest


def render_prompt(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> str:
    """The prompt text for `messages`, ending where the assistant's reply begins."""
    try:
        text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - templates raise arbitrary errors (e.g. "roles must alternate")
        raise InvalidRequest(f"the model's chat template rejected these messages: {exc}", param="messages") from exc
    if not isinstance(text, str):
        raise InvalidRequest("the model's chat template did not produce text", param="messages")
    return text


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """Token ids for rendered prompt text; the template already placed any BOS, so none is added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
