"""Turns a RequestView and its signals into weighted feature strings, identically for training and serving."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Collection

from gateway.classify.view import RequestView

try:  # the C tokenizer for ASCII text (_score.c); without it the Python path gives the same tokens
    from gateway.classify._score import ascii_tokens
except ImportError:  # pragma: no cover - only where the package was installed without a C compiler
    ascii_tokens = None

# Bounded windows keep featurization O(1) in the request size: the instruction usually sits at
# the start or the end of the last user turn, and the body in between is sampled head and tail.
BODY_HEAD = 1_500
BODY_TAIL = 500
INSTRUCTION_TOKENS = 40
CLAUSE_CHARS = 300
CLAUSE_TOKENS = 20
SIDE_CHARS = 400
SIGNAL_VALUE = 0.5

# Punctuation, underscores and control whitespace become spaces and digits become "0", so numbers
# keep their shape ("0000" for a year) without a vocabulary entry per value and snake_case
# identifiers yield their parts. bytes.translate over the UTF-8 encoding does this in C at a
# constant ~1 ns per byte: str.translate leaves its ASCII fast path at the first non-ASCII
# character and then costs ~70 ns per character (0.3 ms for a 4 KB window of Cyrillic).
# Only ASCII bytes are mapped, so multi-byte UTF-8 sequences pass through intact.
_FROM = (string.punctuation + "\t\r\n\f\v" + string.digits).encode()
_TO = b" " * (len(string.punctuation) + 5) + b"0" * 10
_TABLE = bytes.maketrans(_FROM, _TO)


def ascii_map(table: bytes, *, lower: bool) -> bytes:
    """The 128-byte map ascii_tokens applies: each ASCII byte lowered (if asked), then through `table`."""
    return bytes((chr(b).lower() if lower else chr(b)).encode().translate(table)[0] for b in range(128))


def split_words(text: str, table: bytes, mapped: bytes) -> list[str]:
    """text.lower() through `table` (a bytes.translate table), split on whitespace.

    `mapped` is ascii_map(table, lower=True): ASCII text takes the C tokenizer, which reads the
    text once and builds only the words; other text (or no compiler) the bytes.translate path.
    """
    if ascii_tokens is not None:
        words: list[str] | None = ascii_tokens(text, mapped)
        if words is not None:
            return words
    return text.lower().encode("utf-8", "surrogatepass").translate(table).decode("utf-8", "surrogatepass").split()


_TOKEN_MAP = ascii_map(_TABLE, lower=True)
# A crude suffix strip joins "translate/translating/translation" on the instruction windows.
_SUFFIX = re.compile(r"(?<=[a-z]{4})(?:ations|ation|ions|ion|ings|ing|ers|ies|ed|es|er|ly|s|e)\b")
# British spellings fold into American ones before the strip ("summarise" and "summarize",
# "colour" and "color", "catalogue" and "catalog"), so one spelling's training data serves both.
_BRITISH = re.compile(
    r"(?<=[a-z]{3})(?:([iy])s(e|ed|es|ing|ation|ations|er|ers)|our(s|ed|ing|ite|ites|able)?|ogue(s)?|tre(s)?)\b"
)


def _american(match: re.Match[str]) -> str:
    ise, ise_end, our, ogue, tre = match.groups()
    if ise:
        return ise + "z" + ise_end
    if match.group(0).startswith("our"):
        return "or" + (our or "")
    if match.group(0).startswith("ogue"):
        return "og" + (ogue or "")
    return "ter" + (tre or "")


# Stems are memoised per token: the regexes cost ~30 ns a character, and a classification stems
# ~200 tokens, nearly all of them common words. Misses are stemmed together in one pass. The
# cache is bounded (cleared when full) and only ever maps a token to the same stem.
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_MAX = 100_000
STEM_MEMO = _STEM_CACHE  # read directly by the compiled scorer; only ever holds token -> stem


def stem_words(words: list[str]) -> list[str]:
    """Stems of the given tokens, one regex pass for the lot (no cache)."""
    joined = _SUFFIX.sub("", _BRITISH.sub(_american, " ".join(words)))
    # Neither pattern can remove a whole token (a stem keeps at least 4 letters), so the split
    # lines up with the input.
    return joined.split(" ")


# Clause boundaries for the first and last instruction: sentence ends, colons and line breaks.
# Each two-character break becomes a line break (five str.replace calls over 300 characters) and
# one split yields the clauses; a regex split of the window costs ten times more.
_PAIR_BREAKS = (". ", "? ", "! ", ": ", "; ")
_MIN_CLAUSE_TOKENS = 3
# Chat pleasantries that open a turn ("Thanks! Different question: ...") are skipped when they
# make up a whole clause, so the clause features see the request itself.
_FILLER = frozenset(
    "hi hey hello thanks thank you ok okay cool great nice perfect cheers sure right yes no ha haha lol love it "
    "that fair good advice makes sense and so also now then well sorry anyway alright different question "
    "thing task unrelated separate another new something else completely quick one more next topic".split()
)

# Features come in groups that share a namespace: (value, namespace, items). The model's
# vocabulary is split by namespace too, so no "w:" + word string is built per feature. A value of
# None means the group is normalised: each distinct item counts 1/sqrt(number of distinct items)
# and repeats count once (see normalised). featurize leaves the deduplication to the scorer,
# which does it without building a dict per group. A bigram is the pair of its tokens (zip builds
# them in C); its feature name is the two tokens joined by a space.
Item = str | tuple[str, str]
Features = list[tuple[float | None, str, Collection[Item]]]


def item_key(item: str) -> Item:
    """The serving-time key of a feature name's item part: "a b" is the bigram ("a", "b")."""
    first, space, second = item.partition(" ")
    return (first, second) if space else item


def item_name(item: Item) -> str:
    """The item part of a feature name (the inverse of item_key)."""
    return item if isinstance(item, str) else " ".join(item)


def _tokens(text: str) -> list[str]:
    return split_words(text, _TABLE, _TOKEN_MAP)


def _stems(tokens: list[str]) -> list[str]:
    cache = _STEM_CACHE
    stems = list(map(cache.get, tokens))  # one lookup per token; a miss reads None
    if None in stems:
        words = list(dict.fromkeys(t for t, s in zip(tokens, stems, strict=True) if s is None))
        if len(cache) + len(words) > _STEM_CACHE_MAX:
            cache.clear()
        cache.update(zip(words, stem_words(words), strict=True))
        stems = list(map(cache.__getitem__, tokens))
    return stems


def _skip(tokens: list[str], out: list[str]) -> bool:
    """True for a clause of pure pleasantries in front of the request."""
    return not out and _FILLER.issuperset(tokens)


def _clauses(text: str) -> list[str]:
    for pair in _PAIR_BREAKS:
        text = text.replace(pair, "\n")
    return text.split("\n")


# The breaks _clauses splits at, as one pattern (every pair is a punctuation mark and a space), so
# the opening clause is found without splitting the whole window: 2.5 -> 1.4 us for a typical one.
assert all(len(pair) == 2 and pair[1] == " " for pair in _PAIR_BREAKS)
_BREAK = re.compile("[" + re.escape("".join(pair[0] for pair in _PAIR_BREAKS)) + "] |\n")


def _first_clause(head: str) -> list[str]:
    """The opening clause's tokens: clauses in order, pure pleasantries skipped, until there are enough."""
    out: list[str] = []
    start = 0
    for found in _BREAK.finditer(head):
        if len(out) >= _MIN_CLAUSE_TOKENS:
            return out[:CLAUSE_TOKENS]
        tokens = _tokens(head[start:found.start()])
        start = found.end()
        if not _skip(tokens, out):
            out += tokens
    if len(out) < _MIN_CLAUSE_TOKENS:  # the text after the last break
        tokens = _tokens(head[start:])
        if not _skip(tokens, out):
            out += tokens
    return out[:CLAUSE_TOKENS]


def _last_clause(tail: str, whole: bool) -> list[str]:
    """The closing clause; the tail window's first fragment is only used when it is the whole text."""
    out: list[str] = []
    clauses = _clauses(tail[: len(tail.rstrip(" \t\r\n.?!:;"))])
    for i in range(len(clauses) - 1, -1 if whole else 0, -1):
        if len(out) >= _MIN_CLAUSE_TOKENS:
            break
        out = _tokens(clauses[i]) + out
    return out[-CLAUSE_TOKENS:]


def first_and_last_clause(task: str) -> tuple[list[str], list[str]]:
    """Tokens of the opening clause and, for longer texts, the closing one: where instructions sit."""
    first = _first_clause(task[:CLAUSE_CHARS] + " ")
    if len(task) <= len(" ".join(first)) + 40:
        return first, []
    return first, _last_clause(task[-CLAUSE_CHARS:], len(task) <= CLAUSE_CHARS)


def window_tokens(task: str) -> tuple[list[str], list[str]]:
    """Tokens of the task's head and tail windows (the same list twice when the task is short)."""
    if len(task) > BODY_HEAD + BODY_TAIL:
        return _tokens(task[:BODY_HEAD]), _tokens(task[-BODY_TAIL:])
    tokens = _tokens(task)
    return tokens, tokens


def _group(prefix: str, items: list[Item], out: Features) -> None:
    # Each namespace is L2-normalised on its own, so a 30 KB body cannot drown out the instruction.
    if items:
        out.append((None, prefix, items))


def normalised(features: Features) -> list[tuple[float, str, Collection[Item]]]:
    """The groups with their values resolved: a normalised group's distinct items, each 1/sqrt(count).

    Deduplicated in first-seen order, not by a set: a set's order follows the per-process string
    hash seed, and the order the rows are summed in moves the float32 scores in their last bits,
    so one request would get slightly different confidences from different workers.
    """
    out: list[tuple[float, str, Collection[Item]]] = []
    for value, prefix, items in features:
        if value is None:
            unique = dict.fromkeys(items).keys()
            out.append((1.0 / math.sqrt(len(unique)), prefix, unique))
        else:
            out.append((value, prefix, items))
    return out


def _bigrams(tokens: list[str]) -> list[Item]:
    return list(zip(tokens, tokens[1:], strict=False))


def serving_parts(view: RequestView, tokens: tuple[list[str], list[str]]) -> tuple[
        list[str], list[str], list[str], list[str], list[str] | None]:
    """The token lists featurize reads (head, tail, first and last clause, previous turn or None): the
    compiled scorer builds the groups from these itself (model.LinearModel.predict_request)."""
    first_clause, last_clause = first_and_last_clause(view.task)
    previous = _tokens(view.previous_user[:SIDE_CHARS]) if view.previous_user else None
    return tokens[0], tokens[1], first_clause, last_clause, previous


def fill_stems(tokens: list[str]) -> None:
    """Stem `tokens` into the memo STEM_MEMO (the compiled scorer's callback for the ones it lacks)."""
    _stems(tokens)


def feature_names(features: Features) -> list[tuple[float, str]]:
    """(value, full feature name) pairs, for training."""
    return [(value, prefix + item_name(item)) for value, prefix, items in normalised(features) for item in items]


def system_features(system: str) -> Features:
    """The system prompt's group ("s:"), which depends on the system text alone: serving scores it
    once per distinct prompt (classifier.py), since one application sends the same one every time."""
    out: Features = []
    if system:
        words = _stems(_tokens(system[:SIDE_CHARS]))
        _group("s:", [*words, *_bigrams(words[:30])], out)
    return out


def featurize(
    view: RequestView,
    signals: tuple[str, ...],
    tokens: tuple[list[str], list[str]] | None = None,
    *,
    with_system: bool = True,
) -> Features:
    """Return groups of (value, namespace, items); feature names are namespace + item, unknown ones ignored.

    `tokens` is window_tokens(view.task), when the caller already has it. With `with_system` false
    the system prompt's group is left out (the caller adds its score from system_features).
    """
    task = view.task
    head_tokens, tail_tokens = tokens or window_tokens(task)
    body = head_tokens + tail_tokens if head_tokens is not tail_tokens else head_tokens

    first = _stems(head_tokens[:INSTRUCTION_TOKENS])
    last = _stems(tail_tokens[-INSTRUCTION_TOKENS:]) if len(body) > INSTRUCTION_TOKENS else []
    instruction = first + last
    bigrams = _bigrams(first) + _bigrams(last)
    # The opening and closing clauses alone: a short instruction around a long payload keeps its
    # full weight here instead of sharing a window with the payload's first words.
    first_clause, last_clause = first_and_last_clause(task)
    first_clause, last_clause = _stems(first_clause), _stems(last_clause)

    out: Features = []
    _group("w:", body, out)
    _group("i:", instruction, out)
    _group("b:", bigrams, out)
    _group("c:", [*first_clause, *["^" + w for w in first_clause[:2]], *_bigrams(first_clause)], out)
    _group("e:", [*last_clause, *_bigrams(last_clause)], out)
    lead = first[:24]
    if view.n_user_turns >= 2:
        # Conjunctions with structure let a linear model learn "follow-up wording in a chat"
        # separately from the same words in a first message.
        _group("m:", first_clause or lead, out)
    if view.has_tools:
        _group("t:", first_clause or lead, out)
    if with_system:
        out += system_features(view.system)
    if view.previous_user:
        _group("p:", _tokens(view.previous_user[:SIDE_CHARS]), out)
    # Signals enter at half strength, so the L2 penalty makes a large signal weight cost 4x: a
    # structural cue has to be worth it across the whole corpus, not just decide one category.
    out.append((SIGNAL_VALUE, "g:", [*signals, "bias_text" if body else "no_text"]))
    return out
