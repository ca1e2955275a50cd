"""The policy commands a pull request runs, and the simulator's arithmetic checked by hand."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gateway.catalogue import load_catalogue
from gateway.cli import app
from gateway.policy import load_policy
from gateway.policy.optimize import MEASURED, Infeasible, optimize
from gateway.policy.simulate import CategoryTraffic, Traffic, evaluate, load_scores, simulate

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
TRAFFIC = POLICIES / "traffic" / "sample-mix.yaml"
SATURDAY = datetime(2026, 4, 25, 12, tzinfo=UTC)  # before the off-peak tariff: flat April prices


def test_simulate_arithmetic_by_hand():
    catalogue = load_catalogue(POLICIES)
    scores = load_scores(POLICIES)
    mix = Traffic("two", {"N4": CategoryTraffic(0.5, 1000, 100, 0.0), "P1": CategoryTraffic(0.5, 1000, 100, 0.0)})
    report = evaluate({"N4": "deepseek-v4-pro", "P1": "claude-opus-4.7"}, mix, catalogue, scores, SATURDAY)
    v4 = Decimal("1000") * Decimal("1.74") / 10**6 + Decimal("100") * Decimal("3.48") / 10**6   # 0.002088
    opus = Decimal("1000") * 5 / Decimal(10**6) + Decimal("100") * 25 / Decimal(10**6)          # 0.0075
    assert report.cost_per_million == (v4 / 2 + opus / 2) * 10**6                                 # 4794
    assert report.all_opus_cost_per_million == opus * 10**6
    assert report.quality == 0.5 * 85 + 0.5 * 94
    assert report.all_best_quality == 0.5 * 89 + 0.5 * 94  # N4's best is Opus (89)
    assert abs(report.saving_vs_opus - float(1 - Decimal(4794) / Decimal(7500))) < 1e-9


def test_shipped_policy_simulates_and_optimiser_keeps_measured_verdicts():
    catalogue = load_catalogue(POLICIES)
    policy = load_policy(POLICIES, catalogue)
    scores = load_scores(POLICIES)
    from gateway.policy.simulate import load_traffic

    mix = load_traffic(TRAFFIC)
    report = simulate(policy, mix, catalogue, scores, SATURDAY)
    assert report.cost_per_million < report.all_opus_cost_per_million
    proposal = optimize(policy, mix, catalogue, scores, SATURDAY, 0.95, 80)
    for category in MEASURED:
        assert proposal[category] == policy.categories[category].route
    proposed = evaluate(proposal, mix, catalogue, scores, SATURDAY)
    assert proposed.quality >= 0.95 * proposed.all_best_quality
    assert all(row.quality >= 80 for row in proposed.rows)
    strict = optimize(policy, mix, catalogue, scores, SATURDAY, 0.98, 0)
    assert evaluate(strict, mix, catalogue, scores, SATURDAY).quality >= 0.98 * report.all_best_quality
    # the measured substitutions (N2, N4, P5 on V4 Pro) cap the mix at ~98.5% of always-best
    with pytest.raises(Infeasible):
        optimize(policy, mix, catalogue, scores, SATURDAY, 0.99, 0)


def test_check_diff_optimize_commands(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["policy", "check", str(POLICIES)])
    assert result.exit_code == 0 and "20 categories" in result.output
    changed = tmp_path / "policies"
    shutil.copytree(POLICIES, changed)
    routing = changed / "routing.yaml"
    routing.write_text(routing.read_text().replace(
        "  N9:\n    verdict: substitute\n    route: deepseek-v4-pro",
        "  N9:\n    verdict: do_not_substitute\n    route: claude-opus-4.7"))
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(changed), "--traffic", str(TRAFFIC)])
    assert result.exit_code == 0, result.output
    n9 = next(line for line in result.output.splitlines() if line.startswith("N9"))
    assert "deepseek-v4-pro" in n9 and "claude-opus-4.7" in n9 and n9.endswith("*")
    output = tmp_path / "proposed.yaml"
    result = runner.invoke(app, ["policy", "optimize", str(POLICIES), "--traffic", str(TRAFFIC),
                                 "--min-quality", "0.95", "--floor", "80", "--output", str(output)])
    assert result.exit_code == 0, result.output
    proposed = yaml.safe_load(output.read_text())
    assert set(proposed["categories"]) == set(yaml.safe_load((POLICIES / "routing.yaml").read_text())["categories"])
    assert "ASSUMPTION" in output.read_text()  # Gemini's input price is flagged
    (changed / "routing.yaml").write_text(output.read_text())
    assert runner.invoke(app, ["policy", "check", str(changed)]).exit_code == 0
    bad = runner.invoke(app, ["policy", "check", str(tmp_path)])
    assert bad.exit_code == 1


def test_policy_workflow_runs_check_and_diff():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "policy.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["policy"]["steps"])
    assert "gateway policy check policies" in script and "gateway policy diff" in script


def test_blend_checks_the_documents_70_30_claim():
    result = CliRunner().invoke(app, ["policy", "blend", "--share", "deepseek-v4-pro=0.7",
                                      "--share", "claude-opus-4.7=0.3", "--traffic", str(TRAFFIC)])
    assert result.exit_code == 0 and "x cheaper" in result.output
