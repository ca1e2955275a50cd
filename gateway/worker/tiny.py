"""A small random Llama with a locally trained byte-level BPE tokenizer, for tests and benchmarks.

Nothing is downloaded: the tokenizer is trained on a few sentences and the weights are random, so
outputs are gibberish, but every code path (chat template, KV cache, sampling) is the real one.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "You are a helpful assistant. Answer briefly and precisely.",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, how are you today? I am fine, thank you.",
    "Tell me a story about a dragon, a knight and a castle by the sea.",
    "Summarise the quarterly report: revenue grew while costs fell.",
    "def add(a, b):\n    return a + b\n",
    "Routing sends cheap questions to small models and hard ones to frontier models.",
]


def build_tiny_model(
    target: str | Path,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    vocab: int = 512,
    context: int = 256,
    seed: int = 0,
    intermediate: int | None = None,
    model_vocab: int | None = None,
    dtype: str | None = None,
) -> Path:
    """Write a random LlamaForCausalLM and its tokenizer (with a chat template) to `target`.

    `model_vocab` widens the embeddings past the trained tokenizer (ids beyond it decode to nothing),
    so a benchmark model reads as many lm_head bytes per step as a real one; `dtype` is how it is saved.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    target = Path(target)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|im_end|>", pad_token="<|pad|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.model_max_length = context
    config = LlamaConfig(
        vocab_size=max(len(tokenizer), model_vocab or 0),
        hidden_size=hidden,
        intermediate_size=intermediate or hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=context,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        # Wider than the usual 0.02 so logits are well separated and greedy choices are not near-ties.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if dtype:
        model.to(getattr(torch, dtype))
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
