"""The production engine: vLLM's AsyncLLMEngine behind the same `Engine` protocol (used only when installed).

vLLM brings paged attention, automatic prefix caching and CUDA graphs; this adapter only renders the
chat template, enforces the same context and queue limits as the built-in engine, and translates
vLLM's cumulative outputs into text deltas and OpenAI usage (cached tokens included).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.worker.engine import EngineStats, Event, Finished, GenerationRequest, TextDelta, Usage
from gateway.worker.errors import ContextLengthExceeded, Overloaded
from gateway.worker.prompt import encode_prompt, render_prompt


def available() -> bool:
    """Whether vLLM is importable and there is a GPU for it."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


class VllmEngine:
    """Adapter from vLLM's async engine to the worker's `Engine` protocol."""

    def __init__(self, engine: Any, tokenizer: Any, name: str, context_length: int, max_batch: int, max_queue: int):
        self.model_name = name
        self.context_length = context_length
        self.max_batch = max_batch
        self.max_queue = max_queue
        self._engine = engine
        self._tokenizer = tokenizer
        self._in_flight: set[str] = set()
        self._aborts: set[asyncio.Task] = set()  # the loop holds tasks weakly

    @classmethod
    def from_dir(cls, model_dir: str | Path, *, max_batch: int = 32, max_queue: int = 256) -> VllmEngine:
        """Start vLLM on the model in `model_dir` with prefix caching on."""
        from transformers import AutoTokenizer
        from vllm import AsyncLLMEngine
        from vllm.engine.arg_utils import AsyncEngineArgs

        path = Path(model_dir)
        args = AsyncEngineArgs(model=str(path), max_num_seqs=max_batch, enable_prefix_caching=True)
        engine = AsyncLLMEngine.from_engine_args(args)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        config = getattr(engine, "model_config", None) or getattr(getattr(engine, "engine", None), "model_config", None)
        context = int(getattr(config, "max_model_len", 0) or getattr(tokenizer, "model_max_length", 4096))
        return cls(engine, tokenizer, path.resolve().name, context, max_batch, max_queue)

    async def start(self) -> None:
        """vLLM starts its own loop on first use."""

    async def stop(self) -> None:
        """Abort whatever is still running and shut vLLM down."""
        for request_id in list(self._in_flight):
            await self._engine.abort(request_id)
        shutdown = getattr(self._engine, "shutdown", None)
        if shutdown is not None:
            shutdown()

    async def submit(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Check limits, then hand the prompt's token ids to vLLM."""
        from vllm import SamplingParams as VllmSamplingParams

        prompt = encode_prompt(self._tokenizer, render_prompt(self._tokenizer, request.messages))
        room = self.context_length - len(prompt)
        params = request.sampling
        if room <= 0 or (params.max_tokens is not None and params.max_tokens > room):
            raise ContextLengthExceeded(
                f"This model's maximum context length is {self.context_length} tokens; the messages use "
                f"{len(prompt)} and {params.max_tokens or 0} more were requested for the completion.",
                param="messages" if room <= 0 else "max_tokens",
            )
        if len(self._in_flight) >= self.max_batch + self.max_queue:
            raise Overloaded("the worker is at capacity; retry shortly", retry_after_s=1)
        sampling = VllmSamplingParams(
            temperature=params.temperature,
            top_p=params.top_p if params.top_p > 0 else 1e-6,
            max_tokens=params.max_tokens or room,
            stop=list(params.stop) or None,
            seed=params.seed,
            ignore_eos=params.ignore_eos,
        )
        self._in_flight.add(request.request_id)
        return self._events(request.request_id, prompt, sampling)

    def cancel(self, request_id: str) -> None:
        """Forget the request and ask vLLM to abort it (it frees the KV blocks at its next step)."""
        if request_id in self._in_flight:
            # Dropped here, not only in `_events`: a stream never read never runs its `finally`.
            self._in_flight.discard(request_id)
            task = asyncio.get_running_loop().create_task(self._engine.abort(request_id))
            self._aborts.add(task)
            task.add_done_callback(self._aborts.discard)

    def stats(self) -> EngineStats:
        """What this adapter can see; vLLM's own /metrics has the detail."""
        return EngineStats(
            running=min(len(self._in_flight), self.max_batch),
            waiting=max(0, len(self._in_flight) - self.max_batch),
            max_batch=self.max_batch,
            max_queue=self.max_queue,
        )

    async def _events(self, request_id: str, prompt: list[int], sampling: Any) -> AsyncIterator[Event]:
        prompt_tokens = len(prompt)
        text, tokens, cached, reason = "", 0, 0, None
        if request_id not in self._in_flight:  # cancelled before its stream was read: vLLM never sees it
            yield Finished("cancelled", Usage(prompt_tokens, 0))
            return
        try:
            async for output in self._engine.generate({"prompt_token_ids": prompt}, sampling, request_id):
                completion = output.outputs[0]
                cached = getattr(output, "num_cached_tokens", None) or 0
                # Outputs are cumulative: emit only what is new since the previous one.
                new_text, new_ids = completion.text[len(text) :], tuple(completion.token_ids[tokens:])
                text, tokens = completion.text, len(completion.token_ids)
                if new_text or new_ids:
                    yield TextDelta(new_text, new_ids)
                reason = completion.finish_reason
            usage = Usage(prompt_tokens, tokens, cached)
            yield Finished("cancelled" if reason == "abort" else ("length" if reason == "length" else "stop"), usage)
        except Exception as exc:  # noqa: BLE001 - surfaced to the client as an OpenAI error
            yield Finished("error", Usage(prompt_tokens, tokens, cached), error=str(exc))
        finally:
            self._in_flight.discard(request_id)
