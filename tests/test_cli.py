"""The serve command's safety checks."""

from __future__ import annotations

from typer.testing import CliRunner

from gateway.cli import app, check_bind, is_loopback
from gateway.settings import Settings


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
