"""Shared fixtures: the mock upstream and a running gateway pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.mock_upstream import MockUpstream
from tests.servers import GatewayServer, settings_for, write_mock_policies

MASTER_KEY = "gw-master-test-key"


@pytest.fixture(scope="session")
def upstream() -> Iterator[MockUpstream]:
    mock = MockUpstream().start()
    yield mock


@pytest.fixture(autouse=True)
def _reset_upstream(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        request.getfixturevalue("upstream").reset()


@pytest.fixture(scope="session")
def mock_policies(tmp_path_factory: pytest.TempPathFactory, upstream: MockUpstream) -> Path:
    return write_mock_policies(tmp_path_factory.mktemp("policies"), upstream.port)


@pytest.fixture
def start_gateway(mock_policies: Path) -> Iterator[Callable[..., GatewayServer]]:
    started: list[GatewayServer] = []

    def start(**overrides) -> GatewayServer:
        overrides.setdefault("master_key", MASTER_KEY)
        server = GatewayServer(settings_for(overrides.pop("policies", mock_policies), **overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gateway(start_gateway: Callable[..., GatewayServer]) -> GatewayServer:
    return start_gateway()
