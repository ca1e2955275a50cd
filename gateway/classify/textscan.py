"""One pass of raw text facts for the structural signals: which needles occur, which flagged words, counts.

signals.py declares what it looks for in a `ScanTable` (needles in the task, its head/tail window,
the lower-cased window or its edges, each optionally gated on a flagged word; word flags; line
prefixes) and reads the answers as bits. `Scanner.scan` computes them: in C (`_scan.c`) for ASCII
text, where the ~40 checks cost one pass and a few memmem calls instead of a Python call each
(about a third of a classification's CPU in a busy server went to that bytecode); in Python for
other text or where the C module was not built. Tests pin the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

try:  # built by setup.py from _scan.c; without it every text takes the Python path below
    from gateway.classify import _scan
except ImportError:  # pragma: no cover - only where the package was installed without a C compiler
    _scan = None

# Where a needle is searched: the whole task, its head/tail window, the window lower-cased, or the
# lower-cased window's first and last EDGE_CHARS characters joined by a line break.
TASK, HEAD, LOW, EDGES = 0, 1, 2, 3
EDGE_CHARS = 400
# A number not glued to a word or a decimal point before it (see _scan.c's count_numbers).
NUMBER = re.compile(r"\d(?<![\w.]\d)\d*(?:[.,]\d+)?%?")
NUMBERS_COUNTED = 3  # numeric_problem needs three; counting stops there
NUMBER_TASK_CHARS = 1_500  # longer tasks are not counted (0)

# (needle bits, word flags, edge-word flags, ``` count, numbers, code lines, file-header lines, speaker lines)
Facts = tuple[int, int, int, int, int, int, list[str], list[str]]


@dataclass(slots=True)
class ScanTable:
    """What to look for: needles (one bit each, in declaration order) and word flags (one bit per set)."""

    needles: list[tuple[int, str, int, int]] = field(default_factory=list)  # (where, needle, gate flags, bit)
    checks: int = 0
    words: dict[str, int] = field(default_factory=dict)  # word -> flags
    word_bits: int = 0
    code_starts: tuple[str, ...] = ()  # a stripped line starting so counts as a code line
    file_starts: tuple[str, ...] = ()  # ... is returned as a candidate file-header line
    edge_tokens: int = 70  # edge words: this many tokens at each end
    head_lines: int = 28  # lines read at the window's start and end
    tail_lines: int = 8

    def flag(self, words: Iterable[str]) -> int:
        """A new word flag, set for each of `words` (in the words of the window, or of its edges)."""
        bit = 1 << self.word_bits
        self.word_bits += 1
        if self.word_bits > 64:
            raise ValueError("at most 64 word flags")
        for word in words:
            self.words[word] = self.words.get(word, 0) | bit
        return bit

    def find(self, where: int, needles: Iterable[str], gate: int = 0) -> int:
        """A new check: its bit is set when one of `needles` occurs in `where` (with a `gate`: and a word
        with one of those flags occurs)."""
        return self.find_gated(where, ((needle, gate) for needle in needles))

    def find_gated(self, where: int, needles: Iterable[tuple[str, int]]) -> int:
        """A new check over (needle, gate) pairs, each needle searched only when its own gate is met."""
        if self.checks == 64:
            raise ValueError("at most 64 needle checks")
        bit = self.checks
        self.checks += 1
        for needle, gate in needles:
            if not needle or not needle.isascii():
                raise ValueError(f"needles must be non-empty ASCII: {needle!r}")
            self.needles.append((where, needle, gate, bit))
        return 1 << bit


class Scanner:
    """Scanner(table).scan(task, head, head_tokens, tail_tokens) -> Facts."""

    __slots__ = ("table", "_compiled")

    def __init__(self, table: ScanTable, *, compiled: bool = True) -> None:
        self.table = table
        self._compiled = None
        if compiled and _scan is not None:
            self._compiled = _scan.Scanner(
                [(where, needle.encode(), gate, bit) for where, needle, gate, bit in table.needles], table.words,
                tuple(s.encode() for s in table.code_starts), tuple(s.encode() for s in table.file_starts),
                table.edge_tokens, EDGE_CHARS, table.head_lines, table.tail_lines, NUMBER_TASK_CHARS,
            )

    @property
    def compiled(self) -> bool:
        """Whether ASCII text takes the C path."""
        return self._compiled is not None

    def scan(self, task: str, head: str, head_tokens: list[str], tail_tokens: list[str]) -> Facts:
        """The facts of `task` (head: its window; tokens: features.window_tokens(task))."""
        if self._compiled is not None:
            facts: Facts | None = self._compiled.scan(task, head, head_tokens, tail_tokens)
            if facts is not None:  # None: not ASCII
                return facts
        return self.scan_python(task, head, head_tokens, tail_tokens)

    def scan_python(self, task: str, head: str, head_tokens: list[str], tail_tokens: list[str]) -> Facts:
        """scan() in Python: for non-ASCII text, where the C module is missing, and as the tests' reference."""
        table = self.table
        flags = table.words.get
        n = table.edge_tokens
        words = edges = 0
        if tail_tokens is head_tokens:
            edge_tokens = {*head_tokens[:n], *head_tokens[-n:]}
            all_tokens = set(head_tokens)
        else:
            edge_tokens = {*head_tokens[:n], *tail_tokens[-n:]}
            all_tokens = {*head_tokens, *tail_tokens}
        for token in all_tokens:
            words |= flags(token, 0)
        for token in edge_tokens:
            edges |= flags(token, 0)
        low = head.lower()
        texts = (task, head, low, low[:EDGE_CHARS] + "\n" + low[-EDGE_CHARS:])
        found = 0
        for where, needle, gate, bit in table.needles:
            if (not gate or words & gate) and needle in texts[where]:
                found |= 1 << bit
        numbers = 0
        if len(task) < NUMBER_TASK_CHARS:
            numbers = len(list(islice(NUMBER.finditer(task), NUMBERS_COUNTED)))
        code, file_lines, speaker_lines = self._lines(head)
        return found, words, edges, head.count("```"), numbers, code, file_lines, speaker_lines

    def _lines(self, head: str) -> tuple[int, list[str], list[str]]:
        table = self.table
        lines = head.split("\n")
        if len(lines) > table.head_lines + table.tail_lines:
            lines = lines[: table.head_lines] + lines[-table.tail_lines:]
        code = 0
        file_lines: list[str] = []
        speaker_lines: list[str] = []
        for line in lines:
            stripped = line.lstrip()
            if not stripped:
                continue
            if stripped.startswith(table.code_starts):
                code += 1
            if stripped.startswith(table.file_starts):
                file_lines.append(stripped)
            if stripped.find(":", 0, 24) >= 0:
                speaker_lines.append(stripped)
        return code, file_lines, speaker_lines
