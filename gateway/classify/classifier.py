"""classify(): structural signals plus the trained text model, for one chat-completions body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.classify.features import featurize, window_tokens
from gateway.classify.model import load_model
from gateway.classify.signals import compute_signals
from gateway.classify.types import CATEGORIES, DEFAULT_CATEGORY, Classification
from gateway.classify.view import view_request

_UNINFORMED = 1.0 / len(CATEGORIES)


def classify(request: Mapping[str, Any]) -> Classification:
    """Predict the SMQTS category of a parsed chat-completions request; pure and never raises on shape."""
    view = view_request(request)
    tokens = window_tokens(view.task)
    signals = compute_signals(view, tokens)
    if view.n_messages == 0 or not (view.task.strip() or view.has_tools):
        return Classification(DEFAULT_CATEGORY, _UNINFORMED, signals)
    category, probability = load_model().predict(featurize(view, signals, tokens))
    return Classification(category, round(probability, 4), signals)
