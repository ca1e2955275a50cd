"""Hot reload: a refused change is logged, counted and leaves the running policy; the watcher never dies."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway.catalogue import load_catalogue
from gateway.metrics import GatewayMetrics
from gateway.policy import load_policy
from gateway.policy import watcher as watcher_module
from gateway.policy.watcher import PolicyWatcher

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def refused(metrics: GatewayMetrics) -> float:
    return metrics.registry.get_sample_value("gateway_policy_reloads_total", {"outcome": "refused"}) or 0


def reloaded(metrics: GatewayMetrics) -> float:
    return metrics.registry.get_sample_value("gateway_policy_reloads_total", {"outcome": "ok"}) or 0


@pytest.fixture
def setup(tmp_path):
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    catalogue = load_catalogue(directory)
    ctx = SimpleNamespace(
        settings=SimpleNamespace(policies_dir=directory, baseline_model=None, simulate=False),
        catalogue=catalogue, policy=load_policy(directory, catalogue))
    metrics = GatewayMetrics(multiproc_dir="")
    return ctx, PolicyWatcher(ctx, interval_s=0.01, on_reload=metrics.policy_reloaded), metrics, directory


# Shapes that used to escape as AttributeError / ValueError and end the polling task.
@pytest.mark.parametrize("old, new", [
    ("guards:\n  recall_limit_tokens: 500000", "guards: [500000]\nunused:\n  recall_limit_tokens: 500000"),
    ("  recall_limit_tokens: 500000", "  recall_limit_tokens: 500K"),
    ("default_output_tokens: 500 ", "default_output_tokens: abc "),
    ("    tool_calls: {retries: 3, escalate: true}", "    tool_calls: [3, true]"),
    ("teams:\n  default:\n    preference: balanced\n", "teams: [default]\nunused:\n  default:\n    preference: balanced\n"),
])
def test_a_malformed_change_is_refused_logged_and_counted(setup, caplog, old, new):
    ctx, watcher, metrics, directory = setup
    running = ctx.policy
    routing = directory / "routing.yaml"
    assert old in routing.read_text()
    routing.write_text(routing.read_text().replace(old, new, 1))
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert watcher.reload_now() is False
    assert ctx.policy is running
    assert refused(metrics) == 1 and reloaded(metrics) == 0
    assert "policy change refused" in caplog.text and "routing.yaml:" in caplog.text


def test_an_unexpected_loader_error_is_refused_not_raised(setup, caplog, monkeypatch):
    ctx, watcher, metrics, _ = setup
    running = ctx.policy

    def broken(*args, **kwargs):
        raise RuntimeError("loader bug")

    monkeypatch.setattr(watcher_module, "load_policy", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.policy"):
        assert watcher.reload_now() is False
    assert ctx.policy is running and refused(metrics) == 1
    assert "loader bug" in caplog.text  # logged with its traceback


def test_a_failing_metric_callback_does_not_stop_a_reload(setup):
    ctx, _, _, _ = setup

    def boom(ok: bool) -> None:
        raise RuntimeError("metrics down")

    assert PolicyWatcher(ctx, on_reload=boom).reload_now() is True


async def test_polling_survives_bad_changes_and_installs_the_next_good_one(setup, monkeypatch):
    ctx, watcher, metrics, directory = setup
    routing = directory / "routing.yaml"
    original = routing.read_text()
    calls = {"n": 0}
    real_fingerprint = watcher_module._fingerprint

    def flaky(path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("stat failed")  # one failed look must not end the task
        return real_fingerprint(path)

    monkeypatch.setattr(watcher_module, "_fingerprint", flaky)
    watcher.start()
    try:
        routing.write_text(original.replace("confidence_threshold: 0.40", "confidence_threshold: true"))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if refused(metrics):
                break
        assert refused(metrics) == 1 and ctx.policy.confidence_threshold == 0.4
        routing.write_text(original.replace("confidence_threshold: 0.40", "confidence_threshold: 0.5"))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if reloaded(metrics):
                break
        assert ctx.policy.confidence_threshold == 0.5 and not watcher._task.done()
    finally:
        await watcher.stop()
