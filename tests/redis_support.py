"""A real Redis for tests: the machine's (127.0.0.1:6379) or one started from the system binary."""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import time

import pytest

_server: dict[str, str] = {}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def redis_server_url() -> str:
    """A Redis URL (database 0 prefix), starting `redis-server` on a free port if none is running."""
    if "url" in _server:
        return _server["url"]
    if _listening(6379):
        _server["url"] = "redis://127.0.0.1:6379"
        return _server["url"]
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(process.terminate)
    deadline = time.monotonic() + 10
    while not _listening(port):
        if time.monotonic() > deadline:
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    _server["url"] = f"redis://127.0.0.1:{port}"
    return _server["url"]
