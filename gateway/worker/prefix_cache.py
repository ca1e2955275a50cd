"""A least-recently-used store of KV tensors for token prefixes (system prompts, earlier turns)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

import torch

LayerKV = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class PrefixHit:
    """The first `length` prompt tokens are already computed: per-layer KV views of shape [1, heads, length, dim]."""

    length: int
    kv: tuple[LayerKV, ...]


@dataclass(frozen=True)
class _Entry:
    tokens: torch.Tensor  # 1-D int64 on CPU, compared against prompts
    kv: tuple[LayerKV, ...]


class PrefixCache:
    """Finds the longest cached prefix of a prompt; evicts least recently used entries past `max_tokens`.

    Reuse is counted in whole `block`s of tokens, as vLLM does, so the gateway sees the same
    `cached_tokens` granularity from either engine and tiny accidental overlaps are not worth a copy.
    """

    def __init__(self, max_tokens: int, block: int = 16) -> None:
        self.max_tokens = max_tokens
        self.block = max(1, block)
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._ids = count()
        self.tokens = 0
        self.hits = 0

    def lookup(self, prompt: Sequence[int]) -> PrefixHit | None:
        """The longest reusable prefix of `prompt`, leaving at least one token to compute the next-token logits."""
        usable = len(prompt) - 1
        if usable < self.block or not self._entries:
            return None
        query = torch.tensor(prompt[:usable], dtype=torch.long)
        best_key, best_len = None, 0
        for key, entry in self._entries.items():
            shared = _common_prefix(entry.tokens, query)
            shared -= shared % self.block
            if shared > best_len:
                best_key, best_len = key, shared
        if best_key is None:
            return None
        self._entries.move_to_end(best_key)
        self.hits += 1
        entry = self._entries[best_key]
        return PrefixHit(best_len, tuple((k[:, :, :best_len], v[:, :, :best_len]) for k, v in entry.kv))

    def insert(self, tokens: Sequence[int], kv: Sequence[LayerKV]) -> None:
        """Remember the KV for `tokens` (tensors must not be written to afterwards)."""
        if len(tokens) < self.block or len(tokens) > self.max_tokens:
            return
        new = torch.tensor(list(tokens), dtype=torch.long)
        for key, entry in list(self._entries.items()):
            shared = _common_prefix(entry.tokens, new)
            if shared == len(new):
                # An entry already covers these tokens (e.g. the prompt of a conversation we cached whole).
                self._entries.move_to_end(key)
                return
            if shared == len(entry.tokens):
                self._drop(key)
        self._entries[next(self._ids)] = _Entry(new, tuple(kv))
        self.tokens += len(new)
        while self.tokens > self.max_tokens:
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self.tokens = 0

    def _drop(self, key: int) -> None:
        self.tokens -= len(self._entries.pop(key).tokens)


def _common_prefix(a: torch.Tensor, b: torch.Tensor) -> int:
    """Number of leading positions where the two 1-D tensors agree."""
    n = min(len(a), len(b))
    differs = torch.nonzero(a[:n] != b[:n])
    return int(differs[0, 0]) if len(differs) else n
