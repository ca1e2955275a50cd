"""The training corpus: licence-clean dev items plus generated prompts and shortcut-breaking variants."""

from __future__ import annotations

import random
from typing import Any

from gateway.classify.corpus.agents import TRAIN_TOOLS, attach_tools, p10, prepend_turns
from gateway.classify.corpus.code_tasks import CODE_GENERATORS
from gateway.classify.corpus.common import Example, Material, harvest
from gateway.classify.corpus.prose_tasks import _CHAT_OPENERS, PROSE_GENERATORS
from gateway.classify.view import content_text

# More generated examples where the dev set gives no licence-clean training data at all.
_PER_CATEGORY = 160
_GAP_CATEGORIES = {"P1": 320, "P3": 320, "P4": 320, "P7": 320, "P8": 320, "N5": 320, "N2": 280, "N6": 240}
TOOLS_RATE = 0.2
TURNS_RATE = 0.25


def generate(material: Material, rng: random.Random) -> list[Example]:
    """Template-generated examples for every category."""
    generators = {**CODE_GENERATORS, **PROSE_GENERATORS, "P10": p10}
    out = []
    for category, gen in generators.items():
        for _ in range(_GAP_CATEGORIES.get(category, _PER_CATEGORY)):
            out.append(Example(gen(rng, material), category, "generated"))
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
    base += generate(harvest(dev_rows), rng)
    openers = openers_from([req for req, _ in dev_rows])
    return base + break_shortcuts(base, rng, openers)
