"""Picking the next token for every running sequence from one batched logits tensor."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gateway.worker.engine import SamplingParams


def make_generator(seed: int | None, device: torch.device) -> torch.Generator:
    """A per-request RNG, so a seeded request samples the same tokens whatever it is batched with."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero out the tail outside the smallest set of tokens whose probability reaches `top_p` (1-D probs)."""
    if top_p >= 1.0:
        return probs
    sorted_probs, order = torch.sort(probs, descending=True)
    # Keep a token when the mass before it is still short of top_p; the most likely token always survives.
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    keep = before < top_p
    keep[0] = True
    sorted_probs = torch.where(keep, sorted_probs, torch.zeros_like(sorted_probs))
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


def sample(
    logits: torch.Tensor,
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator],
) -> list[int]:
    """One token per row of `logits` (shape [batch, vocab]), honouring each row's own sampling params."""
    chosen = torch.argmax(logits, dim=-1)
    sampled_rows = [i for i, p in enumerate(params) if not p.greedy]
    if sampled_rows:
        scaled = logits[sampled_rows].float()
        temperatures = torch.tensor([params[i].temperature for i in sampled_rows], device=logits.device)
        probs = torch.softmax(scaled / temperatures[:, None], dim=-1)
        for row, index in enumerate(sampled_rows):
            row_probs = top_p_filter(probs[row], params[index].top_p)
            chosen[index] = torch.multinomial(row_probs, 1, generator=generators[index])[0]
    return chosen.tolist()
