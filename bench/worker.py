"""Benchmark the worker's continuous-batching engine against one-request-at-a-time `model.generate`.

Both serve the same model in the same process and run, behind the same `Engine` interface, so the
same closed-loop clients (`measured_throughput`) drive them. Prints completion tokens/s, time to
first token and time to completion (p50/p99) at concurrency 1, 8 and 32, and the speed-up at 32.
With --roofline it also prints batch-1 decode tokens/s as a fraction of the memory-bandwidth bound
(weight bytes per decode step / --hbm-gbps).

    .venv/bin/python bench/worker.py                # random model: hidden 256, 4 layers
    .venv/bin/python bench/worker.py --model DIR    # any local Hugging Face causal LM
    .venv/bin/python bench/worker.py --shape 1b --roofline   # GPU: random ~0.84B Llama in bf16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path

import torch
from transformers.generation.streamers import BaseStreamer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.worker.batched import BatchedEngine  # noqa: E402
from gateway.worker.engine import EngineStats, Event, Finished, GenerationRequest, TextDelta, Usage  # noqa: E402
from gateway.worker.loader import LoadedModel, load_model, pick_device, pick_dtype  # noqa: E402
from gateway.worker.prompt import encode_prompt, render_prompt  # noqa: E402
from gateway.worker.throughput import (  # noqa: E402
    ThroughputResult,
    decode_weight_bytes,
    measured_throughput,
    price_per_million_tokens,
    roofline_tokens_per_s,
)
from gateway.worker.tiny import build_tiny_model  # noqa: E402

# Random Llama shapes (config only; weights random). "1b" is TinyLlama-1.1B with 16 of its 22 layers:
# 0.84B parameters, a 32k-row lm_head, grouped-query attention (4 KV heads) - a typical small model.
SHAPES: dict[str, dict[str, int | None]] = {
    "small": dict(hidden=256, layers=4, heads=4, kv_heads=2, intermediate=None, model_vocab=None, context=1024),
    "1b": dict(hidden=2048, layers=16, heads=32, kv_heads=4, intermediate=5632, model_vocab=32000, context=2048),
}


class _TokenStreamer(BaseStreamer):
    """Forwards each token `generate` produces to the waiting request's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, events: asyncio.Queue) -> None:
        self.loop, self.events, self.prompt_seen = loop, events, False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate first hands over the prompt itself
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.loop.call_soon_threadsafe(self.events.put_nowait, TextDelta("", (token,)))

    def end(self) -> None:
        pass


class SequentialEngine:
    """The baseline: a thread that runs plain `model.generate` for one request at a time, in arrival order."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.model_name = loaded.name
        self.context_length = loaded.context_length
        self._loaded = loaded
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    async def submit(self, request: GenerationRequest) -> AsyncIterator[Event]:
        tokenizer = self._loaded.tokenizer
        prompt = encode_prompt(tokenizer, render_prompt(tokenizer, request.messages))
        events: asyncio.Queue = asyncio.Queue()
        self._jobs.put((prompt, request.sampling.max_tokens, asyncio.get_running_loop(), events))
        return self._drain(events)

    def cancel(self, request_id: str) -> None:
        pass

    def stats(self) -> EngineStats:
        return EngineStats(running=0, waiting=self._jobs.qsize(), max_batch=1, max_queue=0)

    async def _drain(self, events: asyncio.Queue) -> AsyncIterator[Event]:
        while True:
            event = await events.get()
            yield event
            if isinstance(event, Finished):
                return

    def _run(self) -> None:
        model = self._loaded.model
        while (job := self._jobs.get()) is not None:
            prompt, max_tokens, loop, events = job
            ids = torch.tensor([prompt], device=self._loaded.device)
            with torch.inference_mode():
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=False,
                    max_new_tokens=max_tokens,
                    min_new_tokens=max_tokens,  # the batched side ignores EOS too: same work on both sides
                    pad_token_id=self._loaded.tokenizer.pad_token_id,
                    streamer=_TokenStreamer(loop, events),
                )
            usage = Usage(prompt_tokens=len(prompt), completion_tokens=out.shape[1] - len(prompt))
            loop.call_soon_threadsafe(events.put_nowait, Finished("length", usage))


def table(results: list[ThroughputResult]) -> str:
    """A fixed-width table of the results."""
    header = f"{'engine':<11}{'conc':>5}{'reqs':>6}{'tokens':>8}{'wall s':>8}{'tok/s':>9}"
    header += f"{'ttft p50':>10}{'ttft p99':>10}{'e2e p50':>9}{'e2e p99':>9}"
    rows = [header, "-" * len(header)]
    for r in results:
        rows.append(
            f"{r.label:<11}{r.concurrency:>5}{r.requests:>6}{r.completion_tokens:>8}{r.wall_s:>8.2f}"
            f"{r.tokens_per_s:>9.1f}{r.ttft_p50_s:>10.3f}{r.ttft_p99_s:>10.3f}"
            f"{r.latency_p50_s:>9.3f}{r.latency_p99_s:>9.3f}"
        )
    return "\n".join(rows)


def roofline(results: list[ThroughputResult], weight_bytes: int, dtype: str, hbm_gbps: float) -> dict:
    """Batch-1 decode speed of each engine against the bound set by reading every weight once per step."""
    bound = roofline_tokens_per_s(weight_bytes, hbm_gbps)
    print("\nroofline, batch 1: tokens/s <= HBM bandwidth / weight bytes read per decode step")
    gb = weight_bytes / 1e9
    print(f"  weight bytes = {weight_bytes:,} = {gb:.4g} GB ({dtype}; input embedding: one row; KV cache not counted)")
    print(f"  {hbm_gbps:g} GB/s / {gb:.4g} GB = {bound:,.0f} tok/s ({1e3 / bound:.4g} ms per step)")
    fractions = {}
    for r in results:
        if r.concurrency == 1:
            # Decode rate per request (tokens after the first / time after the first): prefill excluded.
            rate = r.decode_tokens_per_s_p50
            fractions[r.label] = rate / bound
            print(f"  {r.label:<10} decode {rate:8.1f} tok/s = {fractions[r.label]:.2%} of roofline")
    return {"weight_bytes": weight_bytes, "hbm_gbps": hbm_gbps, "roofline_tokens_per_s": bound, "fraction": fractions}


async def run(args: argparse.Namespace, model_dir: Path) -> tuple[list[ThroughputResult], int, str]:
    loaded = load_model(model_dir, device=args.device, dtype=args.dtype)
    dtype = str(loaded.model.dtype).removeprefix("torch.")
    gpu = f" ({torch.cuda.get_device_name(loaded.device)})" if loaded.device.type == "cuda" else ""
    print(
        f"model {model_dir} · {sum(p.numel() for p in loaded.model.parameters()) / 1e6:.1f}M params · {dtype} · "
        f"{loaded.device}{gpu} · torch threads {torch.get_num_threads()} · cpus {os.cpu_count()}"
    )
    batched = BatchedEngine(loaded, max_batch=max(args.concurrency), max_queue=10_000)
    sequential = SequentialEngine(loaded)
    results = []
    # Warm both paths once so the first measured run does not pay for lazy initialisation.
    for engine in (batched, sequential):
        await measured_throughput(engine, concurrency=2, requests=2, max_tokens=4, label="warmup")
    for concurrency in args.concurrency:
        requests = max(args.min_requests, concurrency * args.rounds)
        for label, engine in (("batched", batched), ("sequential", sequential)):
            result = await measured_throughput(
                engine, concurrency=concurrency, requests=requests, max_tokens=args.max_tokens, label=label
            )
            results.append(result)
            print(f"  {label:<10} concurrency {concurrency:>2}: {result.tokens_per_s:8.1f} tok/s", flush=True)
    await batched.stop()
    await sequential.stop()
    return results, decode_weight_bytes(loaded.model), dtype


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="local model directory (default: a random Llama of --shape)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-tokens", type=int, default=64, help="completion tokens per request")
    parser.add_argument("--rounds", type=int, default=2, help="requests per client at each concurrency")
    parser.add_argument("--min-requests", type=int, default=8)
    # One thread by default: both sides get the same, and on a shared CPU OpenMP threads waiting on
    # preempted siblings make small-model steps erratic (and the comparison noise).
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None, help="e.g. bfloat16 (default: bfloat16 on CUDA, float32 on CPU)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small", help="random model size (no --model)")
    parser.add_argument("--roofline", action="store_true", help="report batch-1 decode against the HBM roofline")
    parser.add_argument("--hbm-gbps", type=float, default=4800.0,
                        help="memory bandwidth for the roofline, GB/s (default: H200, 4800; H100 SXM: 3350)")
    parser.add_argument("--gpu-hour-usd", type=float, default=2.0, help="hourly hardware cost for the price line")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.roofline and 1 not in args.concurrency:
        args.concurrency = [1, *args.concurrency]
    with tempfile.TemporaryDirectory() as scratch:
        # Saved in the dtype it will run in, so a 1B model is 1.7 GB on disk, not 3.4.
        dtype = str(pick_dtype(pick_device(args.device), args.dtype)).removeprefix("torch.")
        model_dir = args.model or build_tiny_model(
            Path(scratch) / "bench-model", vocab=2048, dtype=dtype, **SHAPES[args.shape]
        )
        results, weight_bytes, dtype = asyncio.run(run(args, model_dir))
    print()
    print(table(results))
    top = max(args.concurrency)
    best = {r.label: r for r in results if r.concurrency == top}
    ratio = best["batched"].tokens_per_s / best["sequential"].tokens_per_s
    print(f"\nbatched / sequential throughput at concurrency {top}: {ratio:.1f}x")
    price = price_per_million_tokens(args.gpu_hour_usd, best["batched"].tokens_per_s)
    rate = best["batched"].tokens_per_s
    print(f"at ${args.gpu_hour_usd:.2f}/hour, {rate:.0f} tok/s is ${price:.2f} per 1M output tokens")
    bound = roofline(results, weight_bytes, dtype, args.hbm_gbps) if args.roofline else None
    if args.json:
        payload = {"results": [asdict(r) | {"tokens_per_s": r.tokens_per_s} for r in results], "ratio": ratio}
        payload["roofline"] = bound
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
