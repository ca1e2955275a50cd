"""The signals' text scan in C (gateway/classify/_scan.c) against its Python twin (textscan.scan_python)."""

from __future__ import annotations

import random
from itertools import islice

import pytest

from gateway.classify import textscan
from gateway.classify.dataset import dev_path, load_dev
from gateway.classify.features import window_tokens
from gateway.classify.signals import _SCANNER, _TABLE, _window
from gateway.classify.textscan import NUMBER, Scanner, ScanTable
from gateway.classify.view import view_request

# Pieces that trip every check: needles in both cases, gate words, line starts, numbers, whitespace
# that str.strip()/split() treat specially, and text past the window and the line bounds.
PIECES = [needle for _, needle, _, _ in _TABLE.needles] + [
    needle.upper() for _, needle, _, _ in _TABLE.needles] + list(_TABLE.words) + list(_TABLE.code_starts) + list(
    _TABLE.file_starts) + ["12", "3.5", "4,000", "7%", "v2", "x9", ".5", "1.2.3", "_7", "a.py", "b.js", "\n", "\n\n",
                           " ", "\t", "\r\n", "\x0b", "\x1c", "\x1f", "\x00", "\x7f", ":", "Q: yes", "Alice: hi", "```"]


def facts(scanner: Scanner, task: str) -> tuple[textscan.Facts, textscan.Facts]:
    head = _window(task)
    head_tokens, tail_tokens = window_tokens(task)
    return (scanner.scan(task, head, head_tokens, tail_tokens),
            scanner.scan_python(task, head, head_tokens, tail_tokens))


def random_text(rng: random.Random) -> str:
    size = rng.choice([1, 3, 10, 40, 200, 900])  # up to ~10 KB: past the 4,000-character window
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", "\n"]) for _ in range(size))


def test_the_c_scanner_is_built_and_used() -> None:
    assert _SCANNER.compiled  # make test builds it; without a compiler the Python twin runs instead


def test_c_and_python_scans_agree_on_random_ascii_text() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        compiled, python = facts(_SCANNER, random_text(rng))
        assert compiled == python


@pytest.mark.skipif(not dev_path().exists(), reason="dev set not available")
def test_c_and_python_scans_agree_on_every_dev_prompt() -> None:
    for item in load_dev(dev_path()):
        task = view_request(item.request).task
        compiled, python = facts(_SCANNER, task)
        assert compiled == python, task[:200]


def test_non_ascii_text_takes_the_python_path() -> None:
    task = "Traduis en anglais : « Le colis est arrivé » Error: x\n# a.py\n# b.py"
    compiled, python = facts(_SCANNER, task)
    assert compiled == python
    assert _SCANNER._compiled.scan(task, task, [], []) is None


def test_numbers_are_counted_as_the_regex_finds_them() -> None:
    rng = random.Random(5)
    alphabet = "0123456789.,%_ax -"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        expected = len(list(islice(NUMBER.finditer(text), textscan.NUMBERS_COUNTED)))
        assert facts(_SCANNER, text + " end")[0][4] == expected, text


def test_a_gated_needle_needs_its_word() -> None:
    table = ScanTable()
    word = table.flag(["alter"])
    gated = table.find(textscan.LOW, ["add column"], gate=word)
    plain = table.find(textscan.HEAD, ["SELECT"])
    scanner = Scanner(table)
    assert facts(scanner, "please add column x")[0][0] == 0
    assert facts(scanner, "ALTER it: add column x")[0][0] == gated
    assert facts(scanner, "select a")[0][0] == 0  # HEAD is case-sensitive, LOW is not
    found, words, edges = facts(scanner, "SELECT a; alter")[0][:3]
    assert (found, words, edges) == (plain, word, word)


def test_lines_past_the_bounds_are_not_read() -> None:
    lines = ["return x"] * 30 + ["import os"] * 30 + ["Q: one", "A: two"]
    code, files, speakers = facts(_SCANNER, "\n".join(lines))[0][5:]
    assert code == _TABLE.head_lines + _TABLE.tail_lines - 2  # the last two lines are not code
    assert speakers == ["Q: one", "A: two"] and files == []


def test_bad_tables_are_refused() -> None:
    compiled = pytest.importorskip("gateway.classify._scan")
    with pytest.raises(ValueError, match="ASCII"):
        ScanTable().find(textscan.TASK, ["é"])
    table = ScanTable()
    for _ in range(64):
        table.find(textscan.TASK, ["x"])
    with pytest.raises(ValueError, match="64"):
        table.find(textscan.TASK, ["y"])
    with pytest.raises(ValueError, match="bit"):
        compiled.Scanner([(0, b"x", 0, 64)], {}, (), (), 70, 400, 28, 8, 1500)
    with pytest.raises(ValueError, match="place"):
        compiled.Scanner([(4, b"x", 0, 0)], {}, (), (), 70, 400, 28, 8, 1500)
    with pytest.raises(TypeError):
        compiled.Scanner([(0, "x", 0, 0)], {}, (), (), 70, 400, 28, 8, 1500)
    with pytest.raises(TypeError):
        compiled.Scanner([], {1: 1}, (), (), 70, 400, 28, 8, 1500)
    scanner = compiled.Scanner([], {}, (), (), 70, 400, 28, 8, 1500)
    with pytest.raises(TypeError):
        scanner.scan("text", "text", [1], [1])


def test_every_signal_still_fires_where_the_regex_confirms_it() -> None:
    # The confirmations stay in Python: a needle alone is not enough.
    from gateway.classify.signals import compute_signals

    view = view_request({"messages": [{"role": "user", "content": 'at ", line x and Error here'}]})
    assert "stack_trace" not in compute_signals(view) and "error_line" not in compute_signals(view)
    view = view_request({"messages": [{"role": "user", "content": 'File "a.py", line 3\nValueError: bad'}]})
    assert {"stack_trace", "error_line"} <= set(compute_signals(view))
