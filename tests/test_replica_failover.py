"""Replica failover: a retry after a replica fails goes to the prefix's next replica in rendezvous order."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.errors import InvalidRequest, RateLimited, UpstreamError, UpstreamTimeout
from gateway.providers.openai_compat import prefix_key
from gateway.providers.replicas import ReplicaFailover, home_replica, is_replica_failure, rendezvous_order
from tests.conftest import MASTER_KEY
from tests.mock_upstream import MockUpstream, Reply

REPLICAS = ("http://a:8001/v1", "http://b:8001/v1", "http://c:8001/v1")


class Clock:
    """A hand-wound monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def chat(system: str) -> dict:
    return {"model": "local-worker", "max_tokens": 4,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]}


def test_failed_replica_hands_its_prefixes_to_the_next_in_order_until_the_hold_ends():
    clock = Clock()
    failover = ReplicaFailover(hold_s=10, clock=clock)
    key = b"system prompt"
    order = rendezvous_order(REPLICAS, key)
    assert failover.choose(REPLICAS, key) == order[0] == home_replica(REPLICAS, key)
    failover.failed(order[0])
    assert failover.choose(REPLICAS, key) == order[1]
    # prefixes homed elsewhere keep their replica
    others = [k for k in (f"p{i}".encode() for i in range(50)) if home_replica(REPLICAS, k) != order[0]]
    assert all(failover.choose(REPLICAS, k) == home_replica(REPLICAS, k) for k in others)
    clock.now += 1
    failover.failed(order[1])
    assert failover.choose(REPLICAS, key) == order[2]
    clock.now += 1
    failover.failed(order[2])
    assert failover.choose(REPLICAS, key) == order[0]  # all down: the one that failed longest ago
    clock.now += 10
    assert failover.choose(REPLICAS, key) == order[0] and failover._failed_at == {}  # affinity is back


def test_only_transport_timeouts_and_5xx_count_as_replica_failures():
    assert is_replica_failure(UpstreamError("x", code="upstream_unreachable"))
    assert is_replica_failure(UpstreamError("x")) and is_replica_failure(UpstreamTimeout("x"))
    assert not is_replica_failure(UpstreamError("x", code="upstream_auth_failed"))
    assert not is_replica_failure(RateLimited("x")) and not is_replica_failure(InvalidRequest("x"))


@pytest.fixture(scope="module")
def live() -> MockUpstream:
    return MockUpstream().start()


@pytest.fixture(scope="module")
def broken() -> MockUpstream:
    return MockUpstream().start()


@pytest.fixture
def dead_url() -> str:
    """A loopback port nobody listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/dead/v1"


def policies_with_replicas(source: Path, target: Path, replicas: list[str]) -> Path:
    target.mkdir()
    for path in source.glob("*.yaml"):
        (target / path.name).write_text(path.read_text())
    catalogue = yaml.safe_load((target / "models.yaml").read_text())
    catalogue["models"]["local-worker"]["deployments"][0]["replicas"] = replicas
    (target / "models.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return target


def prefixes_homed(replicas: tuple[str, ...], home: str, count: int) -> Iterator[str]:
    """System prompts whose rendezvous home is `home`."""
    found = 0
    for i in range(1000):
        system = f"system prompt {i}"
        if home_replica(replicas, prefix_key(chat(system))) == home:
            found += 1
            yield system
            if found == count:
                return


def post(gateway, body: dict) -> httpx.Response:
    return httpx.post(gateway.base_url + "/chat/completions", json=body,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10)


def test_a_down_replica_fails_over_and_affinity_holds_otherwise(start_gateway, mock_policies, tmp_path, live,
                                                                 dead_url):
    live.reset()
    live_url = live.url("live/v1")
    replicas = (live_url, dead_url)
    gateway = start_gateway(policies=policies_with_replicas(mock_policies, tmp_path / "p", list(replicas)),
                            retry_base_s=0.01)
    dead_homed = list(prefixes_homed(replicas, dead_url, 2))
    live_homed = list(prefixes_homed(replicas, live_url, 3))
    first = post(gateway, chat(dead_homed[0]))
    assert first.status_code == 200 and first.headers["x-gateway-deployment"] == "local-worker@self-hosted"
    assert len(live.seen) == 1  # the retry went to the live replica
    streamed = post(gateway, {**chat(dead_homed[1]), "stream": True})
    assert streamed.status_code == 200 and "[DONE]" in streamed.text
    for system in live_homed:
        assert post(gateway, chat(system)).status_code == 200
    assert [seen.path for seen in live.seen] == ["/live/v1/chat/completions"] * 5


def test_a_replica_answering_5xx_fails_over(start_gateway, mock_policies, tmp_path, live, broken):
    live.reset()
    broken.reset()
    broken.handler = lambda path, body: Reply(status=500, json={"error": {"message": "CUDA error"}})
    replicas = (live.url("live/v1"), broken.url("broken/v1"))
    gateway = start_gateway(policies=policies_with_replicas(mock_policies, tmp_path / "p", list(replicas)),
                            retry_base_s=0.01)
    systems = list(prefixes_homed(replicas, replicas[1], 3))
    assert all(post(gateway, chat(system)).status_code == 200 for system in systems)
    # one failure moved every prefix of the broken replica; later ones went straight to the live one
    assert len(broken.seen) == 1 and len(live.seen) == 3


@pytest.mark.parametrize("failure", [
    Reply(sse=[{"error": {"message": "CUDA out of memory"}}]),  # an error event instead of the first chunk
    Reply(sse=[b": warming up\n\n", {"choices": []}], cut_after=1),  # the connection cut after the headers
])
def test_a_replica_failing_a_stream_before_its_first_chunk_fails_over(start_gateway, mock_policies, tmp_path, live,
                                                                       broken, failure):
    live.reset()
    broken.reset()
    broken.handler = lambda path, body: failure
    replicas = (live.url("live/v1"), broken.url("broken/v1"))
    gateway = start_gateway(policies=policies_with_replicas(mock_policies, tmp_path / "p", list(replicas)),
                            retry_base_s=0.01)
    systems = list(prefixes_homed(replicas, replicas[1], 3))
    for system in systems:
        streamed = post(gateway, {**chat(system), "stream": True})
        assert streamed.status_code == 200 and "[DONE]" in streamed.text and "error" not in streamed.text
    # the first stream's failure moved the broken replica's prefixes: its retry and the later
    # streams went straight to the live one
    assert len(broken.seen) == 1 and len(live.seen) == 3
