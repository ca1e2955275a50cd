"""The ledger's operator commands as shipped in `gateway` (db, keys, spend) on both databases."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from gateway.ledger import migrate
from tests.test_ledger_support import pg_url  # noqa: F401


def _run(url: str, *argv: str):
    return CliRunner().invoke(app, list(argv), env={"GATEWAY_DATABASE_URL": url})


def _operator_session(url: str) -> None:
    assert migrate.current_revision(url) is None
    result = _run(url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert migrate.current_revision(url) == migrate.head_revision()
    migrate.check_up_to_date(url)

    created = _run(url, "keys", "create", "--team", "search", "--name", "indexer", "--rpm", "60")
    assert created.exit_code == 0, created.output
    key = re.search(r"key:\s+(gw-\S+)", created.output).group(1)
    key_id = re.search(r"id:\s+(key_\w+)", created.output).group(1)
    listed = _run(url, "keys", "list")
    assert key_id in listed.output and key[:8] in listed.output and key not in listed.output
    assert _run(url, "keys", "revoke", key_id).exit_code == 0
    assert _run(url, "keys", "revoke", key_id).exit_code == 1
    assert key_id not in _run(url, "keys", "list").output

    report = _run(url, "spend", "--by", "model", "--since", "24h")
    assert report.exit_code == 0, report.output

    assert _run(url, "db", "downgrade", "base").exit_code == 0
    assert migrate.current_revision(url) is None


def test_operator_session_on_sqlite(tmp_path: Path) -> None:
    _operator_session(f"sqlite:///{tmp_path}/var/gateway.db")


def test_operator_session_on_postgresql(pg_url: str) -> None:  # noqa: F811
    _operator_session(pg_url)


def test_bad_operator_input_is_named_and_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert _run(url, "db", "upgrade").exit_code == 0
    for argv, fragment in [
        (("--team", ""), "--team: must not be empty"),
        (("--team", "t", "--rpm", "-5"), "--rpm: must be a positive integer"),
        (("--team", "t", "--tpm", "9" * 20), "--tpm: must be a positive integer"),
        (("--team", "t", "--budget", "1e30/month"), "must be at most 9999999999 USD"),
        (("--team", "t", "--budget", "lots/day"), "must be a number of USD"),
    ]:
        result = _run(url, "keys", "create", *argv)
        output = " ".join(result.output.replace("│", " ").split())  # the error box wraps long lines
        assert result.exit_code == 2 and fragment in output and "Traceback" not in output, result.output
    assert "key_" not in _run(url, "keys", "list").output  # no key was left without its checks
    refused = _run(url, "db", "downgrade", "no-such-revision")
    assert refused.exit_code == 2 and "Can't locate revision" in refused.output
    assert "Traceback" not in refused.output
