"""The running batch's KV cache: one left-padded row per sequence, rows joining and leaving between steps.

Rows are right-aligned so every sequence's newest token sits in the same column; a decode step then
appends one column for all rows at once. Padding columns are masked out of attention, and each row's
rotary positions come from its own length, so a row's attention sees exactly its own tokens.

The tensors live in buffers with spare columns: a decode step writes its column in place instead of
concatenating (which would copy the whole cache every step); only joins and departures copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from gateway.worker.prefix_cache import LayerKV


class GrowableLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views into a buffer with spare columns to append into."""

    def __init__(self, key_buffer: torch.Tensor, value_buffer: torch.Tensor, length: int) -> None:
        super().__init__()
        self.lazy_initialization(key_buffer, value_buffer)
        self._key_buffer, self._value_buffer = key_buffer, value_buffer
        self.keys, self.values = key_buffer[:, :, :length], value_buffer[:, :, :length]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new columns after the current ones; grow the buffer (amortised) when it is full."""
        start = self.keys.shape[2]
        end = start + key_states.shape[2]
        if end > self._key_buffer.shape[2]:
            self._key_buffer = _with_capacity(self.keys, end + _spare(end))
            self._value_buffer = _with_capacity(self.values, end + _spare(end))
        self._key_buffer[:, :, start:end] = key_states
        self._value_buffer[:, :, start:end] = value_states
        self.keys, self.values = self._key_buffer[:, :, :end], self._value_buffer[:, :, :end]
        return self.keys, self.values


class BatchKV:
    """Left-padded per-layer KV of shape [rows, heads, width, dim] plus each row's padding."""

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
        return 0 if self.cache is None else self.cache.layers[0].keys.shape[2]

    def add(self, new_rows: Sequence[Sequence[LayerKV]]) -> None:
        """Append sequences, each given as per-layer KV of shape [1, heads, length, dim]."""
        if not new_rows:
            return
        lengths = [row[0][0].shape[2] for row in new_rows]
        old_width, old_rows = self.width, self.rows
        width = max(old_width, *lengths)
        layers = []
        for layer in range(len(new_rows[0])):
            buffers = []
            for side in (0, 1):
                sample = new_rows[0][layer][side]
                shape = (old_rows + len(new_rows), sample.shape[1], width + _spare(width), sample.shape[3])
                # Zeros, not empty: padding is masked, but masked garbage could be NaN and NaN * 0 is NaN.
                buffer = sample.new_zeros(shape)
                if old_rows:
                    old = self.cache.layers[layer]
                    buffer[:old_rows, :, width - old_width : width] = old.keys if side == 0 else old.values
                for i, (row, length) in enumerate(zip(new_rows, lengths, strict=True)):
                    buffer[old_rows + i, :, width - length : width] = row[layer][side][0]
                buffers.append(buffer)
            layers.append(GrowableLayer(buffers[0], buffers[1], width))
        self.pads = [pad + width - old_width for pad in self.pads] + [width - length for length in lengths]
        self.cache = _cache_of(layers)

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
        width = self.width - trim
        layers = []
        for old in self.cache.layers:
            keys = _with_capacity(old.keys.index_select(0, index)[:, :, trim:], width + _spare(width))
            values = _with_capacity(old.values.index_select(0, index)[:, :, trim:], width + _spare(width))
            layers.append(GrowableLayer(keys, values, width))
        self.cache = _cache_of(layers)
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


def _cache_of(layers: list[DynamicLayer]) -> DynamicCache:
    cache = DynamicCache()
    cache.layers.extend(layers)
    return cache


def _spare(width: int) -> int:
    """Room to grow before the next copy: at least 64 columns, or a quarter more for long rows."""
    return max(64, width // 4)


def _with_capacity(tensor: torch.Tensor, columns: int) -> torch.Tensor:
    """A zero buffer of `columns` columns starting with a copy of `tensor`."""
    shape = (tensor.shape[0], tensor.shape[1], columns, tensor.shape[3])
    buffer = tensor.new_zeros(shape)
    buffer[:, :, : tensor.shape[2]] = tensor
    return buffer
