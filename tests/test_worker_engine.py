"""The built-in batched engine against plain `model.generate`, plus its caches, limits and text handling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from gateway.worker.batched import BatchedEngine
from gateway.worker.engine import Finished, GenerationRequest, SamplingParams, TextDelta
from gateway.worker.errors import ContextLengthExceeded, Overloaded
from gateway.worker.prefix_cache import PrefixCache
from gateway.worker.prompt import encode_prompt, render_prompt
from gateway.worker.sampling import top_p_filter
from gateway.worker.text import IncrementalDetokenizer, StopMatcher
from gateway.worker.throughput import (
    decode_weight_bytes,
    measured_throughput,
    price_per_million_tokens,
    roofline_tokens_per_s,
)
from tests.worker_helpers import SYSTEM, generate, make_engine, stop_engine, tiny_model_dir, user

__all__ = ["tiny_model_dir"]

CONVERSATIONS = [
    user("Hi"),
    user("Tell me a story about a dragon", system=SYSTEM),
    user("The quick brown fox jumps over the lazy dog. " * 4),
    user("Summarise the quarterly report", system=SYSTEM),
    user("def add(a, b):"),
    user("Hello, how are you today? I am fine, thank you. " * 2, system="Be terse."),
]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Iterator[BatchedEngine]:
    engine = make_engine(tiny_model_dir, max_batch=8)
    yield engine
    stop_engine(engine)


def reference(engine: BatchedEngine, messages: tuple[dict[str, str], ...], max_new_tokens: int) -> list[int]:
    """Plain one-request-at-a-time greedy `generate` on the same model."""
    loaded = engine.loaded
    prompt = encode_prompt(loaded.tokenizer, render_prompt(loaded.tokenizer, messages))
    ids = torch.tensor([prompt])
    out = loaded.model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=sorted(loaded.eos_token_ids),
        pad_token_id=loaded.tokenizer.pad_token_id,
    )
    return out[0, len(prompt) :].tolist()


async def test_batched_greedy_matches_sequential_generate(engine: BatchedEngine) -> None:
    async def late(i: int, messages: tuple[dict[str, str], ...]) -> tuple:
        # Three arrive together (one padded prefill), three join later while those are mid-decode.
        await asyncio.sleep(0.03 * (i // 3))
        return await generate(engine, f"eq-{i}", messages, temperature=0.0, max_tokens=40)

    results = await asyncio.gather(*(late(i, m) for i, m in enumerate(CONVERSATIONS)))
    assert engine.stats().peak_running >= 3, "requests were not actually batched together"
    outputs = [ids for ids, _, _ in results]
    assert len({tuple(ids) for ids in outputs}) == len(outputs), "degenerate model: outputs should differ"
    for messages, (ids, _, finished) in zip(CONVERSATIONS, results, strict=True):
        assert ids == reference(engine, messages, 40)
        assert finished.usage.completion_tokens == len(ids)


async def test_a_new_request_joins_without_waiting(engine: BatchedEngine) -> None:
    arrivals: dict[str, list[float]] = {"a": [], "b": []}
    a_started = asyncio.Event()

    async def run(name: str) -> None:
        params = SamplingParams(max_tokens=120, ignore_eos=True)
        async for event in await engine.submit(GenerationRequest(f"join-{name}", user(f"story {name}"), params)):
            if isinstance(event, TextDelta):
                arrivals[name].append(time.perf_counter())
                a_started.set()

    async def later() -> None:
        await a_started.wait()
        await run("b")

    await asyncio.gather(run("a"), later())
    a, b = arrivals["a"], arrivals["b"]
    assert len(a) == len(b) == 120
    assert a[0] < b[0] < a[-1] < b[-1]
    # While both ran, a kept producing: b's arrival did not pause a, nor did b wait for a to end.
    assert sum(b[0] < t for t in a) > 30


async def test_prefix_cache_reports_cached_tokens(engine: BatchedEngine) -> None:
    # Unlike SYSTEM (used by other tests on this engine), so the first request finds nothing cached.
    system = "Policy auditor: always cite the policy file and the rule you used, then the verdict."
    _, _, first = await generate(engine, "p-1", user("What is routing?", system=system), max_tokens=4)
    _, _, second = await generate(engine, "p-2", user("And what is a frontier model?", system=system), max_tokens=4)
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens >= 16 and second.usage.cached_tokens % 16 == 0
    assert second.usage.cached_tokens < second.usage.prompt_tokens


async def test_next_turn_reuses_the_previous_answer(engine: BatchedEngine) -> None:
    turn = user("Tell me about castles by the sea.", system="Be vivid.")
    _, answer, first = await generate(engine, "t-1", turn, temperature=0.0, max_tokens=24)
    follow_up = (*turn, {"role": "assistant", "content": answer}, {"role": "user", "content": "More!"})
    _, _, second = await generate(engine, "t-2", follow_up, temperature=0.0, max_tokens=4)
    # The whole first turn (prompt and most of the answer) is reused, not just a shared template header.
    assert second.usage.cached_tokens >= first.usage.prompt_tokens - 16


async def test_prefix_reuse_does_not_change_greedy_output(tiny_model_dir: Path) -> None:
    fresh = make_engine(tiny_model_dir, prefix_cache_tokens=0)
    try:
        messages = user("Summarise the quarterly report", system=SYSTEM)
        warm = make_engine(tiny_model_dir)
        try:
            await generate(warm, "w-0", user("Other question", system=SYSTEM), max_tokens=2)
            cached_ids, _, cached = await generate(warm, "w-1", messages, temperature=0.0, max_tokens=30)
        finally:
            await warm.stop()
        plain_ids, _, plain = await generate(fresh, "f-1", messages, temperature=0.0, max_tokens=30)
    finally:
        await fresh.stop()
    assert cached.usage.cached_tokens > 0 and plain.usage.cached_tokens == 0
    assert cached_ids == plain_ids


async def test_cancel_frees_the_slot(tiny_model_dir: Path) -> None:
    engine = make_engine(tiny_model_dir, max_batch=1)
    try:
        events = await engine.submit(
            GenerationRequest("long", user("Go on forever"), SamplingParams(max_tokens=900, ignore_eos=True))
        )
        seen = 0
        async for event in events:
            if isinstance(event, TextDelta):
                seen += 1
                if seen == 3:
                    engine.cancel("long")
            else:
                finished = event
        assert finished.reason == "cancelled"
        assert finished.usage.completion_tokens < 50
        assert engine.stats().running == 0
        # The only slot is free again: the next request runs to completion.
        _, _, after = await asyncio.wait_for(generate(engine, "next", user("Hi"), max_tokens=5), timeout=5)
        assert after.reason in ("length", "stop")
    finally:
        await engine.stop()


async def test_queue_bound_rejects_with_retry_after(tiny_model_dir: Path) -> None:
    engine = make_engine(tiny_model_dir, max_batch=1, max_queue=1)
    try:
        long = SamplingParams(max_tokens=900, ignore_eos=True)
        running = await engine.submit(GenerationRequest("a", user("first"), long))
        await anext(running)  # "a" holds the only slot
        # ignore_eos: the tiny random model samples its end token now and then, which would end "b" early.
        queued = await engine.submit(GenerationRequest("b", user("second"), SamplingParams(max_tokens=3, ignore_eos=True)))
        with pytest.raises(Overloaded) as rejected:
            await engine.submit(GenerationRequest("c", user("third"), SamplingParams(max_tokens=3)))
        assert rejected.value.status_code == 503 and rejected.value.headers["Retry-After"].isdigit()
        engine.cancel("a")
        events = [event async for event in queued]
        assert events[-1].reason == "length" and events[-1].usage.completion_tokens == 3
    finally:
        await engine.stop()


async def test_context_limits(engine: BatchedEngine) -> None:
    with pytest.raises(ContextLengthExceeded) as too_long:
        await engine.submit(GenerationRequest("big", user("zebra quartz " * 600), SamplingParams()))
    assert too_long.value.param == "messages" and "1024" in too_long.value.message
    with pytest.raises(ContextLengthExceeded) as too_many:
        await engine.submit(GenerationRequest("many", user("Hi"), SamplingParams(max_tokens=5000)))
    assert too_many.value.param == "max_tokens"
    # Without max_tokens a request may run to the end of the context, and stops there.
    _, _, finished = await generate(engine, "fill", user("x " * 400), ignore_eos=True, temperature=0.0)
    assert finished.reason == "length" and finished.usage.total_tokens == engine.context_length


async def test_stop_strings_cut_the_text(engine: BatchedEngine) -> None:
    messages = user("Tell me a story about a dragon")
    _, full, _ = await generate(engine, "s-1", messages, temperature=0.0, max_tokens=40, ignore_eos=True)
    start = next(
        i for i in range(4, len(full) - 3) if "\ufffd" not in full[i : i + 3] and full.find(full[i : i + 3]) == i
    )
    stop = full[start : start + 3]
    _, cut, finished = await generate(
        engine, "s-2", messages, temperature=0.0, max_tokens=40, ignore_eos=True, stop=("never-there", stop)
    )
    assert finished.reason == "stop"
    assert cut == full[:start]


async def test_seed_makes_sampling_reproducible(engine: BatchedEngine) -> None:
    messages = user("Tell me a story")
    runs = await asyncio.gather(
        *(
            generate(engine, f"seed-{i}", messages, temperature=1.0, seed=s, max_tokens=20, ignore_eos=True)
            for i, s in enumerate([7, 7, 8])
        )
    )
    assert runs[0][0] == runs[1][0]
    assert runs[0][0] != runs[2][0]


def test_top_p_keeps_the_smallest_nucleus() -> None:
    probs = torch.tensor([0.1, 0.5, 0.3, 0.1])
    assert top_p_filter(probs, 0.7).tolist() == pytest.approx([0.0, 0.5, 0.3, 0.0])
    assert top_p_filter(probs, 0.0).tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    assert top_p_filter(probs, 1.0) is probs


def test_a_vanishing_temperature_decodes_greedily_instead_of_dividing_by_zero() -> None:
    from gateway.worker.sampling import sample

    logits = torch.tensor([[0.5, 3.0, 1.0], [2.0, 0.1, 0.3]])
    generators = [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)]
    for temperature in (1e-300, 1e-45, 1e-6):
        params = [SamplingParams(temperature=temperature), SamplingParams(temperature=1.0, seed=2)]
        chosen = sample(logits, params, generators)
        assert chosen[0] == 1 and 0 <= chosen[1] < 3  # argmax for the first; the other row still samples


def test_stop_matcher_holds_back_partial_stops() -> None:
    matcher = StopMatcher(("END",))
    assert matcher.feed("hello E") == "hello "
    assert matcher.feed("N") == ""
    assert matcher.feed("D and more") == ""
    assert matcher.stopped
    open_ended = StopMatcher(("END",))
    assert open_ended.feed("the EN") == "the "
    assert open_ended.flush() == "EN"


def test_detokenizer_streams_multibyte_text(engine: BatchedEngine) -> None:
    tokenizer = engine.loaded.tokenizer
    text = "naïve café — 数据 😀 ok"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    detok = IncrementalDetokenizer(lambda chunk: tokenizer.decode(chunk, skip_special_tokens=True))
    pieces = [detok.push(token) for token in ids] + [detok.flush()]
    assert "".join(pieces) == text
    assert all("\ufffd" not in piece for piece in pieces)


def test_prefix_cache_longest_match_and_eviction() -> None:
    def kv(n: int) -> tuple:
        return ((torch.zeros(1, 1, n, 2), torch.zeros(1, 1, n, 2)),)

    cache = PrefixCache(max_tokens=100, block=4)
    cache.insert(list(range(40)), kv(40))
    cache.insert([*range(20), *range(100, 130)], kv(50))
    hit = cache.lookup([*range(30), 999])
    assert hit is not None and hit.length == 28 and hit.kv[0][0].shape[2] == 28
    assert cache.lookup([1, 2, 3, 4, 5, 6]) is None
    cache.insert(list(range(500, 560)), kv(60))  # over budget: the least recently used entry goes
    assert cache.tokens <= 100
    # The 50-token entry went (28 tokens would match it); only the shared 20 with the 40-token one remain.
    assert cache.lookup([*range(20), *range(100, 110)]).length == 20
    assert cache.lookup([*range(30), 999]).length == 28


async def test_measured_throughput_counts_every_token(engine: BatchedEngine) -> None:
    result = await measured_throughput(engine, concurrency=4, requests=6, max_tokens=8, label="t")
    assert result.requests == 6 and result.completion_tokens == 48
    assert result.tokens_per_s == pytest.approx(48 / result.wall_s)
    assert 0 < result.ttft_p50_s <= result.latency_p50_s <= result.latency_p99_s
    # 7 tokens after the first, in at most the time after the first token
    assert result.decode_tokens_per_s_p50 >= 7 / result.latency_p99_s


def test_decode_weight_bytes_and_roofline(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, local_files_only=True, dtype=torch.bfloat16)
    embedding = model.get_input_embeddings().weight
    every = sum(p.numel() for p in model.parameters()) * 2
    # untied: the lookup reads one row of the input embedding; the lm_head is read whole
    assert decode_weight_bytes(model) == every - (embedding.shape[0] - 1) * embedding.shape[1] * 2
    model.lm_head.weight = embedding  # tied: the one matrix is the head, read whole
    assert decode_weight_bytes(model) == sum(p.numel() for p in model.parameters()) * 2
    # 1.5 GB of weights on 4800 GB/s: 3,200 steps a second at most
    assert roofline_tokens_per_s(1_500_000_000, 4800.0) == pytest.approx(3200.0)
    with pytest.raises(ValueError):
        roofline_tokens_per_s(0, 4800.0)


def test_price_per_million_tokens() -> None:
    # $3.60 an hour at 1,000 tokens/s: 3.6M tokens an hour, so $1 per million.
    assert price_per_million_tokens(3.6, 1000.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        price_per_million_tokens(3.6, 0.0)


@pytest.mark.parametrize("where", ["forward", "batch-kv"])
@pytest.mark.parametrize("with_another", [True, False], ids=["admitted-with-another", "admitted-alone"])
async def test_a_request_whose_prefill_fails_fails_alone(tiny_model_dir: Path, with_another: bool,
                                                         where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(tiny_model_dir, max_batch=8)
    poison_width = 200
    # One request's prompt runs out of memory (as a CUDA OOM on it would): in its forward pass, or when the
    # running batch's KV grows to take it.
    if where == "forward":
        model = engine._model

        def failing_on_the_long_prompt(*args: object, **kwargs: torch.Tensor) -> object:
            if kwargs["input_ids"].shape[1] >= poison_width:
                raise RuntimeError("out of memory")
            return model(*args, **kwargs)

        engine._model = failing_on_the_long_prompt
    else:
        add = type(engine._kv).add

        def failing_on_a_long_row(kv: object, new_rows: list) -> None:
            if any(row[0][0].shape[2] >= poison_width for row in new_rows):
                raise RuntimeError("out of memory")
            add(kv, new_rows)

        monkeypatch.setattr(type(engine._kv), "add", failing_on_a_long_row)
    try:
        first_token = asyncio.Event()

        async def running() -> tuple[int, Finished]:
            tokens = 0
            params = SamplingParams(max_tokens=80, ignore_eos=True)
            async for event in await engine.submit(GenerationRequest("iso-a", user("a story"), params)):
                if isinstance(event, TextDelta):
                    tokens += len(event.token_ids)
                    first_token.set()
                else:
                    return tokens, event
            raise AssertionError("no Finished event")

        async def joining() -> list[tuple]:
            await first_token.wait()  # A is decoding: the long prompt (and a short one) are admitted together
            return await asyncio.gather(
                generate(engine, "iso-poison", user("word " * poison_width), max_tokens=4),
                *([generate(engine, "iso-c", user("a short question"), max_tokens=4, ignore_eos=True)]
                  if with_another else []))

        (a_tokens, a_end), (poison, *others) = await asyncio.gather(running(), joining())
    finally:
        await engine.stop()
    assert (a_tokens, a_end.reason, a_end.error) == (80, "length", None)  # the running batch went on
    assert poison[2].reason == "error" and "out of memory" in poison[2].error
    assert [(len(ids), end.reason, end.error) for ids, _, end in others] == [(4, "length", None)] * with_another
