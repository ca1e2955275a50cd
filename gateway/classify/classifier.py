"""classify(): structural signals plus the trained text model, for one chat-completions body."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from gateway.classify.features import SIDE_CHARS, system_features, window_tokens
from gateway.classify.model import load_model
from gateway.classify.signals import compute_signals
from gateway.classify.types import CATEGORIES, DEFAULT_CATEGORY, Classification
from gateway.classify.view import view_request

_UNINFORMED = 1.0 / len(CATEGORIES)
# Distinct system prompts whose scores are kept. An application sends the same system prompt with
# every request, so a few hundred cover a gateway's tenants; a miss only costs the scoring.
SYSTEM_SCORES_CACHED = 512


@functools.lru_cache(maxsize=SYSTEM_SCORES_CACHED)
def system_scores(system: str) -> np.ndarray:
    """The model's scores for a system prompt's features alone (no intercept), memoised per prompt."""
    scores = load_model().scores(system_features(system), intercept=False)
    scores.flags.writeable = False  # shared by every request with this prompt
    return scores


def classify(request: Mapping[str, Any]) -> Classification:
    """Predict the SMQTS category of a parsed chat-completions request; pure and never raises on shape."""
    view = view_request(request)
    tokens = window_tokens(view.task)
    signals = compute_signals(view, tokens)
    if view.n_messages == 0 or not (view.task.strip() or view.has_tools):
        return Classification(DEFAULT_CATEGORY, _UNINFORMED, signals)
    category, probability = load_model().predict_request(view, signals, tokens, system_scores(view.system[:SIDE_CHARS]))
    return Classification(category, round(probability, 4), signals)
