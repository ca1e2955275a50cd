"""The running batch's KV cache: one left-padded row per sequence, rows joining and leaving between steps.

Rows are right-aligned so every sequence's newest token sits in the same column; a decode step then
appends one column for all rows at once. Padding columns are masked out of attention, and each row's
rotary positions come from its own length, so a row's attention sees exactly its own tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from gateway.worker.prefix_cache import LayerKV


class BatchKV:
    """Left-padded per-layer KV tensors of shape [rows, heads, width, dim] plus each row's padding."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cache: DynamicCache | None = None
        self.pads: list[int] = []

    @property
    def rows(self) -> int:
        """Number of sequences in the batch."""
        return len(self.pads)

    @property
    def width(self) -> int:
        """Columns in the cache (the longest row's length)."""
        return 0 if self.cache is None else self.cache.get_seq_length()

    def lengths(self) -> list[int]:
        """Real (unpadded) tokens cached for each row."""
        width = self.width
        return [width - pad for pad in self.pads]

    def add(self, new_rows: Sequence[Sequence[LayerKV]]) -> None:
        """Append sequences, each given as per-layer KV of shape [1, heads, length, dim], in one copy."""
        if not new_rows:
            return
        lengths = [row[0][0].shape[2] for row in new_rows]
        width = max([self.width, *lengths])
        grow = width - self.width
        layers = []
        for layer in range(len(new_rows[0])):
            keys, values = [], []
            if self.cache is not None and self.rows:
                old = self.cache.layers[layer]
                keys.append(_left_pad(old.keys, grow))
                values.append(_left_pad(old.values, grow))
            for row, length in zip(new_rows, lengths, strict=True):
                keys.append(_left_pad(row[layer][0], width - length))
                values.append(_left_pad(row[layer][1], width - length))
            layers.append((torch.cat(keys), torch.cat(values)))
        self.pads = [pad + grow for pad in self.pads] + [width - length for length in lengths]
        self.cache = cache_from(layers)

    def remove(self, rows: Sequence[int]) -> None:
        """Drop sequences by row index, then trim padding columns no remaining row needs."""
        if not rows:
            return
        gone = set(rows)
        keep = [i for i in range(self.rows) if i not in gone]
        if not keep:
            self.cache, self.pads = None, []
            return
        trim = min(self.pads[i] for i in keep)
        index = torch.tensor(keep, device=self.device)
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, trim:]
            layer.values = layer.values.index_select(0, index)[:, :, trim:]
        self.pads = [self.pads[i] - trim for i in keep]

    def decode_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention mask [rows, width + 1] and position ids [rows, 1] for a one-token step."""
        pads = torch.tensor(self.pads, device=self.device)
        columns = torch.arange(self.width + 1, device=self.device)
        mask = (columns[None, :] >= pads[:, None]).long()
        positions = (self.width - pads)[:, None]
        return mask, positions

    def row_kv(self, row: int) -> tuple[LayerKV, ...]:
        """A private copy of one row's real (unpadded) KV, shape [1, heads, length, dim] per layer."""
        pad = self.pads[row]
        return tuple(
            (layer.keys[row : row + 1, :, pad:].clone(), layer.values[row : row + 1, :, pad:].clone())
            for layer in self.cache.layers
        )


def cache_from(layers: Sequence[LayerKV]) -> DynamicCache:
    """A DynamicCache holding the given per-layer tensors as they are (no copy; the model appends by concatenation)."""
    cache = DynamicCache()
    for keys, values in layers:
        layer = DynamicLayer()
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
        cache.layers.append(layer)
    return cache


def _left_pad(tensor: torch.Tensor, columns: int) -> torch.Tensor:
    """Prepend `columns` zero columns on the sequence axis (dim 2)."""
    if columns == 0:
        return tensor
    shape = (tensor.shape[0], tensor.shape[1], columns, tensor.shape[3])
    return torch.cat([tensor.new_zeros(shape), tensor], dim=2)
