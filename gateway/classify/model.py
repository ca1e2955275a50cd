"""The shipped linear text model: loading the weights file once and scoring feature lists."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.classify.types import CATEGORIES

WEIGHTS_PATH = Path(__file__).with_name("weights.npz")
FORMAT_VERSION = 1


class WeightsError(RuntimeError):
    """The weights file is missing or does not match what this code expects."""


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A multinomial logistic regression over named features, with a softmax temperature."""

    classes: tuple[str, ...]
    index: dict[str, int]  # full feature name -> row
    coef: np.ndarray  # (n_features, n_classes) float32
    intercept: np.ndarray  # (n_classes,) float32
    temperature: float
    spaces: dict[str, dict[str, int]]  # namespace ("w:") -> item -> row, the same rows as index

    def probabilities(self, features: list[tuple[float, str, list[str]]]) -> np.ndarray:
        """Softmax class probabilities for grouped (value, namespace, items) features; unknown ones are ignored."""
        spaces = self.spaces
        rows: list[int] = []
        values: list[float] = []
        for value, prefix, items in features:
            space = spaces.get(prefix)
            if space is None:
                continue
            found = [row for row in map(space.get, items) if row is not None]
            rows += found
            values += [value] * len(found)
        logits = self.intercept.copy()
        if rows:
            # One gather and one product for all groups: per-group numpy calls cost more than the math.
            logits += np.asarray(values, dtype=self.coef.dtype) @ self.coef[rows]
        logits /= self.temperature
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()


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
    spaces: dict[str, dict[str, int]] = {}
    for i, name in enumerate(names):
        prefix, _, item = name.partition(":")
        spaces.setdefault(prefix + ":", {})[item] = i
    return LinearModel(classes, {n: i for i, n in enumerate(names)}, coef, intercept, temperature, spaces)


@functools.cache
def load_model(path: Path = WEIGHTS_PATH) -> LinearModel:
    """The model from the packaged weights file, read once per process."""
    return read_weights(path)
