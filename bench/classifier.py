"""Classifier benchmark: held-out accuracy, route agreement, shortcut-breaking accuracy and latency.

Run: `python bench/classifier.py [--dev-set PATH] [--unseen PATH] [--no-compiled]` from the repository root.
With --no-compiled the C modules (gateway/classify/_score.c, _scan.c) are not loaded: the Python paths' figures,
as on a machine where the package was installed without a C compiler.

Route agreement is measured on the route the gateway would really take: a prediction below the
policy's `confidence_threshold` goes to its `uncertain` route, whatever the predicted category.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "--no-compiled" in sys.argv:  # before gateway is imported: as if the C module had never been built
    sys.modules["gateway.classify._score"] = None  # type: ignore[assignment]
    sys.modules["gateway.classify._scan"] = None  # type: ignore[assignment]

from gateway.catalogue import load_catalogue  # noqa: E402
from gateway.classify import CATEGORIES, Classification, classify  # noqa: E402
from gateway.classify.classifier import system_scores  # noqa: E402
from gateway.classify.corpus import openers_from  # noqa: E402
from gateway.classify.corpus.agents import EVAL_TOOLS, attach_tools, prepend_turns  # noqa: E402
from gateway.classify.dataset import DevItem, dev_path, held_out, load_dev, trainable  # noqa: E402
from gateway.classify.features import _STEM_CACHE  # noqa: E402
from gateway.classify.signals import _SCANNER  # noqa: E402
from gateway.policy import load_policy  # noqa: E402

POLICIES_DIR = Path(__file__).resolve().parents[1] / "policies"
UNSEEN_PATH = Path(__file__).resolve().parent / "data" / "classifier_unseen.yaml"
TARGET_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class Routing:
    """What the policy does with a classification: a route per category, or `uncertain` below the threshold."""

    routes: dict[str, str]
    threshold: float
    uncertain: str
    source: str

    def model_for(self, result: Classification) -> str:
        """The first-choice model the gateway picks for this classification."""
        return self.uncertain if result.confidence < self.threshold else self.routes[result.category]


def load_routes(policies_dir: Path = POLICIES_DIR) -> Routing:
    """Routes, confidence threshold and uncertain route of the shipped policy, read by the gateway's own loader."""
    policy = load_policy(policies_dir, load_catalogue(policies_dir))
    routes = {category: rule.route for category, rule in policy.categories.items()}
    return Routing(routes, policy.confidence_threshold, policy.uncertain.route, str(policies_dir / "routing.yaml"))


def evaluate(name: str, pairs: list[tuple[dict[str, Any], str]], routing: Routing, detail: bool) -> float:
    """Print accuracy, route agreement and, with detail, per-category P/R and a confusion table; return accuracy."""
    preds = [classify(req) for req, _ in pairs]
    gold = [cat for _, cat in pairs]
    n = len(pairs)
    correct = sum(p.category == g for p, g in zip(preds, gold, strict=True))
    # The true label is routed as a certain classification; the prediction as the gateway would route it.
    agree = sum(routing.model_for(p) == routing.routes[g] for p, g in zip(preds, gold, strict=True))
    low = sum(p.confidence < routing.threshold for p in preds)
    sure = sum(p.category == g and p.confidence >= routing.threshold for p, g in zip(preds, gold, strict=True))
    t = routing.threshold
    print(f"\n== {name}: {n} requests")
    print(f"top-1 accuracy   {correct / n:7.2%}   ({correct}/{n})")
    print(f"route agreement  {agree / n:7.2%}   ({agree}/{n}; below {t:.2f} -> uncertain route {routing.uncertain})")
    print(f"correct and >= {t:.2f} {sure / n:7.2%}   confidence < {t:.2f}: {low / n:.2%}", end="")
    print(f"   mean confidence {statistics.fmean(p.confidence for p in preds):.3f}")
    if not detail:
        return correct / n
    confusion = Counter((g, p.category) for p, g in zip(preds, gold, strict=True))
    present = [c for c in CATEGORIES if c in gold or any(p.category == c for p in preds)]
    print(f"\n{'cat':>4} {'n':>4} {'prec':>6} {'recall':>6}  top confusions (true -> predicted)")
    for c in present:
        tp = confusion[(c, c)]
        npred = sum(v for (g, p), v in confusion.items() if p == c)
        ntrue = sum(v for (g, p), v in confusion.items() if g == c)
        prec = f"{tp / npred:6.1%}" if npred else "     -"
        rec = f"{tp / ntrue:6.1%}" if ntrue else "     -"
        errs = sorted(((v, p) for (g, p), v in confusion.items() if g == c and p != c), reverse=True)[:3]
        print(f"{c:>4} {ntrue:>4} {prec} {rec}  " + ", ".join(f"{p}:{v}" for v, p in errs))
    print("\nconfusion (rows true, columns predicted)")
    print("     " + "".join(f"{c:>4}" for c in present))
    for g in present:
        print(f"{g:>4} " + "".join(f"{confusion[(g, p)] or '.':>4}" for p in present))
    return correct / n


@dataclass(frozen=True, slots=True)
class UnseenItem:
    """One hand-written evaluation request from bench/data/classifier_unseen.yaml."""

    id: str
    category: str
    tags: tuple[str, ...]
    request: dict[str, Any]


def load_unseen(path: Path = UNSEEN_PATH) -> list[UnseenItem]:
    """The hand-written unseen set as chat-completions requests (evaluation only: never train on it)."""
    import yaml

    doc = yaml.safe_load(path.read_text())
    payloads = {k: v.strip() for k, v in doc["payloads"].items()}
    tools = doc["tools"]
    fill = functools.partial(re.compile(r"<<(\w+)>>").sub, lambda m: payloads[m.group(1)])
    out = []
    for item in doc["items"]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": item["system"]}] if "system" in item else []
        if "raw" in item:
            messages += item["raw"]
        else:
            roles = ("user", "assistant")
            messages += [{"role": roles[i % 2], "content": fill(t).strip()} for i, t in enumerate(item["turns"])]
        request: dict[str, Any] = {"model": "auto", "messages": messages}
        if "tools" in item:
            request["tools"] = [
                {"type": "function", "function": {"name": n, "description": tools[n], "parameters": {"type": "object"}}}
                for n in item["tools"]
            ]
        if "tool_choice" in item:
            request["tool_choice"] = item["tool_choice"]
        if "response_format" in item:
            kind = item["response_format"]
            fmt: dict[str, Any] = {"type": kind}
            if kind == "json_schema":
                fmt["json_schema"] = {"name": "answer", "schema": {"type": "object"}}
            request["response_format"] = fmt
        out.append(UnseenItem(item["id"], item["cat"], tuple(item.get("tags", ())), request))
    return out


def shortcut_set(items: list[DevItem], seed: int = 7) -> list[tuple[dict[str, Any], str]]:
    """Untrained non-P10/N10 requests with unseen tools attached, or sent as a later turn of a chat."""
    rng = random.Random(seed)
    openers = openers_from([it.request for it in items])
    out = []
    for it in items:
        if it.category in ("P10", "N10"):
            continue
        if rng.random() < 0.5:
            out.append((attach_tools(it.request, rng, EVAL_TOOLS), it.category))
        else:
            out.append((prepend_turns(it.request, rng, openers), it.category))
    return out


def padded(request: dict[str, Any], filler: str) -> dict[str, Any]:
    """The request with its last message grown to ~32 KB by repeating other dev text in front."""
    out = copy.deepcopy(request)
    last = out["messages"][-1]
    text = last.get("content") if isinstance(last.get("content"), str) else ""
    need = max(0, TARGET_BYTES - len(text.encode()))
    last["content"] = (filler * (need // max(1, len(filler)) + 1))[:need] + text
    return out


def latency(name: str, requests: list[dict[str, Any]], rounds: int = 3, cold: bool = False) -> None:
    """Print p50/p99 per-call latency of classify(): wall clock, and thread CPU time (immune to preemption).

    With `cold`, the token stem cache and the system prompt scores are emptied before every call,
    so each request pays for stemming all its words and scoring its system prompt: the worst case,
    where a warm process only stems words and scores system prompts it has not seen.
    """
    for req in requests[:50]:
        classify(req)
    wall, cpu = [], []
    for _ in range(rounds):
        for req in requests:
            if cold:
                _STEM_CACHE.clear()
                system_scores.cache_clear()
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            classify(req)
            cpu.append((time.thread_time_ns() - c0) / 1000)
            wall.append((time.perf_counter_ns() - t0) / 1000)
    for label, samples in (("wall", wall), ("cpu ", cpu)):
        samples.sort()
        p50, p99 = (samples[min(len(samples) - 1, int(q * len(samples)))] for q in (0.5, 0.99))
        print(f"{name:<36} {label} n={len(samples):5}  p50 {p50:6.0f} us  p99 {p99:6.0f} us  max {samples[-1]:6.0f} us")


def main() -> None:
    """Run the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev-set")
    parser.add_argument("--unseen", type=Path, default=UNSEEN_PATH, help="hand-written evaluation set (YAML)")
    parser.add_argument("--no-compiled", action="store_true", help="use the Python paths, not the C modules")
    args = parser.parse_args()
    items = load_dev(dev_path(args.dev_set))
    routing = load_routes()
    held = [it for it in items if held_out(it)]
    untrained = [it for it in items if held_out(it) or not trainable(it)]
    print(
        f"dev set {len(items)} items; held-out split {len(held)}; "
        f"untrained (held-out + eval-only licences) {len(untrained)}"
    )
    print(f"routes from {routing.source}; confidence threshold {routing.threshold}, uncertain -> {routing.uncertain}")
    from gateway.classify.model import load_model

    print("scorer: " + ("C (gateway/classify/_score.c)" if load_model().compiled is not None else "numpy path")
          + ", signal scan: " + ("C (gateway/classify/_scan.c)" if _SCANNER.compiled else "Python path"))
    evaluate("held-out split (30%, all licences)", [(it.request, it.category) for it in held], routing, detail=True)
    evaluate(
        "all untrained items (held-out + eval-only licences)",
        [(it.request, it.category) for it in untrained],
        routing,
        detail=True,
    )
    evaluate(
        "shortcut-breaking set (unseen tools / later chat turn; untrained non-P10/N10 items)",
        shortcut_set(untrained),
        routing,
        detail=True,
    )
    unseen = load_unseen(args.unseen)
    evaluate(
        f"hand-written unseen set ({args.unseen.name}, never trained on)",
        [(u.request, u.category) for u in unseen],
        routing,
        detail=True,
    )
    for tag in ("tools", "turns"):
        subset = [(u.request, u.category) for u in unseen if tag in u.tags]
        evaluate(f"unseen set, shortcut cases tagged {tag!r}", subset, routing, detail=False)
    misses = [
        (u, r) for u in unseen if (r := classify(u.request)).category != u.category or r.confidence < routing.threshold
    ]
    print(
        "\nunseen items wrong or below the threshold: "
        + (", ".join(f"{u.id}->{r.category}@{r.confidence:.2f}" for u, r in misses) or "none")
    )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n== latency of classify() (single thread; {os.cpu_count()} CPUs, load average {load:.2f})")
    rng = random.Random(3)
    requests = [it.request for it in held]
    filler = "\n\n".join(str(it.request["messages"][-1].get("content") or "") for it in rng.sample(items, 40))
    big = [padded(r, filler) for r in rng.sample(requests, 300)]
    sizes = [len(str(r["messages"][-1]["content"]).encode()) for r in big]
    latency("held-out requests as they are", requests)
    latency(f"padded to ~32 KB (median {statistics.median(sizes) / 1024:.0f} KiB)", big)
    latency("padded to ~32 KB, stem cache cold", big, cold=True)


if __name__ == "__main__":
    main()
