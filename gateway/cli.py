"""The `gateway` command: serve, and the operator tools added by later modules."""

from __future__ import annotations

import ipaddress
import logging
import os

import typer

from gateway.catalogue import CatalogueError, load_catalogue
from gateway.cli_ledger import db_app, keys_app, spend
from gateway.cli_policy import app as policy_app
from gateway.settings import DEFAULT_DATABASE_URL, Settings, SettingsError

app = typer.Typer(help="Cost-aware routing gateway for LLM traffic (a drop-in OpenAI base URL).",
                  no_args_is_help=True, add_completion=False)
log = logging.getLogger("gateway")


app.add_typer(policy_app, name="policy")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.command()(spend)


@app.callback()
def _root() -> None:
    """Cost-aware routing gateway for LLM traffic (a drop-in OpenAI base URL)."""
    try:  # a mistyped GATEWAY_* variable is named before any command runs, not met as a traceback
        Settings.from_env()
    except SettingsError as exc:
        typer.echo(f"gateway: {exc}", err=True)
        raise typer.Exit(2) from None


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the gateway reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings) -> str | None:
    """Why the gateway must not start on `host` with these settings, or None when it may."""
    if settings.master_key is None and not is_loopback(host):
        return (f"refusing to listen on {host} without a key: set GATEWAY_MASTER_KEY, "
                "or bind to 127.0.0.1 for unauthenticated local use")
    return None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes."),
    simulate: bool = typer.Option(False, help="Serve every deployment from the offline simulated upstream."),
) -> None:
    """Run the gateway."""
    import uvicorn

    if simulate:
        os.environ["GATEWAY_SIMULATE"] = "1"
    settings = Settings.from_env()
    level = "DEBUG" if settings.log_level == "trace" else settings.log_level.upper()  # logging has no TRACE
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problem = check_bind(host, settings)
    if problem:
        typer.echo(f"gateway: {problem}", err=True)
        raise typer.Exit(2)
    try:
        load_catalogue(settings.policies_dir)
    except CatalogueError as exc:
        typer.echo(f"gateway: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.ledger and settings.database_url == DEFAULT_DATABASE_URL:
        # Embedded default: the local SQLite ledger is created and migrated on start so that
        # `gateway serve` just works. A configured database is migrated explicitly instead
        # (`gateway db upgrade`), and start-up refuses one at an older revision.
        from gateway.ledger import upgrade

        upgrade(settings.database_url)
    if settings.master_key is None:
        log.warning("no GATEWAY_MASTER_KEY set: accepting unauthenticated requests on %s (loopback only)", host)
    if settings.simulate:
        log.warning("GATEWAY_SIMULATE is on: every deployment is served by the offline simulated upstream")
    uvicorn.run("gateway.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, access_log=False, http="httptools", loop="uvloop",
                # Nothing reads the client address, so X-Forwarded-* rewriting would be work for nothing.
                proxy_headers=False,
                # On SIGTERM, requests still running after the grace are cancelled (their upstream calls are
                # charged and recorded, and the ledger flushed) before an orchestrator's SIGKILL loses them.
                timeout_graceful_shutdown=settings.shutdown_grace_s)


@app.command()
def demo(rounds: int = typer.Option(3, min=1, help="Times the mixed workload is sent.")) -> None:
    """Run the gateway against simulated upstreams (no keys needed) and show where traffic went."""
    from gateway.demo import run_demo

    settings = Settings.from_env()
    typer.echo(run_demo(settings.policies_dir, rounds))


@app.command()
def worker(
    model: str = typer.Option(..., "--model", help="Directory of a Hugging Face causal LM (nothing is downloaded)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8001, help="Port to listen on."),
    max_batch: int = typer.Option(32, help="Sequences decoded together (continuous batching)."),
    max_queue: int = typer.Option(256, help="Waiting requests before 503 with Retry-After."),
    engine: str = typer.Option("auto", help="auto (vLLM when installed, else built-in) | builtin | vllm."),
) -> None:
    """Run the bundled OpenAI-compatible inference worker (needs the worker extra: torch, transformers)."""
    try:
        from gateway.worker.server import run_worker
    except ImportError as exc:
        typer.echo(f"gateway worker needs the [worker] extra (torch, transformers): {exc}", err=True)
        raise typer.Exit(2) from None
    run_worker(model, host, port, max_batch, max_queue, engine=engine)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
