"""decide(): every constraint and guard; policy validation errors point at the YAML line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.catalogue import load_catalogue
from gateway.errors import InvalidRequest, ModelNotFound, NoDeploymentAvailable, PermissionDenied
from gateway.policy import CATEGORIES, Classified, Constraints, PolicyError, RequestFacts, decide, load_policy

POLICIES = Path(__file__).resolve().parents[1] / "policies"
CATALOGUE = load_catalogue(POLICIES)
POLICY = load_policy(POLICIES, CATALOGUE)
AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPEN = Constraints()


def facts(model="auto", prompt=1000, max_out=None, tools=False):
    return RequestFacts(model, prompt, max_out, tools)


def plan_for(category, confidence=0.9, constraints=OPEN, **kwargs):
    return decide(POLICY, CATALOGUE, Classified(category, confidence), kwargs.pop("f", facts()), constraints, AT,
                  **kwargs)


def test_measured_verdicts_come_from_the_documents():
    expected = {"N4": ("substitute", "deepseek-v4-pro"), "N2": ("substitute", "deepseek-v4-pro"),
                "P5": ("substitute", "deepseek-v4-pro"), "P1": ("do_not_substitute", "claude-opus-4.7"),
                "N3": ("do_not_substitute", "gemini-3.1-pro"), "P10": ("do_not_substitute", "gpt-5.5")}
    for category, (verdict, model) in expected.items():
        plan = plan_for(category)
        assert (plan.verdict, plan.model.name) == (verdict, model), category
        assert plan.category == category and plan.reasons


def test_every_category_routes_and_has_evidence():
    for category in CATEGORIES:
        plan = plan_for(category)
        assert plan.attempts and POLICY.categories[category].evidence
        assert plan.attempts[0].deployment.model == plan.model.name


def test_the_rule_for_the_other_fourteen_is_the_nine_point_gap():
    import yaml
    scores = yaml.safe_load((POLICIES / "scores.yaml").read_text())["scores"]
    measured = {"N4", "N2", "P5", "P1", "N3", "P10"}
    for category in set(CATEGORIES) - measured:
        frontier = max((m for m in scores if m != "deepseek-v4-pro" and category in scores[m]),
                       key=lambda m: scores[m][category])
        gap = scores[frontier][category] - scores["deepseek-v4-pro"][category]
        rule = POLICY.categories[category]
        if gap <= 9:
            assert (rule.verdict, rule.route) == ("substitute", "deepseek-v4-pro"), category
        else:
            assert (rule.verdict, rule.route) == ("do_not_substitute", frontier), category


def test_low_confidence_takes_the_uncertain_route():
    plan = plan_for("N2", confidence=0.1)
    assert plan.verdict == "uncertain" and plan.model.name == "gemini-3.1-pro"
    assert "below" in plan.reasons[0]


def test_self_hosted_only_goes_to_a_self_hosted_deployment():
    plan = plan_for("P1", constraints=Constraints(self_hosted_only=True))
    assert all(a.deployment.self_hosted for a in plan.attempts)
    assert plan.model.name == "deepseek-v4-pro" and "last-resort" in plan.reasons[-2]


def test_excluded_jurisdiction_serves_v4_weights_from_a_us_host():
    plan = plan_for("N4", constraints=Constraints(excluded_jurisdictions=frozenset({"CN"})))
    assert plan.model.name == "deepseek-v4-pro"
    assert plan.attempts[0].deployment.name == "deepseek-v4-pro@together"
    assert all(a.deployment.jurisdiction != "CN" for a in plan.attempts)


def test_excluded_operator():
    plan = plan_for("P1", constraints=Constraints(excluded_operators=frozenset({"anthropic"})))
    assert plan.model.name == "gpt-5.5"


def test_preferences():
    assert plan_for("N2", constraints=Constraints(preference="cheapest")).model.name == "deepseek-v4-flash"
    assert plan_for("P1", constraints=Constraints(preference="cheapest")).model.name == "claude-opus-4.7"
    assert plan_for("N2", constraints=Constraints(preference="quality")).model.name == "claude-opus-4.7"
    assert plan_for("N2", constraints=Constraints(preference="balanced")).model.name == "deepseek-v4-pro"


def test_max_cost_per_request_skips_expensive_models():
    capped = Constraints(max_cost_per_request_usd=Decimal("0.01"))
    plan = plan_for("P1", constraints=capped, f=facts(prompt=4000, max_out=500))
    assert plan.model.name == "deepseek-v4-pro"  # Opus, GPT-5.5 and Gemini exceed $0.01
    rejected = {c.model: c.reason for c in plan.candidates if not c.allowed}
    assert "exceeds the team's max" in rejected["claude-opus-4.7"]
    with pytest.raises(PermissionDenied, match="max"):
        decide(POLICY, CATALOGUE, Classified("P1", 0.9), facts("claude-opus-4.7", 4000, 500), capped, AT)


def test_context_window_guard():
    huge = facts(prompt=1_040_000)
    plan = plan_for("P1", f=huge)
    assert plan.model.name == "gpt-5.5"  # Opus's 1M window is too small; GPT-5.5 has 1.05M
    with pytest.raises(InvalidRequest, match="fits no model"):
        plan_for("N2", f=huge)
    with pytest.raises(InvalidRequest) as caught:
        decide(POLICY, CATALOGUE, Classified("N2", 0.9), facts("local-worker", 40_000), OPEN, AT)
    assert caught.value.code == "context_length_exceeded"


def test_recall_limit_guard_avoids_degrading_models():
    plan = plan_for("N4", f=facts(prompt=600_000))
    assert plan.model.name == "claude-opus-4.7"  # V4 Pro's recall degrades past 500K
    assert any("recall limit" in c.reason for c in plan.candidates if not c.allowed)
    assert plan_for("N4", f=facts(prompt=400_000)).model.name == "deepseek-v4-pro"


def test_sticky_conversation_stays_on_its_first_model():
    plan = plan_for("P1", sticky_model="deepseek-v4-pro")
    assert plan.model.name == "deepseek-v4-pro" and any("sticky" in r for r in plan.reasons)
    # ... but never against the caller's constraints
    plan = plan_for("N2", sticky_model="deepseek-v4-pro", constraints=Constraints(self_hosted_only=True))
    assert all(a.deployment.self_hosted for a in plan.attempts)


def test_explicit_models_are_honoured_unless_forbidden():
    plan = decide(POLICY, CATALOGUE, Classified("P1", 0.9), facts("gpt-5.5"), OPEN, AT)
    assert plan.model.name == "gpt-5.5" and plan.verdict == "explicit"
    assert decide(POLICY, CATALOGUE, None, facts("cheap"), OPEN, AT).model.name == "deepseek-v4-flash"
    with pytest.raises(PermissionDenied, match="self-hosted"):
        decide(POLICY, CATALOGUE, None, facts("gpt-5.5"), Constraints(self_hosted_only=True), AT)
    with pytest.raises(ModelNotFound):
        decide(POLICY, CATALOGUE, None, facts("gpt-9"), OPEN, AT)


def test_unavailable_deployments_are_skipped_and_reported():
    def no_deepseek(d):
        return "unavailable: DEEPSEEK_API_KEY is not set" if d.operator == "deepseek" else None

    plan = plan_for("N4", unavailable=no_deepseek)
    assert plan.attempts[0].deployment.name == "deepseek-v4-pro@together"
    with pytest.raises(NoDeploymentAvailable, match="DEEPSEEK_API_KEY is not set"):
        decide(POLICY, CATALOGUE, None, facts("cheap"), OPEN, AT, unavailable=no_deepseek)


def test_candidates_carry_estimated_costs():
    plan = plan_for("P1", f=facts(prompt=400_000, max_out=100_000))
    by_model = {c.model: c for c in plan.candidates}
    assert by_model["claude-opus-4.7"].estimated_cost_usd == Decimal("4.5")  # 0.4 x $5 + 0.1 x $25
    assert by_model["gpt-5.5"].estimated_cost_usd == Decimal("8.5")  # >272K tier: 0.4 x $10 + 0.1 x $45


def test_shipped_policy_team_constraints():
    assert POLICY.constraints_for("regulated").self_hosted_only
    assert POLICY.constraints_for("nobody") == POLICY.constraints_for("default")


# ---- validation -------------------------------------------------------------------------


def write_policy(tmp_path: Path, text: str) -> Path:
    (tmp_path / "models.yaml").write_text((POLICIES / "models.yaml").read_text())
    (tmp_path / "routing.yaml").write_text(text)
    return tmp_path


def mutate(old: str, new: str) -> str:
    text = (POLICIES / "routing.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


def line_number(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("old, new, expected", [
    ("    route: gpt-5.5\n    fallbacks: [claude-opus-4.7, gemini-3.1-pro]\n    escalation: gpt-5.5\n    evidence: \"rule: V4 77",
     "    route: gpt-6\n    fallbacks: [claude-opus-4.7, gemini-3.1-pro]\n    escalation: gpt-5.5\n    evidence: \"rule: V4 77",
     "categories.P4.route: unknown model 'gpt-6'"),
    ("    verdict: substitute\n    route: deepseek-v4-pro\n    fallbacks: [gemini-3.1-pro]\n    escalation: gemini-3.1-pro\n    evidence: \"MEASURED: V4 vs Gemini",
     "    verdict: maybe\n    route: deepseek-v4-pro\n    fallbacks: [gemini-3.1-pro]\n    escalation: gemini-3.1-pro\n    evidence: \"MEASURED: V4 vs Gemini",
     "categories.P5.verdict: must be one of"),
    ("    preference: cheapest\n", "    preference: stingy\n", "teams.cost-capped.preference"),
])
def test_validation_errors_point_at_the_line(tmp_path, old, new, expected):
    text = mutate(old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    problem = next(p for p in caught.value.problems if expected in p)
    bad_value = new.split("\n")[0].strip().split(": ")[1]
    assert f"routing.yaml:{line_number(text, bad_value)}:" in problem


def test_missing_category_and_missing_evidence(tmp_path):
    text = mutate("  N10:\n", "  N11:\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    joined = "\n".join(caught.value.problems)
    assert "missing N10" in joined and "categories.N11: unknown category" in joined


def test_constraints_that_leave_a_category_nowhere_to_go(tmp_path):
    text = mutate("last_resort: [deepseek-v4-pro, deepseek-v4-flash, local-worker]", "last_resort: []")
    with pytest.raises(PolicyError, match="team 'regulated'.*no allowed deployment"):
        load_policy(write_policy(tmp_path, text))


def test_invalid_yaml_reports_its_line(tmp_path):
    with pytest.raises(PolicyError, match=r"routing.yaml:3: not valid YAML"):
        load_policy(write_policy(tmp_path, "version: 1\ncategories:\n\tP1: x\n"))


def test_failed_plan_hint_names_the_missing_keys():
    from gateway.routing import unavailable_hint

    def keyless(d):
        return None if d.self_hosted else f"unavailable: {d.api_key_env} is not set"

    plan = plan_for("N5", unavailable=keyless)
    assert all(a.deployment.self_hosted for a in plan.attempts)
    hint = unavailable_hint(plan)
    assert "GEMINI_API_KEY is not set" in hint and "GATEWAY_SIMULATE=1" in hint
    assert unavailable_hint(plan_for("N5")) == ""


def test_tool_calls_escalate_false_builds_no_escalation(tmp_path):
    import shutil

    import yaml

    shutil.copytree(POLICIES, tmp_path, dirs_exist_ok=True)
    routing = yaml.safe_load((tmp_path / "routing.yaml").read_text())
    assert plan_for("N4").escalation == "claude-opus-4.7"
    routing["categories"]["N4"]["tool_calls"] = {"retries": 2, "escalate": False}
    (tmp_path / "routing.yaml").write_text(yaml.safe_dump(routing, sort_keys=False))
    policy = load_policy(tmp_path, CATALOGUE)
    plan = decide(policy, CATALOGUE, Classified("N4", 0.9), facts(tools=True), OPEN, AT)
    assert plan.escalation is None and plan.tool_retries == 2  # repairs stay on the routed model
