"""Loading a Hugging Face causal LM and its tokenizer from a local directory (never from the network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache
from transformers.cache_utils import DynamicLayer


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run, with what the engine needs to know about it."""

    model: Any
    tokenizer: Any
    name: str
    device: torch.device
    context_length: int
    eos_token_ids: frozenset[int]


def pick_device(requested: str | None = None) -> torch.device:
    """CUDA when present, otherwise CPU (or whatever the operator asked for)."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device, requested: str | None = None) -> torch.dtype:
    """bfloat16 on GPUs that support it; float32 on CPU, where half precision is slower, not faster."""
    if requested:
        return getattr(torch, requested)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_model(
    model_dir: str | Path,
    *,
    device: str | None = None,
    dtype: str | None = None,
    name: str | None = None,
) -> LoadedModel:
    """Load weights and tokenizer from `model_dir`; fail clearly if the model cannot be served here."""
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a Hugging Face model directory (no config.json)")
    target = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"the tokenizer in {path} has no chat_template; the worker needs one to render messages")
    model = AutoModelForCausalLM.from_pretrained(
        path, local_files_only=True, dtype=pick_dtype(target, dtype), attn_implementation="sdpa"
    )
    model.to(target).eval()
    _check_full_attention(model)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name or path.resolve().name,
        device=target,
        context_length=_context_length(model.config, tokenizer),
        eos_token_ids=_eos_ids(model, tokenizer),
    )


def _check_full_attention(model: Any) -> None:
    """The batched engine left-pads a plain KV cache; sliding-window or recurrent layers need vLLM instead."""
    layers = DynamicCache(config=model.config).layers
    if layers and any(type(layer) is not DynamicLayer for layer in layers):
        kinds = sorted({type(layer).__name__ for layer in layers})
        raise ValueError(f"the built-in engine supports full-attention models only (found {kinds}); use vLLM")


def _context_length(config: Any, tokenizer: Any) -> int:
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    limit = getattr(text, "max_position_embeddings", None) or 2048
    declared = getattr(tokenizer, "model_max_length", None)
    # Tokenizers without a limit report a huge sentinel (int(1e30)); only a real, smaller limit counts.
    if isinstance(declared, int) and 0 < declared < limit:
        return declared
    return int(limit)


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(v for v in value if isinstance(v, int))
    return frozenset(ids)
