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


# ---- preferences, savings, missing scores -------------------------------------------------

TWO = Traffic("two", {"N2": CategoryTraffic(0.5, 1000, 100, 0.0), "P1": CategoryTraffic(0.5, 1000, 100, 0.0)})
V4 = Decimal("0.002088")     # 1000 x $1.74 + 100 x $3.48 per 1M
FLASH = Decimal("0.000168")  # 1000 x $0.14 + 100 x $0.28 per 1M
OPUS = Decimal("0.0075")     # 1000 x $5 + 100 x $25 per 1M


def test_simulate_each_preference_by_hand():
    catalogue = load_catalogue(POLICIES)
    policy, scores = load_policy(POLICIES, catalogue), load_scores(POLICIES)
    balanced = simulate(policy, TWO, catalogue, scores, SATURDAY)
    assert [r.model for r in balanced.rows] == ["deepseek-v4-pro", "claude-opus-4.7"]
    assert balanced.cost_per_million == (V4 + OPUS) / 2 * 10**6 == Decimal(4794)
    # N2 is a substitute category with Flash as its cheap route; P1 (do not substitute) stays on Opus
    cheapest = simulate(policy, TWO, catalogue, scores, SATURDAY, "cheapest")
    assert [r.model for r in cheapest.rows] == ["deepseek-v4-flash", "claude-opus-4.7"]
    assert cheapest.cost_per_million == (FLASH + OPUS) / 2 * 10**6 == Decimal(3834)
    assert cheapest.quality is None  # Flash has no SMQTS score: quality unknown, not invented
    assert abs(cheapest.saving_vs_opus - (1 - 3834 / 7500)) < 1e-12
    # quality takes the frontier model a substitution was judged against (N2: Opus)
    quality = simulate(policy, TWO, catalogue, scores, SATURDAY, "quality")
    assert [r.model for r in quality.rows] == ["claude-opus-4.7", "claude-opus-4.7"]
    assert quality.cost_per_million == Decimal(7500) and quality.quality == 0.5 * 91 + 0.5 * 94
    assert quality.saving_vs_opus == 0.0 and quality.saving_vs_best == 0.0  # Opus is best on N2 and P1
    with pytest.raises(ValueError, match="preference"):
        simulate(policy, TWO, catalogue, scores, SATURDAY, "frugal")


def two_traffic(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text("categories:\n"
                    "  N2: {share: 0.5, input_tokens: 1000, output_tokens: 100, cache_hit_rate: 0}\n"
                    "  P1: {share: 0.5, input_tokens: 1000, output_tokens: 100, cache_hit_rate: 0}\n")
    return path


def test_simulate_and_diff_show_savings_vs_all_opus_and_always_best(tmp_path):
    runner = CliRunner()
    traffic, at = str(two_traffic(tmp_path)), "2026-04-25T12:00"
    result = runner.invoke(app, ["policy", "simulate", str(POLICIES), "--traffic", traffic, "--at", at,
                                 "--preference", "cheapest"])
    assert result.exit_code == 0, result.output
    assert "preference cheapest" in result.output and "$3,834.00" in result.output
    assert "all-Opus: $7,500.00 -> saving 48.9% (1.96x cheaper)" in result.output      # 1 - 3834/7500
    assert "always-best model: $7,500.00 -> saving 48.9%" in result.output
    changed = tmp_path / "policies"
    shutil.copytree(POLICIES, changed)
    routing = changed / "routing.yaml"
    routing.write_text(routing.read_text().replace("  N2:\n    verdict: substitute\n    route: deepseek-v4-pro",
                                                   "  N2:\n    verdict: do_not_substitute\n    route: claude-opus-4.7"))
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(changed), "--traffic", traffic, "--at", at])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "cost per 1M requests: $4,794.00 -> $7,500.00 (+56.4%)" in lines                # 7500/4794 - 1
    assert "saving vs all-Opus: 36.1% -> 0.0% (1.56x -> 1.00x cheaper)" in lines           # 1 - 4794/7500
    assert "saving vs always-best: 36.1% -> 0.0%" in lines


def test_diff_against_a_base_without_scores_uses_the_new_table(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(POLICIES, old)
    (old / "scores.yaml").unlink()
    traffic, at = str(two_traffic(tmp_path)), "2026-04-25T12:00"
    result = CliRunner().invoke(app, ["policy", "diff", str(old), str(POLICIES), "--traffic", traffic, "--at", at])
    assert result.exit_code == 0, result.output
    assert "has no scores.yaml" in result.output and "expected quality: 90.00 -> 90.00" in result.output  # 0.5 x 86 + 0.5 x 94
    result = CliRunner().invoke(app, ["policy", "simulate", str(old), "--traffic", traffic])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "scores.yaml: not found" in result.output


def test_load_scores_rejects_malformed_tables(tmp_path):
    from gateway.policy.simulate import ScoresError

    for text in ("scores: [1, 2]", "scores:\n  m: {P1: high}", "scores:\n  m: {Q7: 80}", "- 1", "scores: {m: {P1: true}}"):
        (tmp_path / "scores.yaml").write_text(text)
        with pytest.raises(ScoresError, match="scores"):
            load_scores(tmp_path)


@pytest.mark.parametrize("file, old, new, expected", [
    ("routing.yaml", "guards:\n  recall_limit_tokens: 500000", "guards: [1]\nx:\n  recall_limit_tokens: 500000",
     "routing.yaml:26: guards: must be a mapping"),
    ("routing.yaml", "    excluded_jurisdictions: [CN]", "    excluded_jurisdictions: CN",
     "teams.us-only.excluded_jurisdictions: must be a list"),
    ("models.yaml", "aliases:", "aliases: [x]\nunused:", "models.yaml"),
])
def test_check_prints_messages_never_a_traceback(tmp_path, file, old, new, expected):
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    text = (directory / file).read_text()
    assert old in text
    (directory / file).write_text(text.replace(old, new, 1))
    result = CliRunner().invoke(app, ["policy", "check", str(directory)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert expected in result.output and "Traceback" not in result.output


# ---- the pull-request workflow -------------------------------------------------------------

FAKE_GATEWAY = """#!/bin/sh
echo "partial $*"
case "$2" in diff) [ -n "$FAIL_DIFF" ] && exit 1;; esac
exit 0
"""


def run_step(tmp_path: Path, name: str, fail_diff: bool) -> tuple[int, str]:
    """Run one workflow step's script the way GitHub does, against fake git and gateway commands."""
    import os
    import subprocess

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "policy.yml").read_text())
    step = next(s for s in workflow["jobs"]["policy"]["steps"] if s.get("name", "").startswith(name))
    shell = step.get("shell") or workflow.get("defaults", {}).get("run", {}).get("shell")
    # GitHub's documented invocations: `bash -e {0}` by default, `bash --noprofile --norc -eo pipefail {0}`
    # when the shell is named.
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail"] if shell == "bash" else ["bash", "-e"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool, body in (("gateway", FAKE_GATEWAY), ("git", "#!/bin/sh\nexit 0\n")):
        (bin_dir / tool).write_text(body)
        (bin_dir / tool).chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(step["run"].replace("${{ github.base_ref }}", "main"))
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary),
           "FAIL_DIFF": "1" if fail_diff else ""}
    done = subprocess.run([*command, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    return done.returncode, summary.read_text()


def test_a_failing_diff_fails_the_step_and_publishes_no_table(tmp_path):
    code, summary = run_step(tmp_path, "Diff against the base branch", fail_diff=True)
    assert code != 0
    assert "Routing policy change" not in summary  # no truncated table


def test_the_diff_table_goes_to_the_job_summary(tmp_path):
    code, summary = run_step(tmp_path, "Diff against the base branch", fail_diff=False)
    assert code == 0
    assert "## Routing policy change" in summary and "partial policy diff" in summary
    assert "partial policy simulate" in summary and (tmp_path / "policy-diff.md").read_text() == summary


def test_the_comment_step_cannot_fail_a_fork_pull_request():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "policy.yml").read_text())
    comment = next(s for s in workflow["jobs"]["policy"]["steps"] if s.get("name") == "Comment on the pull request")
    assert comment["continue-on-error"] is True
    assert "head.repo.full_name == github.repository" in comment["if"]


def test_commands_read_the_policies_from_gateway_policies_dir(tmp_path, monkeypatch):
    # As `gateway serve` does: with no directory named, GATEWAY_POLICIES_DIR decides (and its traffic mix).
    copy = tmp_path / "elsewhere"
    shutil.copytree(POLICIES, copy)
    monkeypatch.chdir(tmp_path)  # no ./policies here
    runner = CliRunner()
    assert runner.invoke(app, ["policy", "check"]).exit_code == 1
    env = {"GATEWAY_POLICIES_DIR": str(copy)}
    checked = runner.invoke(app, ["policy", "check"], env=env)
    assert checked.exit_code == 0 and "20 categories" in checked.output, checked.output
    simulated = runner.invoke(app, ["policy", "simulate"], env=env)
    assert simulated.exit_code == 0 and str(copy / "traffic" / "sample-mix.yaml") in simulated.output
    blended = runner.invoke(app, ["policy", "blend", "--share", "deepseek-v4-pro=lots"], env=env)
    assert blended.exit_code == 2 and "expected MODEL=FRACTION" in blended.output
