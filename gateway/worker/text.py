"""Turning sampled token ids into text incrementally, and cutting it at stop strings."""

from __future__ import annotations

from collections.abc import Callable

# A byte-level BPE can split one UTF-8 character across tokens; until the rest arrives the decoder yields this.
_REPLACEMENT = "\ufffd"


class IncrementalDetokenizer:
    """Decodes a growing token list one step at a time without re-decoding the whole output each step."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        """Add one token and return the newly completed text (possibly empty)."""
        self._ids.append(token_id)
        # Decoding a short window around the new token keeps word-boundary spacing (SentencePiece) right.
        prefix = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full = self._decode(self._ids[self._prefix_offset :])
        if len(full) > len(prefix) and not full.endswith(_REPLACEMENT):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return full[len(prefix) :]
        return ""

    def flush(self) -> str:
        """Whatever is still pending at the end of the output, replacement characters included."""
        prefix = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full = self._decode(self._ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._ids)
        return full[len(prefix) :] if len(full) > len(prefix) else ""


class StopMatcher:
    """Holds back text that might be the start of a stop string; reports when one appears."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add text; return what is safe to emit now. After a stop string, `stopped` is set and no more is emitted."""
        if self.stopped:
            return ""
        if not self._stops:
            return text
        self._pending += text
        cut = min((i for i in (self._pending.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        hold = self._held_suffix()
        out = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(self._pending) - hold :]
        return out

    def flush(self) -> str:
        """Release held text at the end of the output (no stop string completed)."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _held_suffix(self) -> int:
        """Length of the longest suffix of the pending text that is a proper prefix of some stop string."""
        tail = self._pending[-(self._longest - 1) :] if self._longest > 1 else ""
        for start in range(len(tail)):
            piece = tail[start:]
            if any(stop.startswith(piece) for stop in self._stops):
                return len(piece)
        return 0
