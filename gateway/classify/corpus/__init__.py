"""The training corpus: licence-clean dev items plus generated prompts and shortcut-breaking variants."""

from __future__ import annotations

import random
from typing import Any

from gateway.classify.corpus.agents import TRAIN_TOOLS, attach_tools, p10, prepend_turns
from gateway.classify.corpus.assistant_tasks import _CHAT_OPENERS, ASSISTANT_GENERATORS
from gateway.classify.corpus.code_tasks import CODE_GENERATORS, _code, _diff
from gateway.classify.corpus.code_tasks_p5_p9 import SPEC_GENERATORS
from gateway.classify.corpus.common import Example, Material, harvest
from gateway.classify.corpus.payloads import make_trace
from gateway.classify.corpus.prose_material import document
from gateway.classify.corpus.prose_tasks import DOCUMENT_GENERATORS
from gateway.classify.corpus.systems import GENERIC_SYSTEMS, ROLE_SYSTEMS, TASK_SYSTEMS
from gateway.classify.corpus.texts import FOREIGN
from gateway.classify.view import content_text

# More generated examples where the dev set gives little or no licence-clean training data.
_PER_CATEGORY = 240
_GAP_CATEGORIES = {
    "P1": 360,
    "P3": 360,
    "P4": 360,
    "P7": 400,
    "P8": 360,
    "N2": 400,
    "N4": 320,
    "N5": 360,
    "N6": 320,
}
# Requests whose whole instruction sits in the system prompt, per category that has them.
_PER_SYSTEM_TASK = 40
SYSTEM_RATE = 0.3
ROLE_SHARE = 0.4
DEV_SYSTEM_RATE = 0.15
TOOLS_RATE = 0.22
TURNS_RATE = 0.28


def with_system(request: dict[str, Any], system: str) -> dict[str, Any]:
    """The request with a system message in front of its messages."""
    return {**request, "messages": [{"role": "system", "content": system}, *(request.get("messages") or [])]}


def dress(request: dict[str, Any], category: str, rng: random.Random) -> dict[str, Any]:
    """The request with a system prompt in front, as most real traffic has: generic or a role for the task."""
    messages = request.get("messages") or []
    if rng.random() >= SYSTEM_RATE or any(m.get("role") == "system" for m in messages):
        return request
    roles = ROLE_SYSTEMS.get(category, ())
    system = rng.choice(roles) if roles and rng.random() < ROLE_SHARE else rng.choice(GENERIC_SYSTEMS)
    return with_system(request, system)


def _material_for(category: str, rng: random.Random, material: Material) -> str:
    if category in ("P3", "P4", "P8"):
        return _code(rng, material)[0]
    if category == "P9":
        return _diff(rng, material)
    if category == "P2":
        return make_trace(rng.choice(material.snippets), rng)
    if category == "N5" and rng.random() < 0.4:
        return rng.choice(FOREIGN)[1]
    return document(rng, material)


def system_task(category: str, rng: random.Random, material: Material) -> dict[str, Any]:
    """A request whose system prompt carries the instruction and whose user turn is only the material."""
    text = _material_for(category, rng, material)
    if rng.random() < 0.25:
        text = rng.choice(["Here it is:\n\n", "Next one:\n", "", "Please:\n\n"]) + text
    return {
        "model": "auto",
        "messages": [
            {"role": "system", "content": rng.choice(TASK_SYSTEMS[category])},
            {"role": "user", "content": text},
        ],
    }


def generate(material: Material, rng: random.Random) -> list[Example]:
    """Template-generated examples for every category."""
    generators = {**CODE_GENERATORS, **SPEC_GENERATORS, **DOCUMENT_GENERATORS, **ASSISTANT_GENERATORS, "P10": p10}
    out = []
    for category, gen in generators.items():
        for _ in range(_GAP_CATEGORIES.get(category, _PER_CATEGORY)):
            out.append(Example(dress(gen(rng, material), category, rng), category, "generated"))
        if category in TASK_SYSTEMS:
            for _ in range(_PER_SYSTEM_TASK):
                out.append(Example(system_task(category, rng, material), category, "generated+system"))
    return out


def openers_from(requests: list[dict[str, Any]]) -> list[str]:
    """Short first-turn texts, used as unrelated chat history in front of another task."""
    texts = []
    for request in requests:
        messages = request.get("messages") or []
        text = content_text(messages[0].get("content")) if messages else ""
        if 10 < len(text):
            texts.append(text[:300])
    return texts + list(_CHAT_OPENERS)


def break_shortcuts(
    examples: list[Example], rng: random.Random, openers: list[str], tool_pool=TRAIN_TOOLS
) -> list[Example]:
    """Copies of non-agent examples with tools attached, and non-chat examples as a late chat turn, same labels."""
    extra = []
    for ex in examples:
        if ex.category != "P10" and rng.random() < TOOLS_RATE:
            extra.append(Example(attach_tools(ex.request, rng, tool_pool), ex.category, ex.origin + "+tools"))
        if ex.category not in ("N10", "P10") and rng.random() < TURNS_RATE:
            extra.append(Example(prepend_turns(ex.request, rng, openers), ex.category, ex.origin + "+turns"))
    return extra


def build_corpus(dev_rows: list[tuple[dict[str, Any], str]], seed: int = 13) -> list[Example]:
    """All training examples, deterministic for a given seed and list of licence-clean training items."""
    rng = random.Random(seed)
    base = [Example(req, cat, "dev") for req, cat in dev_rows]
    # Dev items never carry a system prompt; copies with a generic one keep that from becoming a cue.
    base += [
        Example(with_system(ex.request, rng.choice(GENERIC_SYSTEMS)), ex.category, "dev+system")
        for ex in base
        if rng.random() < DEV_SYSTEM_RATE
    ]
    base += generate(harvest(dev_rows), rng)
    openers = openers_from([req for req, _ in dev_rows])
    return base + break_shortcuts(base, rng, openers)
