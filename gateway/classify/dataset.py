"""The labelled SMQTS dev set: loading, the licence filter for training, and the fixed held-out split."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DEFAULT_DEV_PATH = Path("/work/shared/datasets/smqts_dev.jsonl")
DEV_PATH_ENV = "GATEWAY_CLASSIFY_DEV_SET"
HELD_OUT_PERCENT = 30

# LICENCES: these items may be used to EVALUATE the classifier but never to fit the shipped
# weights, because their licence is non-commercial, research-only or unstated. Matching is on
# both the source repository and the licence text, so a relabelled copy is still caught.
EVAL_ONLY_SOURCES: tuple[str, ...] = (
    "cylnlp/dialogsum",  # DialogSum: CC BY-NC-SA 4.0 (non-commercial)
    "EdinburghNLP/code-docstring-corpus",  # research use only
    "wmt-conference/wmt23-news-systems",  # WMT23: no licence file, research/evaluation release
    "harsh19/Shakespearizing-Modern-English",  # Shakespeare/SparkNotes: no licence
    "guidance-ai/jsonschemabench",  # no licence file in the repo
    "microsoft/RefactorBench",  # task texts carry no licence
    "yhwi-kwon/CodeReveiwAutomation",  # CodeReviewer sample: licence unverified (Zenodo), treat as unspecified
    "LLM4SoftwareTesting/TestEval",  # problem texts are LeetCode's
)
EVAL_ONLY_LICENCE_MARKERS: tuple[str, ...] = (
    "XSum",  # BBC articles, research use (arrives via yizhongw/self-instruct, otherwise permissive)
    "Multi-News",  # research use (same carrier repo)
    "NC-SA",
    "BY-NC",
    "research use",
    "no licence",
    "no LICENSE",
    "unspecified",
    "LeetCode",
)


@dataclass(frozen=True, slots=True)
class DevItem:
    """One labelled dev-set request."""

    id: str
    category: str
    source: str
    license: str
    request: dict[str, Any]


def dev_path(override: str | None = None) -> Path:
    """The dev set location: an explicit override, else $GATEWAY_CLASSIFY_DEV_SET, else the shared default."""
    return Path(override or os.environ.get(DEV_PATH_ENV) or DEFAULT_DEV_PATH)


def load_dev(path: Path) -> list[DevItem]:
    """Read every item of the dev set JSONL file."""
    items = []
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                row = orjson.loads(line)
                items.append(DevItem(row["id"], row["category"], row["source"], row["license"], row["request"]))
    return items


def trainable(item: DevItem) -> bool:
    """True when the item's licence allows it in the shipped weights (see EVAL_ONLY_* above)."""
    repo = item.source.split(":", 1)[0]
    if repo in EVAL_ONLY_SOURCES:
        return False
    return not any(marker.lower() in item.license.lower() for marker in EVAL_ONLY_LICENCE_MARKERS)


def held_out(item: DevItem) -> bool:
    """True for the fixed ~30% of items (by a hash of the id) that are never trained on."""
    digest = hashlib.sha256(item.id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def training_items(items: list[DevItem]) -> list[DevItem]:
    """Items that may fit the weights: licence-clean and outside the held-out split."""
    return [it for it in items if trainable(it) and not held_out(it)]
