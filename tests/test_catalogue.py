"""The shipped catalogue holds what the configuration contract promises; a malformed one is refused
with `file:line: path: message` for every wrong shape, type, unknown or duplicate key."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
import shutil
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from gateway.catalogue import CatalogueError, load_catalogue, parse_catalogue
from gateway.yamllines import line_of, load_with_lines

POLICIES = Path(__file__).resolve().parents[1] / "policies"
SNAPSHOT = Path(__file__).with_name("catalogue_snapshot.json")
LOCATED = re.compile(r"^[^:]*models\.yaml:(\d+): \S")


def test_required_models_and_deployments():
    catalogue = load_catalogue(POLICIES)
    assert {"deepseek-v4-pro", "deepseek-v4-flash", "claude-opus-4.7", "gpt-5.5", "gemini-3.1-pro",
            "local-worker"} <= set(catalogue.models)
    operators = {d.operator for d in catalogue.models["deepseek-v4-pro"].deployments}
    assert operators == {"deepseek", "together", "fireworks", "self"}
    for model in catalogue.models.values():
        for d in model.deployments:
            assert d.base_url.startswith("http") and d.api_key_env and d.upstream_model
            assert d.region and d.jurisdiction and d.context_window > 0
            assert all(entry.source for entry in d.prices)
    assert catalogue.resolve("frontier").name == "claude-opus-4.7"
    assert catalogue.baseline().model == "claude-opus-4.7"


def test_baseline_override():
    assert load_catalogue(POLICIES, "gpt-5.5").baseline().model == "gpt-5.5"
    with pytest.raises(CatalogueError, match="override 'gpt-9' .GATEWAY_BASELINE_MODEL. is not a model"):
        load_catalogue(POLICIES, "gpt-9")


def test_simulated_catalogue_keeps_prices_and_needs_no_keys():
    catalogue = load_catalogue(POLICIES).simulated()
    for model in catalogue.models.values():
        for d in model.deployments:
            assert d.provider == "simulated" and not d.key_required and d.prices


# ---- the strict loader builds the same catalogue as the loose one did ------------------------


def plain(value):
    """Every field of the runtime dataclasses as JSON-able data, Decimals by their exact digits.

    Private fields are values derived from the others (precomputed off-peak rates) and skipped."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal | datetime):
        return str(value)
    return value


def test_shipped_catalogue_is_unchanged_by_the_strict_loader():
    """catalogue_snapshot.json was written by the loader before the strict schema: every model,
    deployment field and price entry (rates to the Decimal digit, tiers, windows) must match.
    After an intended change to models.yaml, rewrite it: python -m tests.test_catalogue."""
    expected = json.loads(SNAPSHOT.read_text())
    actual = plain(load_catalogue(POLICIES))
    assert actual.keys() == expected.keys() and actual["models"].keys() == expected["models"].keys()
    for name, model in expected["models"].items():
        assert actual["models"][name] == model, name
    assert actual == expected
    self_hosted = load_catalogue(POLICIES).deployment("local-worker@self-hosted").prices[0]
    assert (self_hosted.rates.input, self_hosted.rates.output) == (Decimal("0.034722"), Decimal("0.578704"))


# ---- invalid catalogues -----------------------------------------------------------------------


ONE_PRICE = [{"effective": "2026-01-01", "input": 1, "output": 1, "source": "s"}]


def minimal(**deployment):
    return {"baseline_model": "m", "models": {"m": {"context_window": 1, "deployments": [
        {"name": "a", "provider": "simulated", "prices": ONE_PRICE, **deployment}]}}}


@pytest.mark.parametrize("raw, fragment", [
    ({}, "(document): 'models' is required"),
    ([1], "(document): expected a mapping with 'models'"),
    (None, "(document): expected a mapping with 'models'"),
    ({"models": {"m": {"deployments": []}}}, "models.m: 'context_window' is required"),
    ({"models": {"m": {"context_window": 1, "deployments": []}}, "baseline_model": "m"},
     "models.m.deployments: list at least one deployment"),
    (minimal(provider="grpc"), "models.m.deployments[0].provider: must be one of"),
    ({**minimal(), "aliases": {"x": "nope"}}, "aliases.x: 'nope' is not a model"),
    ({**minimal(), "aliases": {"m": "m"}}, "aliases.m: an alias cannot shadow"),
    ({**minimal(), "baseline_model": "z"}, "baseline_model: 'z' is not a model"),
    (minimal(provider="openai_compat"), "deployments[0]: deployment 'a' needs a base_url"),
    (minimal(simulation={"failure_rate": 2}), "simulation.failure_rate: must be at most 1"),
    (minimal(simulation={"latency": 5}), "simulation.latency: unknown key; use one of failure_rate"),
    (minimal(self_hosted_cost={"gpu_hour_usd": 1}), "self_hosted_cost: 'input_tokens_per_s' is required"),
    (minimal(prices=[{**ONE_PRICE[0], "tiers": [{"above_prompt_tokens": 5, "input": True}]}]),
     "prices[0].tiers[0].input: must be a number"),
    (minimal(prices=[{**ONE_PRICE[0], "off_peak": {"multiplier": 0.5, "peak_utc": [{"hours": "1-2"}]}}]),
     "prices[0].off_peak.peak_utc[0].hours: expected 'HH:MM-HH:MM', got '1'"),
    (minimal(prices=[{**ONE_PRICE[0], "off_peak": {"multiplier": 0.5, "peak": []}}]),
     "prices[0].off_peak.peak: unknown key; use one of multiplier, peak_utc"),
    (minimal(prices=[{**ONE_PRICE[0], "source": ""}]), "prices[0]: 'source' (where the price comes from)"),
    (minimal(prices=[{**ONE_PRICE[0], "effective": "someday"}]), "prices[0].effective: expected a date"),
    (minimal(prices=[{**ONE_PRICE[0], "output": float("nan")}]), "prices[0].output: must be a number"),
    ({"models": {7: {}}}, "a name here must be a string, got 7"),
])
def test_invalid_catalogue_errors(raw, fragment):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(raw)
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_not_just_the_first():
    raw = minimal(provider="openai_compat", base_url="ftp://x", prices=[{**ONE_PRICE[0], "input": -1}])
    raw["models"]["m"]["deployments"].append({**raw["models"]["m"]["deployments"][0], "base_url": "http://x"})
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(raw)
    assert [p.split(": ", 1)[1] for p in caught.value.problems] == [
        "models.m.deployments[0].prices[0].input: a price cannot be negative (-1)",
        "models.m.deployments[0].base_url: must be an http:// or https:// URL, got 'ftp://x'",
        "models.m.deployments[1].prices[0].input: a price cannot be negative (-1)",
        "models.m.deployments[1].name: deployment name 'a' is used twice (first at models.m.deployments[0])",
    ]


def test_missing_policies_dir_says_which_variable(tmp_path):
    with pytest.raises(CatalogueError, match="GATEWAY_POLICIES_DIR"):
        load_catalogue(tmp_path / "nowhere")


# ---- errors point at the line of models.yaml ------------------------------------------------


def write_models(tmp_path: Path, text: str) -> Path:
    (tmp_path / "models.yaml").write_text(text)
    return tmp_path


def mutate(old: str, new: str) -> str:
    text = (POLICIES / "models.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


def line_number(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


OPUS = "models.claude-opus-4.7.deployments[0]"
TOGETHER = "models.deepseek-v4-pro.deployments[1]"
WORKER = "models.local-worker.deployments[0]"


@pytest.mark.parametrize("old, new, where, message, at", [
    # wrong shapes that used to escape as AttributeError / TypeError
    ("aliases:", "aliases: [x]\nunused:", "aliases", "must be a mapping", None),
    ("  local-worker:\n", "  local-worker: [x]\n  unused:\n", "models.local-worker", "must be a mapping", None),
    ("      - name: gemini-3.1-pro@google\n", "      - gemini-3.1-pro@google\n      - name: gemini-3.1-pro@google\n",
     "models.gemini-3.1-pro.deployments[0]", "must be a mapping, got a string", None),
    ("        replicas: [http://127.0.0.1:8001/v1, http://127.0.0.1:8002/v1]",
     "        replicas: http://127.0.0.1:8001/v1", f"{WORKER}.replicas", "must be a list", None),
    ("          gpus: 1\n", "          gpus: [1]\n", f"{WORKER}.self_hosted_cost.gpus", "must be a number", None),
    ("            input: 5.00\n            cached_input: 0.50\n            cache_write: 6.25",
     "            input: {usd: 5}\n            cached_input: 0.50\n            cache_write: 6.25",
     f"{OPUS}.prices[0].input", "must be a number", None),
    # values that used to be accepted and misread
    ("        self_hosted: true\n        prices:", '        self_hosted: "yes"\n        prices:',
     "models.deepseek-v4-pro.deployments[3].self_hosted", "must be true or false", None),
    ("        key_required: false\n        upstream_model: local", '        key_required: "false"\n'
     "        upstream_model: local", f"{WORKER}.key_required", "must be true or false", None),
    ("            input: 2.00\n            output: 4.00", '            input: "2.00"\n            output: 4.00',
     f"{TOGETHER}.prices[0].input", "must be a number", None),
    ("            input: 2.00\n            output: 4.00", "            input: true\n            output: 4.00",
     f"{TOGETHER}.prices[0].input", "must be a number", None),
    ("    context_window: 32768", "    context_window: 32K", "models.local-worker.context_window",
     "must be a valid integer, got '32K'", None),
    ("    context_window: 32768", "    context_window: 0", "models.local-worker.context_window",
     "must be greater than 0", None),
    ("              - above_prompt_tokens: 272000", "              - above_prompt_tokens: 272000.5",
     "models.gpt-5.5.deployments[0].prices[0].tiers[0].above_prompt_tokens", "must be a valid integer", None),
    ("        operator: together", "        operator: 7", f"{TOGETHER}.operator", "must be a valid string", None),
    ("        provider: anthropic", "        provider: grpc", f"{OPUS}.provider", "must be one of", None),
    ("  cheap: deepseek-v4-flash", "  cheap: [deepseek-v4-flash]", "aliases.cheap", "must be a valid string", None),
    ("          cached_fraction: 0.1", "          cached_fraction: 10", f"{WORKER}.self_hosted_cost.cached_fraction",
     "must be at most 1", None),
    ("          gpu_hour_usd: 2.50", "          gpu_hour_usd: 0", f"{WORKER}.self_hosted_cost.gpu_hour_usd",
     "must be greater than 0", None),
    # semantics, still at the line
    ("              multiplier: 0.5", "              multiplier: half",
     "models.deepseek-v4-pro.deployments[0].prices[1].off_peak.multiplier", "must be a number", None),
    ('                - {days: mon-fri, hours: "01:00-04:00"}', '                - {days: mon-fri, hours: "1am-4am"}',
     "models.deepseek-v4-pro.deployments[0].prices[1].off_peak.peak_utc[0].hours", "expected 'HH:MM-HH:MM'", None),
    ('                - {days: mon-fri, hours: "01:00-04:00"}', '                - {days: weekend, hours: "01:00-04:00"}',
     "models.deepseek-v4-pro.deployments[0].prices[1].off_peak.peak_utc[0].days", "cannot read 'weekend'", None),
    ("          - effective: 2026-04-16", "          - effective: soon", f"{OPUS}.prices[0].effective",
     "expected a date like 2026-08-16, got 'soon'", None),
    ("          - effective: 2026-04-16", "          - effective: 20260416", f"{OPUS}.prices[0].effective",
     "must be a date like 2026-08-16", None),
    ("        base_url: https://api.together.xyz/v1", "        base_url: api.together.xyz/v1", f"{TOGETHER}.base_url",
     "must be an http:// or https:// URL", None),
    ("      - name: deepseek-v4-pro@fireworks", "      - name: deepseek-v4-pro@together  # again",
     "models.deepseek-v4-pro.deployments[2].name", "is used twice", None),
    ("baseline_model: claude-opus-4.7", "baseline_model: claude-opus-5", "baseline_model", "not a model", None),
    ("        provider: anthropic\n", "", OPUS, "'provider' is required", "name: claude-opus-4.7@anthropic"),
    ("            source: \"seeds 000/002 ($5 / $25); Anthropic price page (cache read 0.1x, 5-minute write 1.25x, "
     "1-hour write 2x)\"\n", "", f"{OPUS}.prices[0]", "'source' is required", "effective: 2026-04-16"),
    # unknown keys
    ("        upstream_model: claude-opus-4-7", "        upstream_modle: claude-opus-4-7", f"{OPUS}.upstream_modle",
     "unknown key; use one of name, provider, base_url", None),
    ("          gpus: 1\n", "          gpu: 1\n", f"{WORKER}.self_hosted_cost.gpu",
     "unknown key; use one of effective, gpu_hour_usd, gpus", None),
    ("                cached_input: 1.00", "                cached: 1.00",
     "models.gpt-5.5.deployments[0].prices[0].tiers[0].cached", "unknown key; use one of input", None),
    ("aliases:", "alias:", "alias", "unknown key; use one of baseline_model, aliases, models", None),
])
def test_wrong_shapes_and_types_are_catalogue_errors_at_their_line(tmp_path, old, new, where, message, at):
    text = mutate(old, new)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write_models(tmp_path, text))
    problem = next((p for p in caught.value.problems if f": {where}: " in p), caught.value.problems)
    assert message in problem, problem
    changed = at or next(line for line in new.split("\n") if line and line not in old.split("\n"))
    assert problem.startswith(f"{tmp_path}/models.yaml:{line_number(text, changed.strip())}: "), problem


def test_no_wrong_value_anywhere_escapes_as_anything_but_a_catalogue_error():
    """Every value in the shipped file (scalars and whole mappings or lists), replaced by each wrong
    kind of value: a catalogue, or a CatalogueError whose problems all carry a line and one of which
    points at the replaced value or a mapping above it."""
    raw, lines = load_with_lines((POLICIES / "models.yaml").read_text())
    refused = 0
    for path in [p for p in lines if p]:
        near = {line_of(lines, path[:n]) for n in range(1, len(path) + 1)}  # the value and what holds it
        near |= {line for p, line in lines.items() if p[:len(path)] == path}  # and what it held
        for wrong in (["x"], "x", "", 7, -1, 1.5, True, None, {"x": 1}, "2026-13-45"):
            mutated = copy.deepcopy(raw)
            target = mutated
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = wrong
            try:
                parse_catalogue(mutated, lines)
            except CatalogueError as exc:
                refused += 1
                found = [LOCATED.match(p) for p in exc.problems]
                assert exc.problems and all(found), (path, wrong, exc.problems)
                assert near & {int(m.group(1)) for m in found}, (path, wrong, exc.problems)
    assert refused > 1000


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    text = mutate("        operator: openai\n", "        operator: openai\n        operator: microsoft\n")
    text = text.replace("  gemini-3.1-pro:\n", "  gpt-5.5:\n    context_window: 1\n  gemini-3.1-pro:\n", 1)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write_models(tmp_path, text))
    repeat = line_number(text, "operator: microsoft")
    first_gpt, second_gpt = (i for i, line in enumerate(text.splitlines(), 1) if line == "  gpt-5.5:")
    assert caught.value.problems == [
        f"{tmp_path}/models.yaml:{repeat}: models.gpt-5.5.deployments[0].operator: duplicate key (first on line "
        f"{repeat - 1}); YAML would silently keep only one of them",
        f"{tmp_path}/models.yaml:{second_gpt}: models.gpt-5.5: duplicate key (first on line {first_gpt}); "
        "YAML would silently keep only one of them",
    ]


@pytest.mark.parametrize("text, expected", [
    ("models:\n  m:\n\tcontext_window: 1\n", "models.yaml:3: not valid YAML"),
    ("", "models.yaml:1: (document): expected a mapping with 'models'"),
    ("- a\n- b\n", "models.yaml:1: (document): expected a mapping with 'models'"),
    ("models:\n  m: {context_window: 1, deployments: []}\n  [a]: 1\n", "models.yaml:3: not valid YAML: a mapping key must be"),
])
def test_unreadable_documents_report_their_line(tmp_path, text, expected):
    with pytest.raises(CatalogueError, match=re.escape(expected)):
        load_catalogue(write_models(tmp_path, text))


# ---- what operators see: `gateway policy check` and hot reload -----------------------------

BAD = [
    ("        self_hosted: true\n        prices:", '        self_hosted: "yes"\n        prices:', '"yes"',
     "models.deepseek-v4-pro.deployments[3].self_hosted: must be true or false"),
    ("aliases:", "aliases: [x]\nunused:", "aliases: [x]", "aliases: must be a mapping"),
    ("          gpus: 1\n", "          gpus: {n: 1}\n", "gpus: {n: 1}", "models.local-worker.deployments[0].self_hosted_cost.gpus: must be a number"),
    ("        operator: openai\n", "        operator: openai\n        operator: microsoft\n", "operator: microsoft",
     "models.gpt-5.5.deployments[0].operator: duplicate key"),
]


def copied(tmp_path: Path, old: str, new: str) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    (directory / "models.yaml").write_text(mutate(old, new))
    return directory


@pytest.mark.parametrize("old, new, line, expected", BAD)
def test_policy_check_prints_the_line_never_a_traceback(tmp_path, old, new, line, expected):
    from gateway.cli import app

    directory = copied(tmp_path, old, new)
    result = CliRunner().invoke(app, ["policy", "check", str(directory)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    number = line_number((directory / "models.yaml").read_text(), line)
    assert f"models.yaml:{number}: {expected}" in result.output, result.output
    assert "Traceback" not in result.output and "invalid (" not in result.output


@pytest.mark.parametrize("old, new, line, expected", BAD)
def test_hot_reload_refuses_a_malformed_catalogue_with_its_line(tmp_path, caplog, old, new, line, expected):
    from gateway.policy import load_policy
    from gateway.policy.watcher import PolicyWatcher

    directory = copied(tmp_path, "baseline_model:", "baseline_model:")
    catalogue = load_catalogue(directory)
    ctx = SimpleNamespace(settings=SimpleNamespace(policies_dir=directory, baseline_model=None, simulate=False),
                          catalogue=catalogue, policy=load_policy(directory, catalogue))
    running = (ctx.catalogue, ctx.policy)
    (directory / "models.yaml").write_text(mutate(old, new))
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert PolicyWatcher(ctx).reload_now() is False
    assert (ctx.catalogue, ctx.policy) == running
    number = line_number((directory / "models.yaml").read_text(), line)
    assert "policy change refused, keeping the running policy" in caplog.text
    assert f"models.yaml:{number}: {expected}" in caplog.text and "unexpected error" not in caplog.text


if __name__ == "__main__":  # rewrite the snapshot after an intended change to models.yaml
    SNAPSHOT.write_text(json.dumps(plain(load_catalogue(POLICIES)), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {SNAPSHOT}")
