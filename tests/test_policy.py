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
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "messages"
    with pytest.raises(InvalidRequest, match=r"\(~20 tokens\) with max_tokens 2000000") as caught:
        decide(POLICY, CATALOGUE, Classified("N2", 0.9), facts("gpt-5.5", 20, 2_000_000), OPEN, AT)
    assert caught.value.param == "max_tokens"  # the answer asked for is what does not fit


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


def image_facts(model="auto"):
    from functools import partial

    from gateway.providers.adapt import refusal
    body = {"model": model, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    inputs = frozenset({"image"})
    return RequestFacts(model, 1000, refusal=partial(refusal, body, inputs=inputs), inputs=inputs)


def test_an_image_prompt_goes_to_a_model_that_takes_images_and_their_outage_is_a_503_not_a_400():
    plan = plan_for("N4", f=image_facts())  # DeepSeek V4 Pro cannot take it; its fallback can
    assert plan.model.name == "claude-opus-4.7"
    assert "deepseek-v4-pro takes no image input" in " ".join(plan.reasons)

    def frontier_down(d):
        return "unavailable: circuit open after repeated failures" if d.operator in (
            "anthropic", "openai", "google") else None

    with pytest.raises(NoDeploymentAvailable, match="retry shortly"):
        plan_for("N4", f=image_facts(), unavailable=frontier_down)
    with pytest.raises(NoDeploymentAvailable, match="retry shortly"):
        decide(POLICY, CATALOGUE, None, image_facts("gpt-5.5"), OPEN, AT, unavailable=frontier_down)
    # A text model asked for by name is the client's mistake: a 400 on messages.
    with pytest.raises(InvalidRequest, match="deepseek-v4-pro takes no image input") as refused:
        decide(POLICY, CATALOGUE, None, image_facts("deepseek-v4-pro"), OPEN, AT)
    assert refused.value.param == "messages"


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
    # N2's V4 Pro has a self-hosted copy that needs no key: when it is down, the hint still names
    # the keys that would have opened V4 Pro's other deployments.
    plan = plan_for("N2", unavailable=keyless)
    assert plan.attempts[0].deployment.self_hosted
    hint = unavailable_hint(plan, load_catalogue(POLICIES), keyless)
    assert "DEEPSEEK_API_KEY is not set" in hint and "TOGETHER_API_KEY is not set" in hint


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


def test_a_cost_cap_that_excludes_every_model_refuses_auto_with_403():
    capped = Constraints(max_cost_per_request_usd=Decimal("0.0000001"))
    with pytest.raises(PermissionDenied, match="cannot be served under this caller's constraints") as caught:
        plan_for("N4", constraints=capped)
    assert caught.value.status_code == 403
    # every model of the route, its fallbacks and the last resorts was priced and refused
    assert "exceeds the team's max" in str(caught.value)
    for model in ("deepseek-v4-pro", "claude-opus-4.7", "deepseek-v4-flash", "local-worker"):
        assert f"{model}:" in str(caught.value)


# ---- strict shapes and types ------------------------------------------------------------


@pytest.mark.parametrize("old, new, where, message", [
    # wrong shapes that used to escape as AttributeError / ValueError
    ("guards:\n  recall_limit_tokens: 500000", "guards: [500000]\nx:\n  recall_limit_tokens: 500000",
     "guards", "must be a mapping"),
    ("teams:\n  default:\n", "teams: [default]\nx:\n  default:\n", "teams", "must be a mapping"),
    ("    tool_calls: {retries: 3, escalate: true}", "    tool_calls: [3]", "categories.P10.tool_calls",
     "must be a mapping"),
    ("  recall_limit_tokens: 500000", "  recall_limit_tokens: 500K", "guards.recall_limit_tokens",
     "must be a valid integer, got '500K'"),
    ("default_output_tokens: 500 ", "default_output_tokens: abc ", "default_output_tokens",
     "must be a valid integer, got 'abc'"),
    # values that used to be accepted and misread
    ("    excluded_jurisdictions: [CN]", "    excluded_jurisdictions: CN", "teams.us-only.excluded_jurisdictions",
     "must be a list"),
    ("    self_hosted_only: true", '    self_hosted_only: "no"', "teams.regulated.self_hosted_only",
     "must be true or false"),
    ("    tool_calls: {retries: 3, escalate: true}", '    tool_calls: {retries: 3, escalate: "false"}',
     "categories.P10.tool_calls.escalate", "must be true or false"),
    ("confidence_threshold: 0.40", "confidence_threshold: true", "confidence_threshold", "must be a valid number"),
    ("    max_cost_per_request_usd: 0.05", "    max_cost_per_request_usd: yes", "teams.cost-capped.max_cost",
     "must be a valid number"),
    ("last_resort: [deepseek-v4-pro, deepseek-v4-flash, local-worker]", "last_resort: [deepseek-v4-pro, 7]",
     "last_resort.1", "must be a valid string"),
    ("  regulated:\n    self_hosted_only: true", "  regulated:\n    self_hosted: true", "teams.regulated.self_hosted",
     "unknown key; use one of self_hosted_only"),
    ("default_output_tokens: 500 ", "default_output_token: 500 ", "default_output_token", "unknown key"),
])
def test_wrong_shapes_and_types_are_policy_errors_at_their_line(tmp_path, old, new, where, message):
    text = mutate(old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    problem = next(p for p in caught.value.problems if f": {where}" in p)
    assert message in problem
    changed = next(line for line in new.split("\n") if line not in old.split("\n"))
    assert f"routing.yaml:{line_number(text, changed)}:" in problem


def test_no_wrong_value_anywhere_escapes_as_anything_but_a_policy_error():
    """Every value in the shipped file, replaced by each wrong shape: a PolicyError with a line, or a policy."""
    import copy

    from gateway.policy.load import parse_policy
    from gateway.yamllines import load_with_lines

    raw, lines = load_with_lines((POLICIES / "routing.yaml").read_text())
    for path in [p for p in lines if p]:
        for wrong in (["x"], "x", 7, 1.5, True, None, {"x": 1}):
            mutated = copy.deepcopy(raw)
            target = mutated
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = wrong
            try:
                parse_policy(mutated, lines, CATALOGUE)
            except PolicyError as exc:
                assert all(p.split(":")[1].isdigit() for p in exc.problems), (path, wrong, exc.problems)


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    text = mutate("  P2:\n", "  P1:\n    verdict: substitute\n  P2:\n")
    text = text.replace("  regulated:\n    self_hosted_only: true",
                        "  regulated:\n    self_hosted_only: true\n    self_hosted_only: false")
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    first_p1 = line_number(text, "  P1:")
    second_p1 = next(i for i, line in enumerate(text.splitlines(), 1) if line == "  P1:" and i != first_p1)
    repeat = line_number(text, "self_hosted_only: false")
    assert caught.value.problems == [
        f"{tmp_path}/routing.yaml:{second_p1}: categories.P1: duplicate key (first on line {first_p1}); "
        "YAML would silently keep only one of them",
        f"{tmp_path}/routing.yaml:{repeat}: teams.regulated.self_hosted_only: duplicate key (first on line "
        f"{repeat - 1}); YAML would silently keep only one of them",
    ]


def test_schema_choices_match_the_model():
    from typing import get_args

    from gateway.policy.model import PREFERENCES
    from gateway.policy.schema import Preference

    assert set(get_args(Preference)) == PREFERENCES


# ---- constraints per API key ------------------------------------------------------------


KEYS = """
keys:
  key_eu: {excluded_jurisdictions: [US], excluded_operators: [deepseek]}
  key_tight: {max_cost_per_request_usd: 0.01, preference: cheapest}
  key_loose: {max_cost_per_request_usd: 9.0, preference: quality, self_hosted_only: false}
"""


def keyed_policy(tmp_path, keys=KEYS):
    return load_policy(write_policy(tmp_path, mutate("keys: {}\n", keys.lstrip("\n"))))


def test_key_constraints_tighten_their_team(tmp_path):
    policy = keyed_policy(tmp_path)
    eu = policy.constraints_for("us-only", "key_eu")
    assert eu.excluded_jurisdictions == {"CN", "US"} and eu.excluded_operators == {"deepseek"}
    tight = policy.constraints_for("cost-capped", "key_tight")
    assert tight.max_cost_per_request_usd == Decimal("0.01") and tight.preference == "cheapest"
    # a key cannot loosen its team: the lower cap, the cheaper preference, self-hosted stays
    loose = policy.constraints_for("cost-capped", "key_loose")
    assert loose.max_cost_per_request_usd == Decimal("0.05") and loose.preference == "cheapest"
    assert policy.constraints_for("regulated", "key_loose").self_hosted_only
    assert policy.constraints_for("default", "key_loose").preference == "balanced"
    # a key with no entry, or no key, gets the team's (or default's) constraints unchanged
    assert policy.constraints_for("us-only", "key_other") == policy.constraints_for("us-only")
    assert policy.constraints_for(None, "key_tight").max_cost_per_request_usd == Decimal("0.01")


def test_key_constraints_route_a_request(tmp_path):
    policy = keyed_policy(tmp_path)
    plan = decide(policy, CATALOGUE, Classified("N4", 0.9), facts(), policy.constraints_for("us-only", "key_eu"), AT)
    assert all(a.deployment.jurisdiction not in {"CN", "US"} and a.deployment.operator != "deepseek"
               for a in plan.attempts)


def test_key_constraints_are_validated(tmp_path):
    text = mutate("keys: {}\n", "keys:\n  key_x: {allow_category_header: true}\n  key_y: {self_hosted_only: 1}\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    joined = "\n".join(caught.value.problems)
    assert f"routing.yaml:{line_number(text, 'key_x')}: keys.key_x.allow_category_header: unknown key" in joined
    assert f"routing.yaml:{line_number(text, 'key_y')}: keys.key_y.self_hosted_only: must be true or false" in joined


def test_a_key_whose_constraints_leave_nowhere_to_go_is_refused(tmp_path):
    text = mutate("keys: {}\n", "keys:\n  key_nowhere:\n    self_hosted_only: true\n    excluded_operators: [self]\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    assert caught.value.problems == [
        f"{tmp_path}/routing.yaml:{line_number(text, 'key_nowhere')}: keys.key_nowhere: the constraints of key "
        f"'key_nowhere' leave {', '.join(CATEGORIES)}, uncertain with no allowed deployment (add a fallback or "
        "last_resort model that satisfies them)"]


def test_requests_only_openai_compatible_upstreams_take_skip_anthropic():
    plan = plan_for("P1", f=RequestFacts("auto", 1000, None, True, "custom tools"))  # P1 goes to Claude first
    assert plan.model.name != "claude-opus-4.7"
    assert all(a.deployment.provider != "anthropic" for a in plan.attempts) and plan.attempts
    assert any("Messages API takes no custom tools" in c.reason for c in plan.candidates if not c.allowed)
    assert plan_for("P1").model.name == "claude-opus-4.7"  # the same request without them is unchanged
    with pytest.raises(InvalidRequest, match="takes no n > 1"):
        decide(POLICY, CATALOGUE, None, RequestFacts("claude-opus-4.7", 1000, None, False, "n > 1"), OPEN, AT)


def test_catalogue_refusals_are_planned_around_and_answered_as_a_400_naming_the_field():
    from functools import partial

    from gateway.providers.adapt import refusal

    def with_body(model, **fields):
        return RequestFacts(model, 1000, None, False, None, partial(refusal, {"model": model, **fields}))

    # P4: GPT-5.5 and Claude Opus 4.7 refuse temperature 0.2: Gemini, the third route, serves.
    plan = plan_for("P4", f=with_body("auto", temperature=0.2))
    assert plan.model.name == "gemini-3.1-pro"
    assert any("cannot take the request" in c.reason for c in plan.candidates if not c.allowed)
    # A model asked by name whose deployments refuse, or are unavailable, or excluded: the refusal, not a 403.
    json_schema = {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}}
    flash = with_body("deepseek-v4-flash", response_format=json_schema)
    with pytest.raises(InvalidRequest, match="cannot take response_format of type 'json_schema'") as refused:
        decide(POLICY, CATALOGUE, None, flash, OPEN, AT)
    assert refused.value.param == "response_format"
    pro = with_body("deepseek-v4-pro", response_format=json_schema)
    only_deepseek_has_a_key = lambda deployment: None if deployment.name.endswith("@deepseek") else "unavailable: no key"  # noqa: E731
    with pytest.raises(NoDeploymentAvailable):  # the others would take it: their keys are what is missing
        decide(POLICY, CATALOGUE, None, pro, OPEN, AT, unavailable=only_deepseek_has_a_key)
    # Mixed reasons (refused here, too small or unavailable there) for model=auto still name the field.
    mixed = with_body("auto", temperature=0.2, seed=7, response_format=json_schema)
    with pytest.raises(InvalidRequest, match="temperature|seed|response_format"):
        plan_for("P4", f=mixed, unavailable=only_deepseek_has_a_key)
