"""`gateway demo` works offline, from any directory, and reports where each intended category went."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli import app
from gateway.demo import _table, policies_dir_for
from gateway.demo_workload import WORKLOAD
from gateway.policy import CATEGORIES
from gateway.records import RequestRecord

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def test_demo_routes_a_mixed_workload_offline_from_outside_the_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./policies here: the demo finds the checkout's
    monkeypatch.delenv("GATEWAY_POLICIES_DIR", raising=False)
    result = CliRunner().invoke(app, ["demo", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["category", "classified", "model", "requests"]
    rows = [line.split() for line in lines[1:] if line[:1] in ("P", "N")]
    # every category of the workload has its row, labelled by intent, whatever the classifier said
    assert [row[0] for row in rows] == list(CATEGORIES)
    routed = {row[0]: row[2] for row in rows}
    assert routed["P10"] == "gpt-5.5" and routed["N4"] == "deepseek-v4-pro"
    total = next(line.split() for line in lines if line.startswith("total"))
    assert int(total[1]) == 20
    assert float(total[3]) > float(total[2]) > 0  # cheaper than all-Opus


def test_workload_names_each_request_s_category():
    assert sorted({category for category, _ in WORKLOAD}) == sorted(CATEGORIES)


def test_rows_keep_the_intended_category_next_to_the_classified_one():
    def record(request_id, category, verdict="substitute"):
        return RequestRecord(request_id, None, "master", None, "auto", False, model="deepseek-v4-pro",
                             category=category, verdict=verdict)

    records = [record("a", "N8"), record("b", "N1", "uncertain"), record("c", "N2")]
    table = _table(records, {"a": "N2", "b": "N8", "c": "N2"})
    rows = [line.split()[:4] for line in table.splitlines()[1:4]]
    assert rows == [["N2", "N2", "deepseek-v4-pro", "1"], ["N2", "N8", "deepseek-v4-pro", "1"],
                    ["N8", "N1?", "deepseek-v4-pro", "1"]]


def test_a_missing_policies_dir_is_a_clear_error(tmp_path, monkeypatch):
    assert policies_dir_for(POLICIES) == POLICIES
    with pytest.raises(typer.BadParameter, match="no routing.yaml in"):
        policies_dir_for(tmp_path)
    monkeypatch.setenv("GATEWAY_POLICIES_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["demo", "--rounds", "1"])
    assert result.exit_code == 2 and "GATEWAY_POLICIES_DIR" in result.output
    assert "Traceback" not in result.output
