"""Shared pieces for the corpus generators: the Example type, request builders and material harvesting."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.classify.corpus.snippets import SNIPPETS, Snippet
from gateway.classify.corpus.texts import PASSAGES
from gateway.classify.view import content_text


@dataclass(frozen=True, slots=True)
class Example:
    """One training request with its category and where it came from."""

    request: dict[str, Any]
    category: str
    origin: str


@dataclass(frozen=True, slots=True)
class Material:
    """Payloads the templates fill in: code, diffs and prose, some harvested from licence-clean training items."""

    snippets: tuple[Snippet, ...] = SNIPPETS
    diffs: tuple[str, ...] = ()
    passages: tuple[str, ...] = PASSAGES
    stubs: tuple[str, ...] = field(default=())


def user(text: str, **extra: Any) -> dict[str, Any]:
    """A single-turn chat-completions body."""
    return {"model": "auto", "messages": [{"role": "user", "content": text}], **extra}


def combine(rng: random.Random, instruction: str, payload: str) -> str:
    """Put the instruction before or after the payload, the two shapes real prompts take."""
    if not payload:
        return instruction
    if rng.random() < 0.7:
        return f"{instruction}{rng.choice([chr(10) * 2, chr(10), ' '])}{payload}"
    return f"{payload}\n\n{instruction}"


def pick(rng: random.Random, options: tuple[str, ...] | list[str], **slots: str) -> str:
    """A random template filled with the given slots."""
    return rng.choice(options).format(**slots)


_VERBS = (
    "parse",
    "load",
    "build",
    "fetch",
    "render",
    "validate",
    "sync",
    "resolve",
    "compute",
    "format",
    "merge",
    "export",
)
_NOUNS = (
    "config",
    "user",
    "invoice",
    "session",
    "report",
    "order",
    "token",
    "payload",
    "schedule",
    "profile",
    "asset",
    "event",
)
_CLASSES = (
    "Manager",
    "Service",
    "Client",
    "Handler",
    "Repository",
    "Builder",
    "Registry",
    "Adapter",
    "Controller",
    "Store",
)
REPOS = (
    "acme/billing",
    "django/django",
    "pallets/flask",
    "tiangolo/fastapi",
    "psf/requests",
    "encode/httpx",
    "apache/airflow",
    "facebook/react",
    "vercel/next.js",
    "spring-projects/spring-boot",
    "rails/rails",
    "golang/go",
    "our monorepo",
    "the payments service",
    "kubernetes/kubernetes",
    "pandas-dev/pandas",
    "scikit-learn/scikit-learn",
    "nodejs/node",
)


def ident(rng: random.Random) -> str:
    """A plausible snake_case function name."""
    return f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"


def cls_name(rng: random.Random) -> str:
    """A plausible CamelCase class name."""
    return rng.choice(_NOUNS).capitalize() + rng.choice(_CLASSES)


def module_path(rng: random.Random) -> str:
    """A plausible source file path."""
    ext = rng.choice(["py", "py", "ts", "js", "go", "java", "rb"])
    return f"{rng.choice(['src', 'app', 'lib', 'pkg', 'core'])}/{rng.choice(_NOUNS)}/{rng.choice(_VERBS)}.{ext}"


_DIFF_BLOCK = re.compile(r"```diff\n(.*?)```", re.S)
_CODE_BLOCK = re.compile(r"```(?:python|py)?\n(.*?)```", re.S)


def harvest(rows: list[tuple[dict[str, Any], str]]) -> Material:
    """Collect diffs, code and prose from licence-clean, non-held-out dev items to reuse as payloads."""
    diffs: list[str] = []
    stubs: list[str] = []
    passages: list[str] = list(PASSAGES)
    for request, category in rows:
        messages = request.get("messages") or []
        if not messages:
            continue
        text = content_text(messages[-1].get("content"))
        if category == "P9":
            diffs.extend(d for d in _DIFF_BLOCK.findall(text) if len(d) < 5000)
        elif category == "P6":
            stubs.extend(c for c in _CODE_BLOCK.findall(text) if "def " in c)
        elif category == "N4":
            # WikiBio / DuoRC / Quoref passages: the longest paragraph of the prompt.
            best = max(text.split("\n"), key=len)
            if 300 <= len(best) <= 3000:
                passages.append(best.split(":", 1)[-1].strip() if best[:20].count(":") else best)
    return Material(diffs=tuple(diffs), passages=tuple(passages), stubs=tuple(stubs))
