"""`gateway db|keys|spend`: schema migrations, virtual keys and spend reports from the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import typer

from gateway.settings import Settings

T = TypeVar("T")
db_app = typer.Typer(help="Ledger database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Virtual API keys (stored hashed; shown once).", no_args_is_help=True)


def _run(work: Awaitable[T]) -> T:
    return asyncio.run(work)


async def _with_engine(action: Any) -> Any:
    from gateway.ledger import create_engine

    engine = create_engine(Settings.from_env().database_url)
    try:
        return await action(engine)
    finally:
        await engine.dispose()


@contextmanager
def _migration_errors() -> Iterator[None]:
    """Alembic's refusals (an unknown revision, say) as one line and exit status 2, not a traceback."""
    from alembic.util.exc import CommandError

    try:
        yield
    except CommandError as exc:
        typer.echo(f"gateway db: {exc}", err=True)
        raise typer.Exit(2) from None


@db_app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to GATEWAY_DATABASE_URL (SQLite file by default)."""
    from gateway.ledger import current_revision
    from gateway.ledger import upgrade as run_upgrade

    url = Settings.from_env().database_url
    with _migration_errors():
        run_upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


@db_app.command()
def current() -> None:
    """Show the database's revision and whether the gateway can start on it."""
    from gateway.ledger import LedgerSchemaError, check_up_to_date, current_revision

    url = Settings.from_env().database_url
    typer.echo(f"revision: {current_revision(url) or '(empty)'}")
    try:
        check_up_to_date(url)
    except LedgerSchemaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo("up to date")


@db_app.command()
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (use 'base' for an empty schema)."""
    from gateway.ledger import downgrade as run_downgrade

    with _migration_errors():
        run_downgrade(Settings.from_env().database_url, revision)
    typer.echo(f"database downgraded to {revision}")


def _budget(budget: str | None) -> tuple[Decimal, str] | None:
    from gateway.ledger.keys import budget_limit

    if not budget:
        return None
    amount, _, period = budget.partition("/")
    if period not in ("day", "week", "month"):
        raise typer.BadParameter("use USD/period, e.g. 50/month (period: day, week or month)", param_hint="--budget")
    try:
        return budget_limit(amount), period
    except ValueError as exc:
        raise typer.BadParameter(f"the amount {exc}", param_hint="--budget") from None


def _rate(value: int | None, hint: str) -> int | None:
    from gateway.ledger.keys import check_rate

    try:
        check_rate(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    return value


@keys_app.command("create")
def create(team: str = typer.Option(..., "--team"), name: str | None = typer.Option(None, "--name"),
           budget: str | None = typer.Option(None, "--budget", help="USD/period, e.g. 50/month"),
           rpm: int | None = typer.Option(None, "--rpm"), tpm: int | None = typer.Option(None, "--tpm")) -> None:
    """Create a key for TEAM; prints it once."""
    from gateway.ledger import create_key, set_budget

    # Everything is checked before the key exists: a bad budget must not leave a key without one.
    if not team.strip():
        raise typer.BadParameter("must not be empty", param_hint="--team")
    rpm, tpm, parsed = _rate(rpm, "--rpm"), _rate(tpm, "--tpm"), _budget(budget)

    async def action(engine: Any) -> tuple[str, Any]:
        plaintext, row = await create_key(engine, team, name, rpm, tpm)
        if parsed:
            await set_budget(engine, "key", row.id, parsed[0], parsed[1])
        return plaintext, row

    plaintext, row = _run(_with_engine(action))
    typer.echo(f"id:   {row.id}\nkey:  {plaintext}\nteam: {team}\n(store the key now: only its hash is kept)")


@keys_app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key by id."""
    from gateway.ledger import revoke_key

    if not _run(_with_engine(lambda engine: revoke_key(engine, key_id))):
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@keys_app.command("list")
def list_keys() -> None:
    """Active keys (prefixes only)."""
    from gateway.ledger import load_keys

    for row in _run(_with_engine(load_keys)):
        typer.echo(f"{row.id}  {row.key_prefix}…  team={row.team}  rpm={row.rpm}  tpm={row.tpm}")


def spend(by: str = typer.Option("team", "--by", help="team|key|model|category|day"),
          since: str = typer.Option("7d", "--since", help="e.g. 7d, 24h, 30m")) -> None:
    """Spend, savings against the baseline and the cached-input share, from the ledger."""
    from gateway.ledger import parse_since, spend_report

    if by not in ("team", "key", "model", "category", "day"):
        raise typer.BadParameter("--by must be team, key, model, category or day")
    try:
        window = parse_since(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    rows = _run(_with_engine(lambda engine: spend_report(engine, by, window)))
    typer.echo(f"{by:<22}{'requests':>9}{'input tok':>11}{'cached tok':>11}{'output tok':>11}{'cost $':>12}"
               f"{'baseline $':>12}{'saved $':>12}{'cache saved $':>14}{'cache share':>12}")
    for r in rows:
        share = f"{r.cache_share:.1%}" if r.cache_share is not None else "-"
        typer.echo(f"{str(r.key):<22}{r.requests:>9}{r.input_tokens:>11}{r.cached_input_tokens:>11}"
                   f"{r.output_tokens:>11}{r.cost_usd:>12.4f}{r.baseline_usd:>12.4f}{r.saved_usd:>12.4f}"
                   f"{r.cache_savings_usd:>14.4f}{share:>12}")
