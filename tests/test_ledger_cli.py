"""The ledger's operator commands (db, keys, spend), mounted as gateway/cli.py mounts them."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from gateway.ledger.cli import db_app, keys_app, spend
from tests.test_ledger_support import pg_url  # noqa: F401

cli = typer.Typer()
cli.add_typer(db_app, name="db")
cli.add_typer(keys_app, name="keys")
cli.command("spend")(spend)


def _run(url: str, *argv: str):
    return CliRunner().invoke(cli, list(argv), env={"GATEWAY_DATABASE_URL": url})


def _operator_session(url: str) -> None:
    result = _run(url, "db", "current")
    assert result.exit_code == 1 and "gateway db upgrade" in result.output
    result = _run(url, "db", "upgrade")
    assert result.exit_code == 0 and "revision 0002" in result.output, result.output
    assert _run(url, "db", "current").exit_code == 0

    created = _run(url, "keys", "create", "--team", "search", "--name", "indexer", "--rpm", "60")
    assert created.exit_code == 0, created.output
    key = re.search(r"key: (gw-\S+)", created.output).group(1)
    key_id = re.search(r"id:  (key_\w+)", created.output).group(1)
    listed = _run(url, "keys", "list")
    assert key_id in listed.output and key[:8] in listed.output and key not in listed.output
    assert _run(url, "keys", "revoke", key_id).exit_code == 0
    assert _run(url, "keys", "revoke", key_id).exit_code == 1
    assert "no active keys" in _run(url, "keys", "list").output

    report = _run(url, "spend", "--by", "model", "--since", "24h")
    assert report.exit_code == 0 and "no requests" in report.output
    bad = _run(url, "spend", "--since", "a week")
    assert bad.exit_code == 2 and "7d, 24h or 30m" in bad.output

    assert _run(url, "db", "downgrade", "base").exit_code == 0
    assert _run(url, "db", "current").exit_code == 1


def test_operator_session_on_sqlite(tmp_path: Path) -> None:
    _operator_session(f"sqlite:///{tmp_path}/var/gateway.db")


def test_operator_session_on_postgresql(pg_url: str) -> None:  # noqa: F811
    _operator_session(pg_url)
