"""The opening and closing clauses: features.py (the opening clause found by a lazy scan for breaks)
against the definition the scan replaced (split the whole window at every break, then walk the clauses)."""

from __future__ import annotations

import random

import pytest

from gateway.classify import features
from gateway.classify.dataset import dev_path, load_dev
from gateway.classify.features import _MIN_CLAUSE_TOKENS, _PAIR_BREAKS, CLAUSE_TOKENS, first_and_last_clause
from gateway.classify.view import view_request


def _split(text: str) -> list[str]:
    for pair in _PAIR_BREAKS:
        text = text.replace(pair, "\n")
    return text.split("\n")


def reference(task: str) -> tuple[list[str], list[str]]:
    """first_and_last_clause as it was defined before the lazy scans."""
    first: list[str] = []
    for clause in _split(task[:features.CLAUSE_CHARS] + " "):
        if len(first) >= _MIN_CLAUSE_TOKENS:
            break
        tokens = features._tokens(clause)
        if not features._skip(tokens, first):
            first += tokens
    first = first[:CLAUSE_TOKENS]
    if len(task) <= len(" ".join(first)) + 40:
        return first, []
    tail = task[-features.CLAUSE_CHARS:]
    clauses = _split(tail[: len(tail.rstrip(" \t\r\n.?!:;"))])
    last: list[str] = []
    for i in range(len(clauses) - 1, -1 if len(task) <= features.CLAUSE_CHARS else 0, -1):
        if len(last) >= _MIN_CLAUSE_TOKENS:
            break
        last = features._tokens(clauses[i]) + last
    return first, last[-CLAUSE_TOKENS:]


# Breaks in every combination (adjacent, doubled, at the edges, punctuation without its space),
# pleasantries that are skipped as a whole clause, short and long words, non-ASCII text.
PIECES = [*_PAIR_BREAKS, "\n", "\n\n", ".", "?", "!", ":", ";", " ", "  ", "?.", ". .", ":\n", "\t", "\r\n",
          "thanks", "hi", "ok", "quick question", "Different question", "sorry", "please", "write", "a", "function",
          "that", "parses", "dates", "Summarise", "the", "ticket", "below", "éàü", "日本語", "x", "42", "foo_bar"]


def random_task(rng: random.Random) -> str:
    size = rng.choice([0, 1, 2, 4, 8, 20, 60, 200])  # from nothing to well past both 300-character windows
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", "\n"]) for _ in range(size))


def test_the_clauses_match_the_split_definition_on_generated_text() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        task = random_task(rng)
        assert first_and_last_clause(task) == reference(task), repr(task)


@pytest.mark.skipif(not dev_path().exists(), reason="dev set not available")
def test_the_clauses_match_the_split_definition_on_every_dev_prompt() -> None:
    for item in load_dev(dev_path()):
        task = view_request(item.request).task
        assert first_and_last_clause(task) == reference(task), task[:200]


def test_clauses_skip_pleasantries_and_stop_at_the_closing_request() -> None:
    task = "Thanks! Quick question: " + "lorem ipsum dolor. " * 30 + "Can you write a haiku about rain?"
    first, last = first_and_last_clause(task)
    assert first == ["lorem", "ipsum", "dolor"]  # "thanks" and "quick question" alone are pleasantries
    assert last == ["can", "you", "write", "a", "haiku", "about", "rain"]
