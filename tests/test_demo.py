"""`gateway demo` works offline and reports where traffic went and what it saved."""

from __future__ import annotations

from pathlib import Path

from gateway.demo import run_demo

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def test_demo_routes_a_mixed_workload_offline():
    table = run_demo(POLICIES, rounds=1)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["category", "model", "requests"]
    routed = {line.split()[0]: line.split()[1] for line in lines[1:-1]}
    assert len(routed) >= 12  # the workload spans most categories
    assert routed.get("P10") == "gpt-5.5" and routed.get("N4") == "deepseek-v4-pro"
    total = lines[-1].split()
    assert total[0] == "total" and int(total[1]) == 20
    assert float(total[3]) > float(total[2]) > 0  # cheaper than all-Opus
