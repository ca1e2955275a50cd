"""Turns a RequestView and its signals into weighted feature strings, identically for training and serving."""

from __future__ import annotations

import math
import re
import string

from gateway.classify.view import RequestView

# Bounded windows keep featurization O(1) in the request size: the instruction usually sits at
# the start or the end of the last user turn, and the body in between is sampled head and tail.
BODY_HEAD = 2_000
BODY_TAIL = 600
INSTRUCTION_TOKENS = 40
SIDE_CHARS = 400
SIGNAL_VALUE = 0.5

# str.translate + split is ~8x faster than a tokenizing regex. Digits become "0" so numbers
# keep their shape ("0000" for a year) without a vocabulary entry per value; punctuation and
# underscores split words, so snake_case identifiers yield their parts.
_TABLE = str.maketrans({**{c: " " for c in string.punctuation + "\t\r\n\f\v"}, **{d: "0" for d in string.digits}})
# A crude suffix strip joins "translate/translating/translation" on the short instruction
# window; one regex pass over the joined tokens is much cheaper than a Python call per token.
_SUFFIX = re.compile(r"(?<=[a-z]{4})(?:ations|ation|ions|ion|ings|ing|ers|ies|ed|es|er|ly|s)\b")

# Features come in groups that share one value: (value, names).
Features = list[tuple[float, list[str]]]


def _tokens(text: str) -> list[str]:
    return text.lower().translate(_TABLE).split()


def _stems(tokens: list[str]) -> list[str]:
    return _SUFFIX.sub("", " ".join(tokens)).split() if tokens else []


def _group(prefix: str, items: list[str], out: Features) -> None:
    # Each namespace is L2-normalised on its own, so a 30 KB body cannot drown out the instruction.
    unique = set(items)
    if unique:
        out.append((1.0 / math.sqrt(len(unique)), [prefix + item for item in unique]))


def featurize(view: RequestView, signals: tuple[str, ...]) -> Features:
    """Return groups of (value, feature names); names the model does not know are ignored."""
    task = view.task
    if len(task) > BODY_HEAD + BODY_TAIL:
        head_tokens = _tokens(task[:BODY_HEAD])
        tail_tokens = _tokens(task[-BODY_TAIL:])
        body = head_tokens + tail_tokens
    else:
        head_tokens = tail_tokens = body = _tokens(task)

    first = _stems(head_tokens[:INSTRUCTION_TOKENS])
    last = _stems(tail_tokens[-INSTRUCTION_TOKENS:]) if len(body) > INSTRUCTION_TOKENS else []
    instruction = first + last
    bigrams = [a + " " + b for a, b in zip(first, first[1:], strict=False)]
    bigrams += [a + " " + b for a, b in zip(last, last[1:], strict=False)]

    out: Features = []
    _group("w:", body, out)
    _group("i:", instruction, out)
    _group("b:", bigrams, out)
    lead = first[:24]
    if view.n_user_turns >= 2:
        # Conjunctions with structure let a linear model learn "follow-up wording in a chat"
        # separately from the same words in a first message.
        _group("m:", lead, out)
    if view.has_tools:
        _group("t:", lead, out)
    if view.system:
        _group("s:", _tokens(view.system[:SIDE_CHARS]), out)
    if view.previous_user:
        _group("p:", _tokens(view.previous_user[:SIDE_CHARS]), out)
    # Signals enter at half strength, so the L2 penalty makes a large signal weight cost 4x: a
    # structural cue has to be worth it across the whole corpus, not just decide one category.
    out.append((SIGNAL_VALUE, ["g:" + name for name in signals] + ["g:bias_text" if body else "g:no_text"]))
    return out
