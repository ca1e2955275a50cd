"""The C scorer (gateway/classify/_score.c) against the numpy path it replaces on the hot path."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.classify.classifier import system_scores
from gateway.classify.dataset import dev_path, load_dev
from gateway.classify.features import SIDE_CHARS, featurize, normalised, window_tokens
from gateway.classify.model import Scorer, load_model
from gateway.classify.signals import compute_signals
from gateway.classify.view import view_request

TEXTS = [
    "Summarise this ticket in three bullet points: the drill did not arrive, the drill did not arrive.",
    "Fix the bug in this function: def f(x): return x +* 2",
    "Traduis en anglais : « Le colis est arrivé en retard et la boîte était abîmée. »",
    "Переведи на английский: посылка пришла с опозданием.",
    "",
    "word " * 2000,  # one token repeated: deduplicated to one feature per group
    " ".join(f"token{i}" for i in range(3000)),  # more distinct items than the stack set holds
]


def both_logits(body: dict) -> tuple[list[float], list[float]]:
    model = load_model()
    view = view_request(body)
    tokens = window_tokens(view.task)
    features = featurize(view, compute_signals(view, tokens), tokens, with_system=False)
    offset = system_scores(view.system[:SIDE_CHARS])
    return model.logits(features, offset), model.numpy_logits(features, offset)


def test_the_compiled_scorer_is_built_and_used() -> None:
    # make test installs the package with a C compiler: the fast path must really be there.
    assert Scorer is not None
    assert load_model().compiled is not None


@pytest.mark.parametrize("text", TEXTS)
def test_compiled_logits_equal_the_numpy_path(text: str) -> None:
    body = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "an earlier question"},
                         {"role": "assistant", "content": "an earlier answer"},
                         {"role": "user", "content": text}],
            "tools": [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order"}}]}
    compiled, numpy_path = both_logits(body)
    assert np.allclose(compiled, numpy_path, atol=1e-4)


@pytest.mark.skipif(not dev_path().exists(), reason="dev set not available")
def test_compiled_and_numpy_paths_agree_on_every_dev_prompt() -> None:
    worst = 0.0
    for item in load_dev(dev_path()):
        compiled, numpy_path = both_logits(item.request)
        assert int(np.argmax(compiled)) == int(np.argmax(numpy_path)), item.request
        worst = max(worst, float(np.max(np.abs(np.subtract(compiled, numpy_path)))))
    assert worst < 1e-4


@pytest.mark.parametrize("text", TEXTS)
def test_compiled_predict_is_the_softmax_of_the_logits(text: str) -> None:
    import math

    model = load_model()
    view = view_request({"messages": [{"role": "user", "content": text}]})
    tokens = window_tokens(view.task)
    features = featurize(view, compute_signals(view, tokens), tokens)
    logits = model.logits(features)
    top = max(logits)
    expected = model.classes[logits.index(top)], 1.0 / sum(math.exp(x - top) for x in logits)
    assert model.predict(features) == expected


def test_repeated_items_count_once_and_groups_are_normalised() -> None:
    model = load_model()
    known = next(iter(model.spaces["w:"]))
    other = list(model.spaces["w:"])[1]
    raw = [(None, "w:", [known, other, known, known, "never-seen-token"])]
    assert normalised(raw)[0][0] == pytest.approx(1 / 3 ** 0.5)  # three distinct items
    assert np.allclose(model.logits(raw), model.numpy_logits(raw), atol=1e-5)
    huge = [(None, "w:", [f"never-seen-{i}" for i in range(5000)] + [known, other] * 3)]  # past the stack set
    assert np.allclose(model.logits(huge), model.numpy_logits(huge), atol=1e-5)
    weighted = [(0.5, "w:", [known]), (None, "unknown-namespace:", ["x"])]
    assert np.allclose(model.logits(weighted), model.numpy_logits(weighted), atol=1e-5)


def test_bad_input_raises_instead_of_scoring_garbage() -> None:
    model = load_model()
    with pytest.raises(TypeError, match="str or a"):
        model.compiled.logits([(None, "w:", [42])], -1, None)
    with pytest.raises(TypeError, match="value, namespace, items"):
        model.compiled.logits([("w:", ["x"])], -1, None)
    with pytest.raises(ValueError, match="offset has 3 values"):
        model.compiled.logits([], -1, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="float32"):
        Scorer(np.zeros((4, 20)), {})  # float64
    with pytest.raises(ValueError, match="outside the table"):
        Scorer(np.zeros((4, 20), np.float32), {"w:": {"x": 9}})


def test_the_c_tokenizer_splits_ascii_text_exactly_like_the_python_path() -> None:
    import random
    import string

    from gateway.classify import features, signals

    rng = random.Random(7)
    alphabet = string.printable + "\x00\x1c\x1d\x1e\x1f\x7f" + "ÉéßИ"  # the last four are not ASCII: Python path
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        lowered = text.lower().encode("utf-8", "surrogatepass")
        assert features._tokens(text) == lowered.translate(features._TABLE).decode().split()
        assert signals._word_set(text) == set(lowered.translate(signals._WORD_TABLE).decode().split())
    long_text = "".join(rng.choice(string.printable) for _ in range(20_000))  # past the stack buffer
    assert features._tokens(long_text) == long_text.lower().encode().translate(features._TABLE).decode().split()
    assert features.ascii_tokens("Ünïcode", features._TOKEN_MAP) is None  # the caller's Python path
    with pytest.raises(ValueError, match="128"):
        features.ascii_tokens("text", b"short")


_WITHOUT_C = """
import sys
sys.modules["gateway.classify._score"] = None  # as if the package had been installed without a C compiler
sys.modules["gateway.classify._scan"] = None
import json
from gateway.classify import classify
from gateway.classify.model import load_model
from gateway.classify.signals import _SCANNER
assert load_model().compiled is None
assert not _SCANNER.compiled
for line in sys.stdin:
    result = classify(json.loads(line))
    print(result.category, result.confidence)
"""


def test_without_the_compiled_module_the_python_path_classifies_the_same() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    from gateway.classify import classify

    bodies = [{"messages": [{"role": "user", "content": text}]} for text in TEXTS if text.strip()]
    bodies += [item.request for item in load_dev(dev_path())[:300]] if dev_path().exists() else []
    done = subprocess.run([sys.executable, "-c", _WITHOUT_C], input="\n".join(json.dumps(b) for b in bodies),
                          text=True, capture_output=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(bodies)
    for body, line in zip(bodies, lines, strict=True):
        category, confidence = line.split()
        ours = classify(body)
        assert ours.category == category
        assert abs(ours.confidence - float(confidence)) <= 2e-4  # both rounded to 4 places


def request_and_list_paths(body: dict) -> tuple[tuple[str, float], tuple[str, float]]:
    model = load_model()
    view = view_request(body)
    tokens = window_tokens(view.task)
    signals = compute_signals(view, tokens)
    offset = system_scores(view.system[:SIDE_CHARS])
    return model.predict_request(view, signals, tokens, offset), model.predict(featurize(view, signals, tokens,
                                                                                        with_system=False), offset)


def chat(text: str, *, history: bool = False, tools: bool = False) -> dict:
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    if history:
        messages += [{"role": "user", "content": "an earlier question about invoices"},
                     {"role": "assistant", "content": "an earlier answer"}]
    body: dict = {"messages": [*messages, {"role": "user", "content": text}]}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order"}}]
    return body


@pytest.mark.parametrize("text", TEXTS + ["Thanks! Different question: write a SQL query. Then explain it: slowly."])
@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("tools", [False, True])
def test_the_request_scorer_gives_the_same_doubles_as_featurize(text: str, history: bool, tools: bool) -> None:
    from_tokens, from_lists = request_and_list_paths(chat(text, history=history, tools=tools))
    assert from_tokens == from_lists  # the same groups, summed in the same order


@pytest.mark.skipif(not dev_path().exists(), reason="dev set not available")
def test_the_request_scorer_gives_the_same_doubles_on_every_dev_prompt() -> None:
    for item in load_dev(dev_path()):
        from_tokens, from_lists = request_and_list_paths(item.request)
        assert from_tokens == from_lists, item.request


def test_the_request_scorer_stems_what_the_memo_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.classify import features

    body = chat("Summarise the translations of these recordings, then catalogue the colours they mention.")
    features.STEM_MEMO.clear()
    assert request_and_list_paths(body)[0] == request_and_list_paths(body)[1]
    for token in ("translations", "catalogue", "colours"):
        assert features.STEM_MEMO[token] == features.stem_words([token])[0]
    # A full memo is cleared before the new stems go in, dropping some read earlier in the same call.
    monkeypatch.setattr(features, "_STEM_CACHE_MAX", 8)
    features.STEM_MEMO.clear()
    from_tokens, from_lists = request_and_list_paths(body)
    assert from_tokens == from_lists


def test_the_request_scorer_refuses_bad_input() -> None:
    scorer = load_model().compiled
    rows = len(load_model().index)
    args = [["a"], ["a"], [], [], None, (), False, False, {}, lambda tokens: None, rows, None]
    with pytest.raises(RuntimeError, match="stem"):  # a callback that stores nothing
        scorer.predict_request(*args)
    with pytest.raises(TypeError):
        scorer.predict_request([1], [1], [], [], None, (), False, False, {1: 1}, print, rows, None)
    with pytest.raises(TypeError):
        scorer.predict_request(["a"], ["a"], [], [], "not a list", (), False, False, {"a": "a"}, print, rows, None)
    with pytest.raises(TypeError, match="memo"):
        scorer.predict_request(["a"], ["a"], [], [], None, (), False, False, {"a": 1}, print, rows, None)
    with pytest.raises(ValueError, match="intercept"):
        scorer.predict_request(["a"], ["a"], [], [], None, (), False, False, {"a": "a"}, print, rows + 9, None)
    with pytest.raises(ValueError, match="64"):
        scorer.predict_request(["a"], ["a"], ["a"] * 65, [], None, (), False, False, {"a": "a"}, print, rows, None)
