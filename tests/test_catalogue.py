"""The shipped catalogue holds what the configuration contract promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.catalogue import CatalogueError, load_catalogue, parse_catalogue

POLICIES = Path(__file__).resolve().parents[1] / "policies"


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


def test_simulated_catalogue_keeps_prices_and_needs_no_keys():
    catalogue = load_catalogue(POLICIES).simulated()
    for model in catalogue.models.values():
        for d in model.deployments:
            assert d.provider == "simulated" and not d.key_required and d.prices


@pytest.mark.parametrize("raw, fragment", [
    ({}, "top-level 'models'"),
    ({"models": {"m": {"deployments": []}}}, "models.m: 'context_window'"),
    ({"models": {"m": {"context_window": 1, "deployments": [{"name": "a", "provider": "grpc"}]}}}, "provider"),
    ({"models": {"m": {"context_window": 1, "deployments": [
        {"name": "a", "provider": "simulated", "prices": [{"effective": "2026-01-01", "input": 1, "output": 1,
                                                           "source": "s"}]}]}},
      "aliases": {"x": "nope"}, "baseline_model": "m"}, "aliases.x"),
    ({"models": {"m": {"context_window": 1, "deployments": [
        {"name": "a", "provider": "simulated", "prices": [{"effective": "2026-01-01", "input": 1, "output": 1,
                                                           "source": "s"}]}]}}, "baseline_model": "z"},
     "baseline_model"),
])
def test_invalid_catalogue_errors(raw, fragment):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(raw)
    assert fragment in str(caught.value)


def test_missing_policies_dir_says_which_variable(tmp_path):
    with pytest.raises(CatalogueError, match="GATEWAY_POLICIES_DIR"):
        load_catalogue(tmp_path / "nowhere")
