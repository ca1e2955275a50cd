"""Run the gateway for tests on a real port (uvicorn in a thread), as a client would meet it."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from gateway.app import create_app
from gateway.records import MemoryRecorder
from gateway.settings import Settings

REPO = Path(__file__).resolve().parents[1]
UPSTREAM_KEYS = {
    "DEEPSEEK_API_KEY": "sk-deepseek-SECRET-1111",
    "TOGETHER_API_KEY": "sk-together-SECRET-2222",
    "FIREWORKS_API_KEY": "sk-fireworks-SECRET-3333",
    "ANTHROPIC_API_KEY": "sk-ant-SECRET-4444",
    "OPENAI_API_KEY": "sk-openai-SECRET-5555",
    "GEMINI_API_KEY": "gemini-SECRET-6666",
}


def write_mock_policies(target: Path, mock_port: int) -> Path:
    """The shipped catalogue with every upstream pointed at the mock server (path = operator)."""
    target.mkdir(parents=True, exist_ok=True)
    for source in (REPO / "policies").glob("*.yaml"):
        (target / source.name).write_text(source.read_text())
    catalogue = yaml.safe_load((REPO / "policies" / "models.yaml").read_text())
    for model in catalogue["models"].values():
        for deployment in model["deployments"]:
            suffix = "" if deployment["provider"] == "anthropic" else "/v1"
            deployment["base_url"] = f"http://127.0.0.1:{mock_port}/{deployment['name']}{suffix}"
            if deployment.get("replicas"):
                deployment["replicas"] = [f"http://127.0.0.1:{mock_port}/{deployment['name']}/r{i}/v1"
                                          for i in range(len(deployment["replicas"]))]
    (target / "models.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return target


class ThreadedServer:
    """An ASGI app served by uvicorn on a free loopback port in a background thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> ThreadedServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("server failed to start")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


class GatewayServer(ThreadedServer):
    """The gateway, recording every request in memory for assertions."""

    def __init__(self, settings: Settings) -> None:
        self.recorder = MemoryRecorder()
        self.settings = settings
        super().__init__(create_app(settings, recorders=[self.recorder]))


def settings_for(policies: Path, **overrides: Any) -> Settings:
    """Test settings: mock upstream keys present, short timeouts, ledger off unless a database is given."""
    env = {**UPSTREAM_KEYS, **overrides.pop("env", {})}
    base = dict(policies_dir=policies, extra_env=env, connect_timeout_s=2.0, read_timeout_s=5.0, total_timeout_s=10.0,
                ledger="database_url" in overrides)
    base.update(overrides)
    return Settings(**base)
