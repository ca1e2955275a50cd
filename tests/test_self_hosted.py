"""Self-hosted deployments: prices derived from GPU cost and throughput; prefix-affinity replicas."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import httpx
import pytest

from gateway.catalogue import CatalogueError, derive_self_hosted_price, parse_catalogue
from gateway.providers.openai_compat import pick_replica
from tests.conftest import MASTER_KEY

REPLICAS = ("http://a:8001/v1", "http://b:8001/v1", "http://c:8001/v1")


def body(system: str, question: str) -> dict:
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": question}]}


def test_price_from_gpu_hour_cost_and_throughput():
    entry = derive_self_hosted_price({"gpu_hour_usd": 3.6, "gpus": 8, "input_tokens_per_s": 40000,
                                      "output_tokens_per_s": 4000, "effective": "2026-05-01"}, "x")
    # $28.80/h over 40,000 tok/s = $0.20 per 1M input; over 4,000 tok/s = $2.00 per 1M output
    assert (entry["input"], entry["output"], entry["cached_input"]) == (0.2, 2.0, 0.02)
    catalogue = parse_catalogue({"baseline_model": "m", "models": {"m": {"context_window": 10, "deployments": [
        {"name": "m@self", "provider": "openai_compat", "base_url": "http://w/v1", "self_hosted_cost": {
            "gpu_hour_usd": 3.6, "gpus": 8, "input_tokens_per_s": 40000, "output_tokens_per_s": 4000}}]}}})
    assert catalogue.deployment("m@self").prices[0].rates.output == Decimal("2.0")
    with pytest.raises(CatalogueError, match="gpu_hour_usd"):
        derive_self_hosted_price({"gpus": 1}, "x")


def test_same_prefix_same_replica_and_prefixes_spread():
    system = "You are the claims assistant of ACME insurance. " * 20
    chosen = {pick_replica(REPLICAS, body(system, "q")) for _ in range(5)}
    assert len(chosen) == 1
    # later turns of the same conversation keep the opening messages, hence the replica
    later = body(system, "q")
    later["messages"] += [{"role": "assistant", "content": "a"}, {"role": "user", "content": "more"}]
    assert pick_replica(REPLICAS, later) in chosen
    spread = Counter(pick_replica(REPLICAS, body(f"system prompt {i}", "q")) for i in range(300))
    assert set(spread) == set(REPLICAS) and min(spread.values()) > 60
    # removing a replica only moves the prefixes it held
    before = {i: pick_replica(REPLICAS, body(f"p{i}", "q")) for i in range(300)}
    after = {i: pick_replica(REPLICAS[:2], body(f"p{i}", "q")) for i in range(300)}
    assert all(after[i] == before[i] for i in before if before[i] != REPLICAS[2])


def test_worker_replicas_get_prefix_affinity_through_the_gateway(gateway, upstream):
    for prefix in ("alpha", "beta", "gamma", "delta"):
        paths = set()
        for turn in range(3):
            response = httpx.post(gateway.base_url + "/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                                  json={"model": "local-worker", "messages": [
                                      {"role": "system", "content": f"{prefix} system prompt"},
                                      {"role": "user", "content": f"question {turn}"}]})
            assert response.status_code == 200
            paths.add(upstream.seen[-1].path)
        assert len(paths) == 1 and paths.pop().startswith("/local-worker@self-hosted/r")
