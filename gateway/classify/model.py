"""The shipped linear text model: loading the weights file once and scoring feature lists."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from gateway.classify.features import (
    STEM_MEMO,
    Features,
    featurize,
    fill_stems,
    item_key,
    normalised,
    serving_parts,
)
from gateway.classify.types import CATEGORIES
from gateway.classify.view import RequestView

try:  # the C scoring loop built from _score.c (setup.py); without it the numpy path gives the same logits
    from gateway.classify._score import Scorer
except ImportError:  # pragma: no cover - only where the package was installed without a C compiler
    Scorer = None

WEIGHTS_PATH = Path(__file__).with_name("weights.npz")
FORMAT_VERSION = 1


class WeightsError(RuntimeError):
    """The weights file is missing or does not match what this code expects."""


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A multinomial logistic regression over named features, with a softmax temperature.

    `scaled` holds coef / temperature with the scaled intercept appended as row `n_features` and a
    zero row after it: every lookup that misses lands on the zero row, so scoring needs no filter.
    `compiled` is the C scorer over `scaled` and `spaces` (None where it was not built).
    """

    classes: tuple[str, ...]
    index: dict[str, int]  # full feature name -> row
    coef: np.ndarray  # (n_features, n_classes) float32
    intercept: np.ndarray  # (n_classes,) float32
    temperature: float
    spaces: dict[str, dict[str | tuple[str, str], int]]  # namespace ("w:") -> item -> row; bigrams as pairs
    scaled: np.ndarray  # (n_features + 2, n_classes) float32
    compiled: Any = None  # _score.Scorer | None

    def scores(self, features: Features, *, intercept: bool = True) -> np.ndarray:
        """Temperature-scaled class scores of grouped (value, namespace, items) features; unknown ones count zero.

        Features add up, so the scores of disjoint groups sum to the scores of their union (the
        intercept counted once). Scoring runs cache-cold between requests in a busy server, where
        each numpy call costs microseconds: one gather and one product serve every group, and the
        rest is plain Python.
        """
        spaces = self.spaces
        missing = repeat(len(self.index) + 1)
        rows = [len(self.index)] if intercept else []
        values = [1.0] if intercept else []
        for value, prefix, items in normalised(features):
            space = spaces.get(prefix)
            if space is not None:
                rows += map(space.get, items, missing)
                values += repeat(value, len(items))
        return np.asarray(values, dtype=np.float32) @ self.scaled.take(rows, axis=0)

    def logits(self, features: Features, offset: np.ndarray | None = None) -> list[float]:
        """Class logits of `features` (intercept included) plus `offset`, the scores of other groups.

        The compiled scorer, where built, deduplicates each group, looks each item up and adds its
        row in C (_score.c says why that is several times faster). It sums in double precision, so
        its logits differ from the numpy path's float32 ones only in the last bits.
        """
        if self.compiled is not None:
            result: list[float] = self.compiled.logits(features, len(self.index), offset)
            return result
        return self.numpy_logits(features, offset)

    def numpy_logits(self, features: Features, offset: np.ndarray | None = None) -> list[float]:
        """logits() in numpy alone: the path taken where the C loop is not built."""
        scores = self.scores(features)
        if offset is not None:
            scores += offset
        values: list[float] = scores.tolist()
        return values

    def predict(self, features: Features, offset: np.ndarray | None = None) -> tuple[str, float]:
        """The most probable class and its probability (see logits for `offset`)."""
        if self.compiled is not None:  # the same arithmetic as below, in C
            index, probability = self.compiled.predict(features, len(self.index), offset)
            return self.classes[index], probability
        logits = self.logits(features, offset)
        top = max(logits)
        return self.classes[logits.index(top)], 1.0 / sum(math.exp(x - top) for x in logits)

    def predict_request(self, view: RequestView, signals: tuple[str, ...], tokens: tuple[list[str], list[str]],
                        offset: np.ndarray | None = None) -> tuple[str, float]:
        """predict(featurize(view, signals, tokens, with_system=False), offset), the same doubles: with
        the C scorer, which builds the groups itself from the token lists; else through the lists."""
        if self.compiled is None:
            return self.predict(featurize(view, signals, tokens, with_system=False), offset)
        head, tail, first_clause, last_clause, previous = serving_parts(view, tokens)
        index, probability = self.compiled.predict_request(
            head, tail, first_clause, last_clause, previous, signals, view.n_user_turns >= 2, view.has_tools,
            STEM_MEMO, fill_stems, len(self.index), offset)
        return self.classes[index], probability


def pack(names: list[str], coef: np.ndarray, intercept: np.ndarray, classes: list[str], temperature: float) -> dict:
    """Arrays for np.savez_compressed in the layout load_model reads."""
    return {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int32),
        "classes": np.frombuffer("\n".join(classes).encode(), dtype=np.uint8),
        "vocab": np.frombuffer("\n".join(names).encode(), dtype=np.uint8),
        "coef": coef.astype(np.float16),
        "intercept": intercept.astype(np.float32),
        "temperature": np.array(temperature, dtype=np.float32),
    }


def read_weights(path: Path) -> LinearModel:
    """Read and validate a weights file (no caching; see load_model)."""
    if not path.is_file():
        raise WeightsError(f"classifier weights not found at {path}; run `python -m gateway.classify.train`")
    with np.load(path, allow_pickle=False) as data:
        if int(data["format_version"]) != FORMAT_VERSION:
            raise WeightsError(f"weights format {int(data['format_version'])}, expected {FORMAT_VERSION}")
        classes = tuple(data["classes"].tobytes().decode().split("\n"))
        names = data["vocab"].tobytes().decode().split("\n")
        coef = data["coef"].astype(np.float32)
        intercept = data["intercept"].astype(np.float32)
        temperature = float(data["temperature"])
    if set(classes) != set(CATEGORIES) or len(classes) != len(CATEGORIES):
        raise WeightsError(f"weights classes {classes} do not match CATEGORIES")
    if coef.shape != (len(names), len(classes)) or intercept.shape != (len(classes),):
        raise WeightsError(f"weights shapes {coef.shape}/{intercept.shape} do not match {len(names)} features")
    if not temperature > 0:
        raise WeightsError("weights temperature must be positive")
    spaces: dict[str, dict[str | tuple[str, str], int]] = {}
    for i, name in enumerate(names):
        prefix, _, item = name.partition(":")
        spaces.setdefault(prefix + ":", {})[item_key(item)] = i
    scaled = np.vstack([coef, intercept[None, :], np.zeros((1, len(classes)), np.float32)]) / np.float32(temperature)
    scaled = np.ascontiguousarray(scaled, dtype=np.float32)
    compiled = Scorer(scaled, spaces) if Scorer is not None else None
    return LinearModel(classes, {n: i for i, n in enumerate(names)}, coef, intercept, temperature, spaces, scaled,
                       compiled)


@functools.cache
def load_model(path: Path = WEIGHTS_PATH) -> LinearModel:
    """The model from the packaged weights file, read once per process."""
    return read_weights(path)
