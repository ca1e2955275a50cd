"""Seeded corruptions of healthy upstream answers: the client gets an answer or an OpenAI-shaped error, never a 500.

Each case takes a healthy reply of one of the four wire shapes (OpenAI JSON or SSE, Anthropic JSON
or SSE) and replaces, deletes or retypes one nested field: usage counts that are strings or
negative, choices that are not lists, events that are not objects. The gateway may pass a harmless
change on (200) or refuse the answer as the upstream's fault (502), and either way it keeps
serving and keeps accounting.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY
from tests.mock_upstream import Reply, anthropic_stream_events, default_handler
from tests.test_fuzz_bodies import random_value

HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}
MESSAGES = [{"role": "user", "content": "Say hello."}]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside a JSON value (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def corrupt(value: Any, rng: random.Random) -> Any:
    """A copy of `value` with one nested field replaced by a random JSON value, or removed."""
    value = copy.deepcopy(value)
    paths = _paths(value)
    if not paths:
        return random_value(rng)
    *parent_path, last = rng.choice(paths)
    parent = value
    for key in parent_path:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[last]
    else:
        parent[last] = random_value(rng)
    return value


def corrupted_handler(rng: random.Random):
    def handler(path: str, body: dict[str, Any]) -> Reply:
        healthy = default_handler(path, body)
        if healthy.sse is None:
            return Reply(json=corrupt(healthy.json, rng))
        events = list(healthy.sse)
        if path.endswith("/v1/messages"):
            events = anthropic_stream_events("Hello from Claude.")
        i = rng.randrange(len(events))
        item = events[i]
        if isinstance(item, tuple):
            events[i] = (item[0], corrupt(item[1], rng))
        elif isinstance(item, dict):
            events[i] = corrupt(item, rng)
        return Reply(sse=events)
    return handler


@pytest.mark.parametrize("model", ["gpt-5.5", "claude-opus-4.7"])
def test_corrupted_upstream_answers_never_give_a_server_error(start_gateway, upstream, model):
    gateway = start_gateway(retries=0)
    rng = random.Random(f"{model}-20261202")
    upstream.handler = corrupted_handler(rng)
    outcomes: dict[str, int] = {}
    with httpx.Client(base_url=gateway.base_url, headers=HEADERS, timeout=20) as client:
        for n in range(150):
            stream = n % 2 == 1
            response = client.post("/chat/completions", json={"model": model, "messages": MESSAGES, "stream": stream})
            outcome = str(response.status_code)
            if response.status_code != 200:
                error = response.json()["error"]
                assert set(error) == {"message", "type", "param", "code"} and error["message"], response.text
                assert response.status_code in (502, 504), response.text  # the upstream's fault, said as such
            elif stream:
                text = response.text
                assert text.endswith("data: [DONE]\n\n"), text[-300:]
                if '"error"' in text:
                    outcome = "200 stream ended by an error event"
            else:  # fields the gateway does not read (id, object, created) pass through as sent
                assert isinstance(response.json(), dict)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        upstream.handler = default_handler
        healthy = client.post("/chat/completions", json={"model": model, "messages": MESSAGES})
        assert healthy.status_code == 200, healthy.text  # still serving (no circuit left open by retries=0 noise)
    assert outcomes.get("200", 0) > 10 and outcomes.get("502", 0) > 10, outcomes
