"""Models that take only the default sampling (the GPT-5 family, Claude Opus 4.7): what a request may send them."""

from __future__ import annotations

from typing import Any

from gateway.catalogue import Deployment
from gateway.errors import UnsupportedByDeployment

# OpenAI's defaults; top_k (an Anthropic extra) has none a client could mean, so any value is refused.
SAMPLING_DEFAULTS: dict[str, float | None] = {"temperature": 1, "top_p": 1, "top_k": None}


def default_sampling(body: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """The request without its sampling fields, which may only hold their defaults here; another value is an
    `UnsupportedByDeployment` (dispatch moves on to a model that takes it; asked for by name, a 400 naming it)."""
    present = [name for name in SAMPLING_DEFAULTS if body.get(name) is not None]
    if not present:
        return body
    for name in present:
        default = SAMPLING_DEFAULTS[name]
        if body[name] != default:
            takes = f"only the default {name} ({default:g})" if default is not None else f"no {name}"
            raise UnsupportedByDeployment(f"{deployment.model} takes {takes}; send the request without {name}, "
                                          "or ask another model", param=name)
    return {key: value for key, value in body.items() if key not in SAMPLING_DEFAULTS}
