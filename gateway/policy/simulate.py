"""Policy simulation on a traffic mix: cost per million requests and expected quality. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from gateway.catalogue import Catalogue
from gateway.policy.decide import _primary  # the same first choice decide() makes for a preference
from gateway.policy.model import CATEGORIES, PREFERENCES, Policy
from gateway.pricing import cost
from gateway.usage import Usage

MILLION = Decimal(1_000_000)
SCORES_FILE = "scores.yaml"


class ScoresError(ValueError):
    """scores.yaml is missing or malformed."""


@dataclass(frozen=True, slots=True)
class CategoryTraffic:
    """One category's share of requests and its typical token sizes."""

    share: float
    input_tokens: int
    output_tokens: int
    cache_hit_rate: float


@dataclass(frozen=True, slots=True)
class Traffic:
    """A traffic mix: per-category shares (summing to 1) and token sizes."""

    name: str
    categories: Mapping[str, CategoryTraffic]


@dataclass(frozen=True, slots=True)
class Row:
    """One category under one assignment."""

    category: str
    share: float
    model: str
    cost_per_request: Decimal
    quality: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """What an assignment of categories to models costs and delivers on a traffic mix."""

    rows: tuple[Row, ...]
    cost_per_million: Decimal
    quality: float | None  # mix-weighted SMQTS score; None if any routed category is unscored
    all_opus_cost_per_million: Decimal
    all_best_cost_per_million: Decimal
    all_best_quality: float

    @property
    def saving_vs_opus(self) -> float:
        """Fraction of the all-Opus bill saved."""
        return _saving(self.cost_per_million, self.all_opus_cost_per_million)

    @property
    def saving_vs_best(self) -> float:
        """Fraction of the always-the-best-model bill saved."""
        return _saving(self.cost_per_million, self.all_best_cost_per_million)


def _saving(spent: Decimal, reference: Decimal) -> float:
    return float(1 - spent / reference) if reference else 0.0


def load_scores(policies_dir: Path) -> dict[str, dict[str, float]]:
    """The SMQTS table from scores.yaml: model → category → score; ScoresError when missing or malformed."""
    path = Path(policies_dir) / SCORES_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ScoresError(f"{path}: not found: simulation needs the SMQTS quality table") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ScoresError(f"{path}: cannot be read: {exc}") from None
    table = raw.get("scores") if isinstance(raw, Mapping) else None
    if not isinstance(table, Mapping):
        raise ScoresError(f"{path}: needs a 'scores' mapping of model → category → score")
    scores: dict[str, dict[str, float]] = {}
    for model, row in table.items():
        if not isinstance(row, Mapping) or not all(
                c in CATEGORIES and isinstance(v, int | float) and not isinstance(v, bool) for c, v in row.items()):
            raise ScoresError(f"{path}: scores.{model}: needs a mapping of SMQTS category → number")
        scores[str(model)] = {c: float(v) for c, v in row.items()}
    return scores


def load_traffic(path: Path) -> Traffic:
    """A traffic file: defaults (input_tokens, output_tokens, cache_hit_rate) + per-category shares."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, Mapping) or not isinstance(raw.get("categories"), Mapping):
        raise ValueError(f"{path}: a traffic file needs a 'categories' mapping of category → share")
    defaults = {k: raw.get(k) for k in ("input_tokens", "output_tokens", "cache_hit_rate")}
    categories: dict[str, CategoryTraffic] = {}
    for name, spec in raw["categories"].items():
        if name not in CATEGORIES:
            raise ValueError(f"{path}: categories.{name}: not an SMQTS category")
        spec = spec if isinstance(spec, Mapping) else {"share": spec}
        merged = {**defaults, **{k: v for k, v in spec.items() if v is not None}}
        try:
            categories[name] = CategoryTraffic(float(merged["share"]), int(merged["input_tokens"] or 1000),
                                               int(merged["output_tokens"] or 300),
                                               float(merged["cache_hit_rate"] or 0.0))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: categories.{name}: needs a numeric share and token sizes") from None
    total = sum(c.share for c in categories.values())
    if not categories or abs(total - 1.0) > 0.01:
        raise ValueError(f"{path}: category shares must sum to 1 (they sum to {total:.3f})")
    return Traffic(str(raw.get("name", Path(path).stem)), categories)


WEEK_SAMPLES = tuple(timedelta(hours=h) for h in range(7 * 24))


def request_cost(model: str, traffic: CategoryTraffic, catalogue: Catalogue, at: datetime) -> Decimal:
    """Cost of one typical request on the model's primary deployment, averaged over the week from `at`.

    Averaging over every hour of a week prices time-of-day tariffs (DeepSeek's off-peak
    discount) as traffic spread evenly over the week would pay them.
    """
    cached = int(traffic.input_tokens * traffic.cache_hit_rate)
    usage = Usage(input=traffic.input_tokens - cached, cached_input=cached, output=traffic.output_tokens)
    deployment = catalogue.models[model].deployments[0]
    return sum((cost(usage, deployment, at + step) for step in WEEK_SAMPLES), Decimal(0)) / len(WEEK_SAMPLES)


def best_model(category: str, scores: Mapping[str, Mapping[str, float]]) -> str:
    """The highest-scoring model for a category."""
    if not any(category in table for table in scores.values()):
        raise ScoresError(f"{SCORES_FILE} scores no model on {category}")
    return max((m for m in scores if category in scores[m]), key=lambda m: scores[m][category])


def evaluate(assignment: Mapping[str, str], traffic: Traffic, catalogue: Catalogue,
             scores: Mapping[str, Mapping[str, float]], at: datetime, baseline: str = "claude-opus-4.7") -> Report:
    """Cost and quality of sending each category to `assignment[category]`."""
    rows, total, opus, best, quality, best_quality = [], Decimal(0), Decimal(0), Decimal(0), 0.0, 0.0
    known = True
    for category, mix in traffic.categories.items():
        model = assignment[category]
        per_request = request_cost(model, mix, catalogue, at)
        score = scores.get(model, {}).get(category)
        rows.append(Row(category, mix.share, model, per_request, score))
        share = Decimal(str(mix.share))
        total += share * per_request
        opus += share * request_cost(baseline, mix, catalogue, at)
        top = best_model(category, scores)
        best += share * request_cost(top, mix, catalogue, at)
        best_quality += mix.share * scores[top][category]
        if score is None:
            known = False
        else:
            quality += mix.share * score
    return Report(tuple(rows), total * MILLION, quality if known else None, opus * MILLION, best * MILLION,
                  best_quality)


def policy_assignment(policy: Policy, preference: str = "balanced") -> dict[str, str]:
    """Each category's first-choice model under `preference` (cheapest / balanced / quality)."""
    if preference not in PREFERENCES:
        raise ValueError(f"preference must be one of {', '.join(sorted(PREFERENCES))}, got {preference!r}")
    return {category: _primary(rule, preference) for category, rule in policy.categories.items()}


def simulate(policy: Policy, traffic: Traffic, catalogue: Catalogue, scores: Mapping[str, Mapping[str, float]],
             at: datetime, preference: str = "balanced") -> Report:
    """What `policy` costs and delivers on `traffic` for callers with `preference`."""
    return evaluate(policy_assignment(policy, preference), traffic, catalogue, scores, at, catalogue.baseline_model)


def blend_cost(shares: Mapping[str, float], traffic: Traffic, catalogue: Catalogue, at: datetime) -> Decimal:
    """Cost per million requests when every category is split across models by fixed shares."""
    total = Decimal(0)
    for mix in traffic.categories.values():
        for model, share in shares.items():
            total += Decimal(str(mix.share * share)) * request_cost(model, mix, catalogue, at)
    return total * MILLION


def format_report(report: Report, title: str) -> str:
    """A plain-text table of a simulation."""
    lines = [f"{title}", f"{'cat':<5}{'share':>7}  {'model':<18}{'$/request':>12}{'quality':>9}"]
    for row in report.rows:
        quality = f"{row.quality:.0f}" if row.quality is not None else "n/a"
        lines.append(f"{row.category:<5}{row.share:>7.1%}  {row.model:<18}{row.cost_per_request:>12.6f}{quality:>9}")
    quality = f"{report.quality:.2f}" if report.quality is not None else "unknown (unscored routes)"
    lines += [
        f"cost per 1M requests: ${report.cost_per_million:,.2f}",
        f"expected quality: {quality} (always-best: {report.all_best_quality:.2f})",
        f"all-Opus: ${report.all_opus_cost_per_million:,.2f} -> saving {report.saving_vs_opus:.1%} "
        f"({_times(report.all_opus_cost_per_million, report.cost_per_million)} cheaper)",
        f"always-best model: ${report.all_best_cost_per_million:,.2f} -> saving {report.saving_vs_best:.1%}",
    ]
    return "\n".join(lines)


def _times(reference: Decimal, spent: Decimal) -> str:
    return f"{reference / spent:.2f}x" if spent else "n/a"


def format_diff(old: Report, new: Report) -> str:
    """Two simulations side by side: what a policy change does to cost and quality."""
    lines = [f"{'cat':<5}{'share':>7}  {'old model':<18}{'new model':<18}{'Δ$/request':>12}{'Δquality':>10}"]
    for a, b in zip(old.rows, new.rows, strict=True):
        dq = (b.quality - a.quality) if a.quality is not None and b.quality is not None else None
        mark = "" if a.model == b.model else "  *"
        delta_quality = f"{dq:+.0f}" if dq is not None else "n/a"
        lines.append(f"{a.category:<5}{a.share:>7.1%}  {a.model:<18}{b.model:<18}"
                     f"{b.cost_per_request - a.cost_per_request:>+12.6f}{delta_quality:>10}{mark}")
    old_q = f"{old.quality:.2f}" if old.quality is not None else "unknown"
    new_q = f"{new.quality:.2f}" if new.quality is not None else "unknown"
    change = (new.cost_per_million / old.cost_per_million - 1) if old.cost_per_million else Decimal(0)
    lines += [f"cost per 1M requests: ${old.cost_per_million:,.2f} -> ${new.cost_per_million:,.2f} ({change:+.1%})",
              f"expected quality: {old_q} -> {new_q} (always-best: {new.all_best_quality:.2f})",
              f"saving vs all-Opus: {old.saving_vs_opus:.1%} -> {new.saving_vs_opus:.1%} "
              f"({_times(old.all_opus_cost_per_million, old.cost_per_million)} -> "
              f"{_times(new.all_opus_cost_per_million, new.cost_per_million)} cheaper)",
              f"saving vs always-best: {old.saving_vs_best:.1%} -> {new.saving_vs_best:.1%}"]
    return "\n".join(lines)


def summary(report: Report) -> dict[str, Any]:
    """The headline numbers as plain data (JSON output)."""
    return {"cost_per_million_usd": float(report.cost_per_million), "quality": report.quality,
            "all_opus_cost_per_million_usd": float(report.all_opus_cost_per_million),
            "saving_vs_all_opus": report.saving_vs_opus, "saving_vs_always_best": report.saving_vs_best}
