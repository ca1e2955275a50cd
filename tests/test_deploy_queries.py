"""Every PromQL expression in the dashboard and the alert rules names only metrics the gateway exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.metrics import exported_metric_names

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))

# Series Prometheus itself attaches to every scrape target.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio", "inf", "nan", "start", "end",
})
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: strings, matchers, ranges, grouping, functions removed."""
    text = _STRING.sub('""', expr)
    text = _GRAFANA_VARIABLE.sub("1", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or match.group() in KEYWORDS:
            continue  # a function or aggregation call, or a keyword
        names.add(match.group())
    return names


def balanced(expr: str) -> bool:
    """Whether brackets pair up (outside strings)."""
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard["panels"]):
            for target in panel.get("targets") or []:
                if "expr" in target:
                    yield f"{path.name}: {panel['title']} [{target['refId']}]", target["expr"]
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if variable.get("type") == "query" and isinstance(query, str | dict):
                text = query if isinstance(query, str) else query.get("query", "")
                yield f"{path.name}: variable {variable['name']}", re.sub(r"^label_values\((.*?),[^,]*\)$", r"\1", text)


def rule_expressions() -> Iterator[tuple[str, str]]:
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]


ALL = [*dashboard_expressions(), *rule_expressions()]


@pytest.mark.parametrize(("expr", "expected"), [
    ('sum by (le, model) (rate(gateway_x_bucket{stream="true", a=~"b|c"}[$__rate_interval]))', {"gateway_x_bucket"}),
    ("histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) > 1e3", {"a_bucket"}),
    ("sum(rate(a_total[1h])) > 2 * sum(rate(a_total[1h] offset 1w)) and b > 0", {"a_total", "b"}),
    ("a / on(instance) group_left(job) b unless c", {"a", "b", "c"}),
    ('max without (pid) (up{job="gateway"}) == 0', {"up"}),
    ("deriv(x[10m:1m]) > 0 or vector(0)", {"x"}),
    ('label_replace(m, "dst", "$1", "src", "(.*)")', {"m"}),
    ("count(count by (model) (gateway_requests_total))", {"gateway_requests_total"}),
])
def test_metric_names_extractor(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


def test_extractor_catches_an_unknown_metric() -> None:
    unknown = metric_names('sum by (model) (rate(gateway_spend_dollars_total{model!="x"}[5m]))')
    assert unknown - exported_metric_names() == {"gateway_spend_dollars_total"}


def test_there_are_queries_to_check() -> None:
    assert DASHBOARDS and RULE_FILES
    assert len([e for e in ALL if e[0].endswith("]")]) >= 20  # dashboard targets
    assert len(list(rule_expressions())) >= 6


@pytest.mark.parametrize(("where", "expr"), ALL, ids=[where for where, _ in ALL])
def test_query_refers_only_to_exported_metrics(where: str, expr: str) -> None:
    assert balanced(expr), f"{where}: unbalanced brackets in {expr!r}"
    names = metric_names(expr)
    assert names, f"{where}: no metric found in {expr!r}"
    unknown = names - exported_metric_names() - PROMETHEUS_SERIES
    assert not unknown, f"{where}: {sorted(unknown)} are not exported by the gateway (gateway/metrics)"
