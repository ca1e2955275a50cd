"""The built-in engine: continuous batching of a Hugging Face causal LM in one dedicated thread.

Every loop iteration (a "step") the thread applies cancellations, admits waiting requests by
prefilling them (reusing cached prefixes), runs one decode step for every running sequence at
once, samples, hands tokens to each request's asyncio queue and retires finished sequences. So
requests join and leave the batch at every step and never wait for one another to finish.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import torch
from transformers import DynamicCache

from gateway.worker.engine import (
    EngineStats,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    TextDelta,
)
from gateway.worker.errors import ContextLengthExceeded, Overloaded
from gateway.worker.kvcache import BatchKV, cache_from
from gateway.worker.loader import LoadedModel, load_model
from gateway.worker.prefix_cache import LayerKV, PrefixCache, PrefixHit
from gateway.worker.prompt import encode_prompt, render_prompt
from gateway.worker.sampling import make_generator, sample
from gateway.worker.sequence import Outbox, SequenceState, deliver, drain, post
from gateway.worker.text import IncrementalDetokenizer, StopMatcher

log = logging.getLogger(__name__)


class BatchedEngine:
    """Continuous-batching engine over a locally loaded model; implements the `Engine` protocol."""

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        max_batch: int = 32,
        max_queue: int = 256,
        prefix_cache_tokens: int = 32768,
        prefix_block: int = 16,
        max_prefill_tokens: int = 2048,
    ) -> None:
        self.model_name = loaded.name
        self.context_length = loaded.context_length
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.max_prefill_tokens = max_prefill_tokens
        self._loaded = loaded
        self._model = loaded.model
        self._device = loaded.device
        self._eos = loaded.eos_token_ids
        self._pad_id = loaded.tokenizer.pad_token_id or 0
        self._prefix = PrefixCache(prefix_cache_tokens, prefix_block)
        self._kv = BatchKV(loaded.device)
        # Fast tokenizers are not safe to use from two threads at once; encode runs on the event loop.
        self._tokenizer_lock = threading.Lock()
        self._cond = threading.Condition()
        self._waiting: deque[SequenceState] = deque()
        self._cancel_ids: set[str] = set()
        self._running: list[SequenceState] = []  # same order as the rows of self._kv
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._peak_running = 0
        self._steps = 0

    @classmethod
    def from_dir(cls, model_dir: str | Path, *, device: str | None = None, **options: int) -> BatchedEngine:
        """Load the model in `model_dir` and wrap it in an engine."""
        return cls(load_model(model_dir, device=device), **options)

    @property
    def loaded(self) -> LoadedModel:
        """The model, tokenizer and facts about them."""
        return self._loaded

    async def start(self) -> None:
        """Start the model thread (idempotent)."""
        self._ensure_thread()

    async def stop(self) -> None:
        """End the model thread; in-flight requests finish with an error event."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    async def submit(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Queue a request; its events arrive as the model thread produces them."""
        text = render_prompt(self._loaded.tokenizer, request.messages)
        with self._tokenizer_lock:
            prompt = encode_prompt(self._loaded.tokenizer, text)
        params = request.sampling
        max_new = self._max_new_tokens(len(prompt), params.max_tokens)
        seq = SequenceState(
            request_id=request.request_id,
            prompt=prompt,
            params=params,
            max_new=max_new,
            loop=asyncio.get_running_loop(),
            queue=asyncio.Queue(),
            generator=make_generator(params.seed, self._device),
            detok=IncrementalDetokenizer(self._decode),
            stops=StopMatcher(params.stop),
        )
        self._ensure_thread()
        with self._cond:
            if self._stopping:
                raise Overloaded("the worker is shutting down", retry_after_s=5)
            if len(self._waiting) >= self.max_queue:
                raise Overloaded(
                    f"the worker is at capacity ({len(self._running)} running, {len(self._waiting)} queued); "
                    "retry shortly",
                    retry_after_s=1,
                )
            self._waiting.append(seq)
            self._cond.notify()
        return drain(seq.queue)

    def cancel(self, request_id: str) -> None:
        """Free the request's slot at the next step boundary."""
        with self._cond:
            self._cancel_ids.add(request_id)
            self._cond.notify()

    def stats(self) -> EngineStats:
        """Current load."""
        return EngineStats(
            running=len(self._running),
            waiting=len(self._waiting),
            max_batch=self.max_batch,
            max_queue=self.max_queue,
            peak_running=self._peak_running,
            decode_steps=self._steps,
            prefix_cache_tokens=self._prefix.tokens,
        )

    def _max_new_tokens(self, prompt_tokens: int, requested: int | None) -> int:
        room = self.context_length - prompt_tokens
        if room <= 0:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {self.context_length} tokens. However, your messages "
                f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages.",
                param="messages",
            )
        if requested is not None and requested > room:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {self.context_length} tokens. However, you requested "
                f"{prompt_tokens + requested} tokens ({prompt_tokens} in the messages, {requested} in the "
                "completion). Please reduce the length of the messages or completion.",
                param="max_tokens",
            )
        return room if requested is None else requested

    def _decode(self, ids: list[int]) -> str:
        with self._tokenizer_lock:
            return self._loaded.tokenizer.decode(ids, skip_special_tokens=True)

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="worker-engine", daemon=True)
                self._thread.start()

    # --- everything below runs on the engine thread ---

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                work = self._next_work()
                if work is None:
                    break
                admitted, cancels = work
                outbox: Outbox = defaultdict(list)
                try:
                    admitted = self._apply_cancels(cancels, admitted, outbox)
                    if admitted:
                        self._admit(admitted, outbox)
                        admitted = []  # running now, or finished (failed ones included)
                    if self._running:
                        self._decode_step(outbox)
                except Exception as exc:  # a failed step must not kill the thread serving everyone else
                    log.exception("engine step failed")
                    failed = {id(seq): seq for seq in admitted + self._running}  # (admitted ones may be running)
                    self._fail(list(failed.values()), f"engine step failed: {exc}", outbox)
                    self._running, self._kv = [], BatchKV(self._device)
                self._dispatch(outbox)
        outbox = defaultdict(list)
        with self._cond:
            leftovers, self._waiting = list(self._waiting), deque()
        self._fail(leftovers + self._running, "the worker shut down", outbox)
        self._running = []
        self._dispatch(outbox)

    def _next_work(self) -> tuple[list[SequenceState], set[str]] | None:
        """Block until there is something to do; take cancellations and the requests to admit this step."""
        with self._cond:
            while not (self._waiting or self._running or self._cancel_ids or self._stopping):
                self._cond.wait()
            if self._stopping:
                return None
            cancels, self._cancel_ids = self._cancel_ids, set()
            admitted: list[SequenceState] = []
            free = self.max_batch - len(self._running)
            budget = self.max_prefill_tokens
            # A prompt-token budget per step bounds how long admissions stall the running decodes.
            while self._waiting and len(admitted) < free:
                cost = len(self._waiting[0].prompt)
                if admitted and cost > budget:
                    break
                admitted.append(self._waiting.popleft())
                budget -= cost
            # Cancelled requests still queued leave the queue now, not when they would have been admitted.
            if cancels:
                kept = deque(s for s in self._waiting if s.request_id not in cancels)
                admitted += [s for s in self._waiting if s.request_id in cancels]
                self._waiting = kept
            return admitted, cancels

    def _apply_cancels(self, cancels: set[str], admitted: list[SequenceState], outbox: Outbox) -> list[SequenceState]:
        if not cancels:
            return admitted
        for seq in admitted:
            if seq.request_id in cancels:
                post(outbox, seq, Finished("cancelled", seq.usage()))
        rows = [i for i, seq in enumerate(self._running) if seq.request_id in cancels]
        for row in rows:
            post(outbox, self._running[row], Finished("cancelled", self._running[row].usage()))
        self._retire(rows)
        return [seq for seq in admitted if seq.request_id not in cancels]

    def _admit(self, seqs: list[SequenceState], outbox: Outbox) -> None:
        """Prefill new requests. The running batch is not touched until a prefill has all it needs (its forward
        pass, the batch's KV grown), so when one fails (a prompt too big for the memory left, say) only new
        requests can be at fault: each is tried again alone and the ones that still fail end with an error,
        while the others and the running batch go on."""
        try:
            self._prefill(seqs, outbox)
            return
        except Exception as exc:
            if any(seq.output for seq in seqs):  # a failure after sampling: a bug, not a prompt
                raise
            if len(seqs) == 1:
                log.exception("prefill of request %s failed", seqs[0].request_id)
                self._fail(seqs, f"engine step failed: {exc}", outbox)
                return
            log.warning("a joint prefill of %d requests failed; trying each alone", len(seqs), exc_info=True)
        for seq in seqs:
            try:
                self._prefill([seq], outbox)
            except Exception as exc:
                log.exception("prefill of request %s failed", seq.request_id)
                if seq.output:
                    raise
                self._fail([seq], f"engine step failed: {exc}", outbox)

    def _prefill(self, seqs: list[SequenceState], outbox: Outbox) -> None:
        """Compute each new prompt's KV (after any cached prefix) and sample its first token."""
        results: dict[int, tuple[torch.Tensor, tuple[LayerKV, ...]]] = {}
        fresh = []
        for i, seq in enumerate(seqs):
            hit = self._prefix.lookup(seq.prompt)
            if hit is None:
                fresh.append(i)
                continue
            seq.cached = hit.length
            results[i] = self._prefill_suffix(seq, hit)
        if fresh:
            logits, kvs = self._prefill_together([seqs[i] for i in fresh])
            for row, i in enumerate(fresh):
                results[i] = (logits[row : row + 1], kvs[row])
        for i, seq in enumerate(seqs):
            self._prefix.insert(seq.prompt, results[i][1])
        logits = torch.cat([results[i][0] for i in range(len(seqs))])
        tokens = sample(logits, [s.params for s in seqs], [s.generator for s in seqs])
        # Everything that can fail for want of memory (the batch's KV grown for the new rows) comes before any
        # token is accepted, and leaves the running batch as it was when it fails (BatchKV.add is all or nothing).
        first_row = len(self._running)
        self._kv.add([results[i][1] for i in range(len(seqs))])
        self._running += seqs
        self._peak_running = max(self._peak_running, len(self._running))
        pairs = enumerate(zip(seqs, tokens, strict=True))
        self._retire([first_row + i for i, (seq, token) in pairs if self._accept(seq, token, outbox)])

    def _prefill_suffix(self, seq: SequenceState, hit: PrefixHit) -> tuple[torch.Tensor, tuple[LayerKV, ...]]:
        """Run only the prompt tokens after a cached prefix, on top of that prefix's KV."""
        cache = cache_from(hit.kv)
        ids = torch.tensor([seq.prompt[hit.length :]], device=self._device)
        positions = torch.arange(hit.length, len(seq.prompt), device=self._device)[None, :]
        out = self._model(
            input_ids=ids, position_ids=positions, past_key_values=cache, use_cache=True, logits_to_keep=1
        )
        return out.logits[:, -1], tuple((layer.keys, layer.values) for layer in cache.layers)

    def _prefill_together(self, seqs: list[SequenceState]) -> tuple[torch.Tensor, list[tuple[LayerKV, ...]]]:
        """One left-padded forward pass over several whole prompts; returns last-token logits and each row's KV."""
        lengths = [len(seq.prompt) for seq in seqs]
        width = max(lengths)
        pads = torch.tensor([width - n for n in lengths], device=self._device)
        columns = torch.arange(width, device=self._device)[None, :]
        ids = torch.full((len(seqs), width), self._pad_id, device=self._device)
        for row, seq in enumerate(seqs):
            ids[row, width - len(seq.prompt) :] = torch.tensor(seq.prompt, device=self._device)
        # A single prompt needs no mask, which keeps SDPA on its plain causal fast path.
        mask = None if len(seqs) == 1 else (columns >= pads[:, None]).long()
        positions = (columns - pads[:, None]).clamp(min=0)
        cache = DynamicCache()
        out = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        kvs = []
        for row, pad in enumerate(width - n for n in lengths):
            # Copies, so the prefix cache keeps only this row's tokens, not the whole padded batch.
            kvs.append(
                tuple(
                    (layer.keys[row : row + 1, :, pad:].clone(), layer.values[row : row + 1, :, pad:].clone())
                    for layer in cache.layers
                )
            )
        return out.logits[:, -1], kvs

    def _decode_step(self, outbox: Outbox) -> None:
        """One token for every running sequence in a single batched forward pass."""
        mask, positions = self._kv.decode_inputs()
        ids = torch.tensor([[seq.output[-1]] for seq in self._running], device=self._device)
        out = self._model(
            input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=self._kv.cache, use_cache=True
        )
        self._steps += 1
        tokens = sample(out.logits[:, -1], [s.params for s in self._running], [s.generator for s in self._running])
        pairs = enumerate(zip(self._running, tokens, strict=True))
        done = [row for row, (seq, token) in pairs if self._accept(seq, token, outbox)]
        self._retire(done, keep_kv=True)

    def _accept(self, seq: SequenceState, token: int, outbox: Outbox) -> bool:
        """Record a sampled token, post its text, and say whether the sequence is finished."""
        seq.output.append(token)
        eos = token in self._eos and not seq.params.ignore_eos
        text = "" if eos else seq.stops.feed(seq.detok.push(token))
        total = len(seq.prompt) + len(seq.output)
        done = eos or seq.stops.stopped or len(seq.output) >= seq.max_new or total >= self.context_length
        if done and not seq.stops.stopped:
            text += seq.stops.feed(seq.detok.flush())
            text += seq.stops.flush()
        post(outbox, seq, TextDelta(text, (token,)))
        if done:
            reason: FinishReason = "stop" if eos or seq.stops.stopped else "length"
            post(outbox, seq, Finished(reason, seq.usage()))
        return done

    def _retire(self, rows: Sequence[int], *, keep_kv: bool = False) -> None:
        """Drop rows from the batch; with `keep_kv`, remember each conversation so far for the next turn."""
        if not rows:
            return
        if keep_kv:
            for row in rows:
                seq = self._running[row]
                # The last sampled token was never fed through the model, so its KV does not exist yet.
                self._prefix.insert(seq.prompt + seq.output[:-1], self._kv.row_kv(row))
        self._kv.remove(rows)
        gone = set(rows)
        self._running = [seq for i, seq in enumerate(self._running) if i not in gone]

    def _fail(self, seqs: Sequence[SequenceState], message: str, outbox: Outbox) -> None:
        for seq in seqs:
            post(outbox, seq, Finished("error", seq.usage(), error=message))

    def _dispatch(self, outbox: Outbox) -> None:
        """Hand a step's events to each event loop in one wake-up per loop."""
        for loop, items in outbox.items():
            try:
                loop.call_soon_threadsafe(deliver, items)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                with self._cond:
                    self._cancel_ids |= {seq.request_id for seq, _ in items}
