"""`gateway db upgrade|downgrade|current`, `gateway keys create|list|revoke`, `gateway spend`.

Typer apps for gateway/cli.py to mount; each command reads GATEWAY_DATABASE_URL through Settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.ledger import keys as ledger_keys
from gateway.ledger import migrate
from gateway.ledger.engine import create_engine
from gateway.ledger.report import GROUPS, SpendRow, parse_since, spend_report
from gateway.settings import Settings

T = TypeVar("T")

db_app = typer.Typer(help="Ledger database schema (Alembic migrations).", no_args_is_help=True)
keys_app = typer.Typer(help="Gateway API keys (stored hashed; the plaintext is shown once).", no_args_is_help=True)


def _database_url() -> str:
    return Settings.from_env().database_url


def _with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(_database_url())
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except OSError as exc:
        typer.echo(f"gateway: cannot reach the ledger database: {exc}", err=True)
        raise typer.Exit(1) from None


@db_app.command()
def upgrade(revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Create or migrate the ledger schema (run before starting a new gateway version)."""
    url = _database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"ledger database at revision {migrate.current_revision(url)}")


@db_app.command()
def downgrade(revision: str = typer.Argument(..., help='Target revision ("base" drops the ledger tables).')) -> None:
    """Migrate the ledger schema down to an older revision."""
    url = _database_url()
    migrate.downgrade(url, revision)
    typer.echo(f"ledger database at revision {migrate.current_revision(url) or 'base (empty)'}")


@db_app.command()
def current() -> None:
    """Print the ledger database's revision and whether it is up to date; exit 1 when it is not."""
    url = _database_url()
    typer.echo(f"revision {migrate.current_revision(url) or 'none'} (this gateway: {migrate.head_revision()})")
    try:
        migrate.check_up_to_date(url)
    except migrate.LedgerSchemaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@keys_app.command("create")
def create_key(
    team: str | None = typer.Option(None, help="Team the key bills to."),
    name: str | None = typer.Option(None, help="A label for people."),
    rpm: int | None = typer.Option(None, help="Requests per minute limit."),
    tpm: int | None = typer.Option(None, help="Tokens per minute limit."),
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    plaintext, row = _with_engine(lambda engine: ledger_keys.create_key(engine, team, name, rpm, tpm))
    typer.echo(f"id:  {row.id}\nkey: {plaintext}\nStore the key now: the gateway keeps only its hash.")


@keys_app.command("list")
def list_keys() -> None:
    """List active keys (prefix, team, limits; never the key)."""
    rows = _with_engine(ledger_keys.load_keys)
    for row in rows:
        typer.echo(f"{row.id}  {row.key_prefix}…  team={row.team or '-'}  name={row.name or '-'}  "
                   f"rpm={row.rpm or '-'}  tpm={row.tpm or '-'}  created={row.created_at:%Y-%m-%d %H:%M}Z")
    if not rows:
        typer.echo("no active keys")


@keys_app.command("revoke")
def revoke_key(key_id: str = typer.Argument(..., help="The key's id (key_...), not the key itself.")) -> None:
    """Revoke a key (gateways stop accepting it on their next key refresh)."""
    if not _with_engine(lambda engine: ledger_keys.revoke_key(engine, key_id)):
        typer.echo(f"no active key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def _usd(value: Decimal) -> str:
    return f"{value:,.4f}"


def format_spend(rows: list[SpendRow], by: str) -> str:
    """A fixed-width table of a spend report."""
    header = (f"{by:<24} {'requests':>9} {'input':>12} {'cached':>12} {'output':>12} {'cost $':>12} "
              f"{'baseline $':>12} {'saved $':>12} {'cache $':>10} {'cache %':>8}")
    lines = [header, "-" * len(header)]
    for row in rows:
        share = "-" if row.cache_share is None else f"{row.cache_share * 100:.1f}"
        lines.append(f"{row.key[:24]:<24} {row.requests:>9} {row.input_tokens:>12} {row.cached_input_tokens:>12} "
                     f"{row.output_tokens:>12} {_usd(row.cost_usd):>12} {_usd(row.baseline_usd):>12} "
                     f"{_usd(row.saved_usd):>12} {_usd(row.cache_savings_usd):>10} {share:>8}")
    if not rows:
        lines.append("(no requests in this window)")
    return "\n".join(lines)


def spend(
    by: str = typer.Option("team", help=f"Group by: {', '.join(GROUPS)}."),
    since: str = typer.Option("7d", help="Look-back window, e.g. 7d, 24h, 30m."),
) -> None:
    """Spend, savings and cache savings from the ledger, grouped by team, key, model, category or day."""
    if by not in GROUPS:
        typer.echo(f"--by must be one of {', '.join(GROUPS)}", err=True)
        raise typer.Exit(2)
    try:
        window = parse_since(since)
    except ValueError as exc:
        typer.echo(f"--since: {exc}", err=True)
        raise typer.Exit(2) from None
    rows = _with_engine(lambda engine: spend_report(engine, by, window))  # type: ignore[arg-type]
    typer.echo(format_spend(rows, by))
