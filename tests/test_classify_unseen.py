"""The hand-written unseen set (bench/data/classifier_unseen.yaml): a floor, its shape, and that training never reads it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.classifier import UNSEEN_PATH, Routing, load_routes, load_unseen
from gateway.classify import CATEGORIES, classify

PACKAGE = Path(__file__).resolve().parents[1] / "gateway" / "classify"


@pytest.fixture(scope="module")
def unseen():
    return load_unseen()


def test_every_category_has_ten_unseen_prompts(unseen) -> None:
    counts = Counter(item.category for item in unseen)
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 10
    assert len({item.id for item in unseen}) == len(unseen)
    # Structural shortcuts are represented: tools on non-agent tasks, later turns of unrelated chats.
    assert sum("tools" in item.tags and item.category != "P10" for item in unseen) >= 15
    assert sum("turns" in item.tags and item.category != "N10" for item in unseen) >= 15


def test_unseen_set_is_never_read_by_training() -> None:
    # Nothing under gateway/classify/ may name the evaluation file or its folder.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert UNSEEN_PATH.name not in text and "bench/data" not in text, path


def test_accuracy_and_route_agreement_floors_on_unseen_prompts(unseen) -> None:
    routing: Routing = load_routes()
    results = [(item, classify(item.request)) for item in unseen]
    correct = sum(r.category == item.category for item, r in results)
    agree = sum(routing.model_for(r) == routing.routes[item.category] for item, r in results)
    misses = [(item.id, r.category, r.confidence) for item, r in results if r.category != item.category]
    assert correct / len(results) >= 0.85, misses
    assert agree / len(results) >= 0.90, misses
