"""`gateway policy check|simulate|diff|optimize|blend`: review routing changes before merge."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
import yaml

from gateway.catalogue import CatalogueError, load_catalogue
from gateway.policy import PolicyError, load_policy
from gateway.policy.model import PREFERENCES
from gateway.policy.optimize import Infeasible, as_routing_yaml, optimize, price_assumptions
from gateway.policy.simulate import (
    SCORES_FILE,
    ScoresError,
    blend_cost,
    evaluate,
    format_diff,
    format_report,
    load_scores,
    load_traffic,
    simulate,
)
from gateway.settings import Settings

app = typer.Typer(help="Validate, simulate, compare and optimise routing policies.", no_args_is_help=True)
TRAFFIC = typer.Option(None, "--traffic", help="Traffic mix YAML (default: traffic/sample-mix.yaml in the policies).")
POLICIES = typer.Argument(None, help="Policies directory (default: GATEWAY_POLICIES_DIR, else ./policies).")
AT = typer.Option(None, "--at", help="Price at this time (ISO, UTC): the week from it is averaged. Default: now.")
PREFERENCE = typer.Option("balanced", "--preference", help="Simulate callers with this preference: cheapest, "
                          "balanced or quality.")


def _when(at: str | None) -> datetime:
    if not at:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        raise typer.BadParameter(f"--at: expected an ISO date or time, got {at!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _policies(directory: Path | None) -> Path:
    """The policies directory: the one named, else GATEWAY_POLICIES_DIR (as `gateway serve` reads it)."""
    return directory if directory is not None else Settings.from_env().policies_dir


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _load(directory: Path):
    try:
        catalogue = load_catalogue(directory)
    except CatalogueError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # a shape the catalogue loader does not check yet: a message, not a traceback
        raise _fail(f"{directory / 'models.yaml'}: invalid ({type(exc).__name__}: {exc})") from None
    try:
        return catalogue, load_policy(directory, catalogue)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _scores(directory: Path, fallback: Path | None = None):
    """The quality table; a base branch older than scores.yaml is scored with `fallback`'s table."""
    try:
        if fallback is not None and not (directory / SCORES_FILE).exists():
            typer.echo(f"note: {directory} has no {SCORES_FILE}; scoring it with {fallback / SCORES_FILE}", err=True)
            directory = fallback
        return load_scores(directory)
    except ScoresError as exc:
        raise _fail(str(exc)) from None


def _preference(value: str) -> str:
    if value not in PREFERENCES:
        raise typer.BadParameter(f"expected one of {', '.join(sorted(PREFERENCES))}, got {value!r}",
                                 param_hint="--preference")
    return value


def _traffic(path: Path | None, directory: Path):
    path = path if path is not None else directory / "traffic" / "sample-mix.yaml"
    try:
        return path, load_traffic(path)
    except (OSError, ValueError) as exc:
        typer.echo(f"traffic: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def check(directory: Path | None = POLICIES) -> None:
    """Validate models.yaml and routing.yaml (schema, references, reachability)."""
    catalogue, policy = _load(_policies(directory))
    typer.echo(f"ok: {len(catalogue.models)} models, {len(policy.categories)} categories, "
               f"{len(policy.teams)} teams")


@app.command("simulate")
def simulate_command(directory: Path | None = POLICIES, traffic: Path | None = TRAFFIC,
                     at: str | None = AT, preference: str = PREFERENCE) -> None:
    """Cost per million requests, expected quality and savings of a policy on a traffic mix."""
    preference, directory = _preference(preference), _policies(directory)
    catalogue, policy = _load(directory)
    traffic, mix = _traffic(traffic, directory)
    report = simulate(policy, mix, catalogue, _scores(directory), _when(at), preference)
    typer.echo(format_report(report, f"policy {directory} on {traffic} (preference {preference})"))


@app.command()
def diff(old: Path, new: Path, traffic: Path | None = TRAFFIC, at: str | None = AT,
         preference: str = PREFERENCE) -> None:
    """What changing policy OLD into NEW does to cost, quality and savings."""
    preference = _preference(preference)
    _, mix = _traffic(traffic, new)
    now = _when(at)
    old_catalogue, old_policy = _load(old)
    new_catalogue, new_policy = _load(new)
    new_scores = _scores(new)
    before = simulate(old_policy, mix, old_catalogue, _scores(old, fallback=new), now, preference)
    after = simulate(new_policy, mix, new_catalogue, new_scores, now, preference)
    typer.echo(format_diff(before, after))


@app.command("optimize")
def optimize_command(
    directory: Path | None = POLICIES,
    traffic: Path | None = TRAFFIC,
    min_quality: float = typer.Option(..., "--min-quality", help="Share of the always-best mix quality, e.g. 0.95."),
    floor: float = typer.Option(0.0, "--floor", help="No category may score below this."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the proposed routing.yaml here."),
    at: str | None = AT,
) -> None:
    """Propose the cheapest routing.yaml meeting a quality target (measured verdicts kept)."""
    directory = _policies(directory)
    catalogue, policy = _load(directory)
    scores, (_, mix), now = _scores(directory), _traffic(traffic, directory), _when(at)
    try:
        assignment = optimize(policy, mix, catalogue, scores, now, min_quality, floor)
    except Infeasible as exc:
        typer.echo(f"infeasible: {exc}", err=True)
        raise typer.Exit(1) from None
    raw = yaml.safe_load((directory / "routing.yaml").read_text())
    text = as_routing_yaml(raw, assignment, min_quality, floor, scores,
                           price_assumptions(catalogue, set(assignment.values())))
    before = simulate(policy, mix, catalogue, scores, now)
    after = evaluate(assignment, mix, catalogue, scores, now, catalogue.baseline_model)
    typer.echo(format_diff(before, after))
    if output:
        output.write_text(text)
        typer.echo(f"wrote {output}")
    else:
        typer.echo(text)


@app.command()
def blend(
    share: list[str] = typer.Option(..., "--share", help="MODEL=FRACTION, repeated; fractions sum to 1."),
    directory: Path | None = typer.Option(None, "--policies", help="Policies directory (default: "
                                          "GATEWAY_POLICIES_DIR, else ./policies)."),
    traffic: Path | None = TRAFFIC,
    at: str | None = AT,
) -> None:
    """Cost of a fixed model split (e.g. 70% V4 Pro / 30% Opus) against all-Opus."""
    directory = _policies(directory)
    catalogue = _load(directory)[0]
    shares = {}
    for item in share:
        model, _, fraction = item.partition("=")
        if model not in catalogue.models:
            raise _fail(f"unknown model {model!r}; the catalogue has {', '.join(catalogue.models)}")
        try:
            shares[model] = float(fraction)
        except ValueError:
            raise typer.BadParameter(f"expected MODEL=FRACTION, got {item!r}", param_hint="--share") from None
    (_, mix), now = _traffic(traffic, directory), _when(at)
    mixed = blend_cost(shares, mix, catalogue, now)
    opus = blend_cost({catalogue.baseline_model: 1.0}, mix, catalogue, now)
    cheaper = f"{opus / mixed:.2f}x cheaper" if mixed else "free"
    typer.echo(f"blend {shares}: ${mixed:,.2f} per 1M requests; all-{catalogue.baseline_model}: ${opus:,.2f} "
               f"-> {cheaper}")
