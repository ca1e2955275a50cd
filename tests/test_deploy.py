"""deploy/: compose, Dockerfile, Prometheus and Grafana files parse and refer to files that exist."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from gateway.ledger.tables import requests as requests_table

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RULES_DIR = DEPLOY / "prometheus" / "rules"
# The ledger's real columns, so a dashboard query naming a column the table lacks fails here.
SQL_COLUMNS = frozenset(requests_table.c.keys())
SQL_WORDS = frozenset({"select", "from", "where", "group", "by", "order", "desc", "asc", "as", "sum", "count",
                       "coalesce", "requests"})
_MACRO = re.compile(r"\$__(\w+)\(([^)]*)\)")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(DEPLOY / "compose.yaml")


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path for a service's bind mounts (named volumes skipped)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = (DEPLOY / source).resolve()
    return mounts


def host_path(mounts: dict[str, Path], container_path: str) -> Path:
    """Where a path seen inside a container lives in this repository."""
    for target, source in sorted(mounts.items(), key=lambda item: -len(item[0])):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / PurePosixPath(container_path).relative_to(target)
    raise AssertionError(f"{container_path} is not bind-mounted")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_compose_services_and_gateway(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"gateway", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    gateway = services["gateway"]
    context = (DEPLOY / gateway["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / gateway["build"]["dockerfile"]).is_file()
    assert gateway["command"] == ["gateway", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
    env = gateway["environment"]
    assert env["GATEWAY_DATABASE_URL"] == "postgresql://gateway@postgres:5432/gateway"
    assert env["GATEWAY_REDIS_URL"] == "redis://redis:6379/0"
    assert env["GATEWAY_MASTER_KEY"].startswith("${GATEWAY_MASTER_KEY")
    assert env["PROMETHEUS_MULTIPROC_DIR"]
    assert set(gateway["depends_on"]) == {"postgres", "redis"}
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]


def test_every_api_key_variable_of_the_catalogue_is_passed_through(compose: dict[str, Any]) -> None:
    catalogue = (ROOT / "policies" / "models.yaml").read_text()
    wanted = set(re.findall(r"api_key_env:\s*([A-Z0-9_]+)", catalogue))
    assert wanted <= set(compose["services"]["gateway"]["environment"])


def test_compose_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: named volume {source} is not declared"


def test_prometheus_scrapes_the_gateway_and_loads_the_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    mounts = bind_mounts(prometheus)
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config = load_yaml(host_path(mounts, config_arg.split("=", 1)[1]))
    gateway_job = next(job for job in config["scrape_configs"] if job["job_name"] == "gateway")
    assert gateway_job.get("metrics_path", "/metrics") == "/metrics"
    assert gateway_job["static_configs"][0]["targets"] == ["gateway:8080"]
    loaded: set[Path] = set()
    for pattern in config["rule_files"]:
        directory = host_path(mounts, str(PurePosixPath(pattern).parent))
        loaded |= {p for p in directory.iterdir() if fnmatch(p.name, PurePosixPath(pattern).name)}
    assert loaded == set(RULES_DIR.glob("*.yml")) and loaded


def test_alert_rules_are_well_formed() -> None:
    alerts = {}
    for path in RULES_DIR.glob("*.yml"):
        for group in load_yaml(path)["groups"]:
            assert group["name"] and group["rules"]
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
                assert rule["labels"]["severity"] in {"info", "warning", "critical"}
                assert rule["annotations"]["summary"]
                assert re.fullmatch(r"(\d+[smhdwy])+", rule.get("for", "0s")), rule["alert"]
                alerts[rule["alert"]] = rule["expr"]
    wanted = {
        "budget burn": "gateway_spend_usd_total", "error rate": "gateway_requests_total",
        "spool growing": "deriv(gateway_ledger_spool_rows", "queue near capacity": "gateway_ledger_queue_capacity",
        "circuit open": "gateway_circuit_state", "redis down": "gateway_redis_up",
    }
    for what, fragment in wanted.items():
        assert any(fragment in expr for expr in alerts.values()), f"no alert for {what}"


def test_grafana_provisioning_matches_the_mounts(compose: dict[str, Any]) -> None:
    mounts = bind_mounts(compose["services"]["grafana"])
    provisioning = host_path(mounts, "/etc/grafana/provisioning")
    datasources = load_yaml(provisioning / "datasources" / "datasources.yaml")["datasources"]
    by_uid = {d["uid"]: d for d in datasources}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["ledger"]["jsonData"]["database"] == "gateway"
    providers = load_yaml(provisioning / "dashboards" / "dashboards.yaml")["providers"]
    dashboards_dir = host_path(mounts, providers[0]["options"]["path"])
    files = list(dashboards_dir.glob("*.json"))
    assert files
    for path in files:
        check_dashboard(json.loads(path.read_text()), by_uid)


def check_dashboard(dashboard: dict[str, Any], datasources: dict[str, dict[str, Any]]) -> None:
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("spend", "savings", "cached", "latency", "error", "fallback", "repair", "ledger",
                  "budget", "circuit", "team"):
        assert topic in titles, f"no panel about {topic}"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            source = target.get("datasource") or panel["datasource"]
            assert source["uid"] in datasources, panel["title"]
            assert source["type"] == datasources[source["uid"]]["type"], panel["title"]
            if "rawSql" in target:
                check_sql(target["rawSql"])


def check_sql(sql: str) -> None:
    """Ledger queries stay simple: the requests table, its real columns, Grafana's time filter on a column."""
    assert re.search(r"\bFROM\s+requests\b", sql, re.I)
    macros = _MACRO.findall(sql)
    assert "timeFilter" in [name for name, _ in macros], "no $__timeFilter(...)"
    for name, args in macros:
        column = args.split(",")[0].strip()
        assert column in SQL_COLUMNS, f"$__{name}({column}): requests has no column {column!r}"
    body = _MACRO.sub(" ", re.sub(r"'[^']*'", " ", sql))
    words = set(re.findall(r"\b[a-z_]+\b", body.lower()))
    aliases = set(re.findall(r"\bas\s+(\w+)", body, re.I))
    unknown = words - SQL_WORDS - aliases - SQL_COLUMNS
    assert not unknown, f"requests has no column(s) {sorted(unknown)}"


def test_sql_check_uses_the_ledger_columns() -> None:
    good = "SELECT sum(cost_usd) AS spend FROM requests WHERE $__timeFilter(started_at) GROUP BY team"
    check_sql(good)
    for bad in (good.replace("started_at", "created_at"), good.replace("team", "owner"),
                "SELECT $__timeGroupAlias(created_at, '1h'), count(*) AS n FROM requests "
                "WHERE $__timeFilter(started_at)"):
        with pytest.raises(AssertionError, match="no column"):
            check_sql(bad)


def test_dockerfile_non_root_healthcheck_and_extras() -> None:
    instructions = dockerfile_instructions()
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert all(arg.startswith("python:3.11-slim") for arg in froms)
    final_stage = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM"):]
    users = [arg for op, arg in final_stage if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    health = [arg for op, arg in final_stage if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/health" in health[0]
    installs = " ".join(arg for op, arg in instructions if op == "RUN" and "pip install" in arg)
    assert "[postgres,redis]" in installs and "worker" not in installs
    assert "8080" in " ".join(arg for op, arg in final_stage if op == "EXPOSE")
    entrypoint = json.loads(next(arg for op, arg in final_stage if op == "ENTRYPOINT"))
    cmd = json.loads(next(arg for op, arg in final_stage if op == "CMD"))
    assert cmd[:2] == ["gateway", "serve"]
    copies = [shlex.split(arg) for op, arg in instructions if op == "COPY"]
    script = next(c[-2] for c in copies if c[-1].endswith(entrypoint[0]))
    assert (ROOT / script).is_file()
    for copy in copies:
        if not any(part.startswith("--from") for part in copy):
            for source in copy[1:-1]:
                assert source == "." or (ROOT / source).exists(), source


def test_entrypoint_upgrades_the_database_and_resets_metric_files() -> None:
    script = DEPLOY / "entrypoint.sh"
    text = script.read_text()
    assert text.startswith("#!/bin/sh")
    assert "gateway db upgrade" in text and 'exec "$@"' in text
    assert "PROMETHEUS_MULTIPROC_DIR" in text
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert "!deploy/entrypoint.sh" in ignore and "**/.venv" in ignore
