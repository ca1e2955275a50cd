"""Rebuild the shipped weights: `python -m gateway.classify.train [--dev-set PATH] [--out PATH]`."""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

import numpy as np

from gateway.classify.corpus import Example, build_corpus
from gateway.classify.dataset import dev_path, load_dev, training_items
from gateway.classify.features import feature_names, featurize, first_and_last_clause, window_tokens
from gateway.classify.model import WEIGHTS_PATH, pack
from gateway.classify.signals import compute_signals
from gateway.classify.types import CATEGORIES
from gateway.classify.view import view_request

SEED = 13
MIN_DF = 3
C = 4.0
# Features whose largest absolute weight is below this change no decision; dropping them keeps the file small.
PRUNE_BELOW = 0.1
VALIDATION_SHARE = 0.2
# Examples sharing this many opening words of their instruction fall on the same side of the split.
GROUP_WORDS = 4


def featurize_request(request: dict) -> list[tuple[float, str]]:
    """The exact serving-path featurization, for training, as (value, feature name) pairs."""
    view = view_request(request)
    tokens = window_tokens(view.task)
    return feature_names(featurize(view, compute_signals(view, tokens), tokens))


def design_matrix(feats: list[list[tuple[float, str]]], index: dict[str, int]):
    """A CSR matrix of the named features, unknown names dropped exactly as at serving time."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for r, pairs in enumerate(feats):
        for value, name in pairs:
            col = index.get(name)
            if col is not None:
                rows.append(r)
                cols.append(col)
                vals.append(value)
    return csr_matrix((vals, (rows, cols)), shape=(len(feats), len(index)), dtype=np.float64)


def fit(x, y: np.ndarray, c: float):
    """Class-balanced multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)
    return model.fit(x, y)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising validation log-loss, by a coarse grid search."""
    best_t, best_nll = 1.0, float("inf")
    for t in np.arange(0.1, 3.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -logp[np.arange(len(y)), y].mean()
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def instruction_group(request: dict) -> str:
    """The opening words of the last user turn's first clause: a proxy for the template that wrote it."""
    view = view_request(request)
    first, _ = first_and_last_clause(view.task)
    return " ".join(first[:GROUP_WORDS])


def grouped_split(examples: list[Example], share: float = VALIDATION_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """(validation, fit) indices with no instruction opening on both sides.

    A random split shares templates between the halves, so it says how sure the model should be
    on phrasings it has seen; held-out phrasings are what unseen traffic looks like.
    """
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(instruction_group(ex.request), []).append(i)
    keys = sorted(groups)
    np.random.default_rng(SEED).shuffle(keys)
    val: list[int] = []
    for key in keys:
        if len(val) >= share * len(examples):
            break
        val += groups[key]
    val_set = set(val)
    return np.array(sorted(val_set)), np.array([i for i in range(len(examples)) if i not in val_set])


def train(examples: list[Example], c: float = C) -> dict:
    """Fit the model on the examples and return the arrays to save."""
    feats = [featurize_request(ex.request) for ex in examples]
    y = np.array([CATEGORIES.index(ex.category) for ex in examples])
    df = Counter(name for pairs in feats for name in {n for _, n in pairs})
    names = sorted(n for n, k in df.items() if k >= MIN_DF)
    index = {n: i for i, n in enumerate(names)}
    x = design_matrix(feats, index)

    # Calibrate on ~20% of the data whose instruction openings the probe never saw, then refit on all of it.
    val, fit_idx = grouped_split(examples)
    probe = fit(x[fit_idx], y[fit_idx], c)
    temperature = fit_temperature(probe.decision_function(x[val]), y[val])
    print(
        f"template-disjoint validation: {len(val)} examples, accuracy {np.mean(probe.predict(x[val]) == y[val]):.3f}, "
        f"temperature {temperature:.2f}"
    )

    model = fit(x, y, c)
    coef = model.coef_.T  # (n_features, n_classes), classes in CATEGORIES order
    keep = np.abs(coef).max(axis=1) >= PRUNE_BELOW
    # Rows are stored most frequent first (the fit above saw them in name order; the order changes
    # no score). A request's lookups then fall mostly in the first rows, so the vocabulary entries,
    # keys and weight rows it touches share cache lines: serving scores them cache-cold.
    kept = sorted((i for i in range(len(names)) if keep[i]), key=lambda i: (-df[names[i]], names[i]))
    print(f"{len(examples)} examples, {len(names)} features, {len(kept)} kept after pruning")
    classes = [CATEGORIES[i] for i in model.classes_]
    return pack([names[i] for i in kept], coef[kept], model.intercept_, classes, temperature)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev-set", help="SMQTS dev JSONL (default: $GATEWAY_CLASSIFY_DEV_SET or the shared path)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--C", type=float, default=C, dest="c")
    args = parser.parse_args(argv)
    random.seed(SEED)
    items = training_items(load_dev(dev_path(args.dev_set)))
    examples = build_corpus([(it.request, it.category) for it in items], seed=SEED)
    print(f"{len(items)} licence-clean training items from the dev set; {len(examples)} examples in all")
    arrays = train(examples, args.c)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
