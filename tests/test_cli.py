"""The command line: the serve command's safety checks and the settings it reads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gateway.cli import app, check_bind, is_loopback
from gateway.settings import Settings, SettingsError


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_refuses_public_interface_without_a_key():
    assert "GATEWAY_MASTER_KEY" in check_bind("0.0.0.0", Settings())
    assert check_bind("0.0.0.0", Settings(master_key="k")) is None
    assert check_bind("127.0.0.1", Settings()) is None


def test_serve_exits_with_a_message_on_public_bind(monkeypatch):
    monkeypatch.delenv("GATEWAY_MASTER_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "GATEWAY_MASTER_KEY" in result.output


def test_settings_from_environment():
    settings = Settings.from_env({"GATEWAY_MAX_BODY_BYTES": "1000", "GATEWAY_MASTER_KEY": " k ",
                                  "GATEWAY_SIMULATE": "yes", "GATEWAY_POLICIES_DIR": "/p"})
    assert settings.max_body_bytes == 1000 and settings.master_key == "k" and settings.simulate
    assert str(settings.policies_dir) == "/p"
    assert Settings.from_env({}).max_body_bytes == 32 * 1024 * 1024


def test_the_serving_factory_tunes_the_garbage_collector(monkeypatch, tmp_path):
    import gc

    from gateway.app import app_from_env

    before = gc.get_threshold()
    monkeypatch.setenv("GATEWAY_LEDGER", "off")
    try:
        monkeypatch.setenv("GATEWAY_GC_THRESHOLD", "12345")
        app_from_env()
        assert gc.get_threshold() == (12345, 20, 20) and gc.get_freeze_count() > 0
        gc.set_threshold(*before)
        monkeypatch.setenv("GATEWAY_GC_THRESHOLD", "0")
        app_from_env()
        assert gc.get_threshold() == before  # 0 leaves Python's defaults alone
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


@pytest.mark.parametrize("name, value, fragment", [
    ("GATEWAY_RETRIES", "two", "GATEWAY_RETRIES must be an integer of at least 0"),
    ("GATEWAY_READ_TIMEOUT_S", "-1", "GATEWAY_READ_TIMEOUT_S must be a number greater than 0"),
    ("GATEWAY_TOTAL_TIMEOUT_S", "nan", "GATEWAY_TOTAL_TIMEOUT_S must be a number greater than 0"),
    ("GATEWAY_MAX_BODY_BYTES", "1.5", "GATEWAY_MAX_BODY_BYTES must be an integer of at least 1"),
    ("GATEWAY_BREAKER_FAILURES", "0", "GATEWAY_BREAKER_FAILURES must be an integer of at least 1"),
    ("GATEWAY_LEDGER", "oof", "GATEWAY_LEDGER must be one of 1/true/yes/on or 0/false/no/off"),
    ("GATEWAY_REDIS_FAIL", "closd", "GATEWAY_REDIS_FAIL must be one of open, closed"),
    ("GATEWAY_LOG_LEVEL", "verbose", "GATEWAY_LOG_LEVEL must be one of critical"),
    ("GATEWAY_CORS_ORIGINS", "app.example.com", "GATEWAY_CORS_ORIGINS must list origins such as https://"),
])
def test_a_bad_setting_is_named_not_met_as_a_traceback(monkeypatch, name, value, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env({name: value})
    monkeypatch.setenv(name, value)
    for command in (["serve"], ["db", "upgrade"], ["spend"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert fragment in result.output and "Traceback" not in result.output


def test_settings_accept_blank_as_the_default_and_any_case():
    settings = Settings.from_env({"GATEWAY_LEDGER": " ", "GATEWAY_LOG_LEVEL": "DEBUG", "GATEWAY_REDIS_FAIL": "Closed",
                                  "GATEWAY_RETRY_BASE_S": "0", "GATEWAY_RETRIES": ""})
    assert settings.ledger and settings.log_level == "debug" and not settings.redis_fail_open
    assert settings.retry_base_s == 0 and settings.retries == 2
    assert not Settings.from_env({"GATEWAY_LEDGER": "OFF"}).ledger


def test_cors_origins_are_a_comma_separated_list():
    assert Settings.from_env({"GATEWAY_CORS_ORIGINS": " https://a.example/, http://localhost:3000 ,"}).cors_origins \
        == ("https://a.example", "http://localhost:3000")
    assert Settings.from_env({"GATEWAY_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    assert Settings.from_env({}).cors_origins == ()


def test_blank_paths_and_database_url_mean_their_defaults():
    settings = Settings.from_env({"GATEWAY_POLICIES_DIR": "", "GATEWAY_DATABASE_URL": " ", "GATEWAY_SPOOL_DIR": ""})
    assert settings.policies_dir == Settings().policies_dir and settings.spool_dir == Settings().spool_dir
    assert settings.database_url == Settings().database_url


def test_sigterm_cancels_requests_still_running_after_the_grace_and_records_them(mock_policies, upstream, tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    import httpx
    from sqlalchemy import create_engine, text

    from gateway.ledger import upgrade
    from tests.mock_upstream import Reply, openai_answer, wait_for
    from tests.servers import UPSTREAM_KEYS

    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(database)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    upstream.handler = lambda path, body: Reply(delay=60.0, json=openai_answer(body))  # an answer that takes long
    env = {**os.environ, **UPSTREAM_KEYS, "GATEWAY_POLICIES_DIR": str(mock_policies), "GATEWAY_DATABASE_URL": database,
           "GATEWAY_SHUTDOWN_GRACE_S": "1", "GATEWAY_MASTER_KEY": "", "GATEWAY_LOG_LEVEL": "warning"}
    server = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=30)
        with httpx.Client(timeout=30) as client:
            request = client.build_request("POST", f"http://127.0.0.1:{port}/v1/chat/completions", json={
                "model": "deepseek-v4-pro", "messages": [{"role": "user", "content": "hi"}]})
            sending = threading.Thread(target=lambda: _ignore_errors(client.send, request), daemon=True)
            sending.start()
            assert wait_for(lambda: upstream.seen)  # the request is waiting on the upstream
            server.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            # uvicorn shuts down, then re-raises the signal it caught: exiting by SIGTERM is its clean exit.
            assert server.wait(timeout=10) in (0, -signal.SIGTERM) and time.monotonic() - stopped < 6
    finally:
        server.kill()
    with create_engine(database).connect() as connection:
        rows = connection.execute(text("SELECT status, input_tokens FROM requests")).all()
    assert len(rows) == 1 and rows[0].input_tokens > 0  # charged and recorded, not lost


def _ignore_errors(call, *args) -> None:
    try:
        call(*args)
    except Exception:
        pass


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
