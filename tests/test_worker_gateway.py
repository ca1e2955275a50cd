"""End to end: a self_hosted_only team is routed by the gateway to the bundled worker."""

from __future__ import annotations

import httpx
import openai
import pytest
import yaml

from gateway.ledger import upgrade
from tests.conftest import MASTER_KEY
from tests.servers import REPO
from tests.worker_helpers import WorkerServer, make_engine, stop_engine, tiny_model_dir  # noqa: F401

ADMIN = "gw-admin-worker-test"


@pytest.fixture
def worker(tiny_model_dir):  # noqa: F811
    server = WorkerServer(make_engine(tiny_model_dir, max_batch=8)).start()
    yield server
    server.stop()
    stop_engine(server.engine)


@pytest.fixture
def policies_with_worker(mock_policies, worker, tmp_path):
    target = tmp_path / "policies"
    target.mkdir()
    for source in mock_policies.glob("*.yaml"):
        (target / source.name).write_text(source.read_text())
    catalogue = yaml.safe_load((target / "models.yaml").read_text())
    for model in catalogue["models"].values():
        for deployment in model["deployments"]:
            if deployment.get("self_hosted"):
                deployment["base_url"] = worker.base_url
                deployment.pop("replicas", None)
    (target / "models.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return target


def test_self_hosted_only_team_is_served_by_the_worker(start_gateway, policies_with_worker, tmp_path, upstream):
    database = f"sqlite:///{tmp_path}/ledger.db"
    upgrade(database)
    gateway = start_gateway(policies=policies_with_worker, database_url=database, admin_key=ADMIN,
                            spool_dir=tmp_path / "spool")
    created = httpx.post(gateway.base_url.replace("/v1", "/admin/keys"), json={"team": "regulated"},
                         headers={"Authorization": f"Bearer {ADMIN}"}).json()
    client = openai.OpenAI(base_url=gateway.base_url, api_key=created["key"], max_retries=0)
    system = {"role": "system", "content": "You answer questions about the claims process. " * 8}
    raw = client.chat.completions.with_raw_response.create(
        model="auto", max_tokens=8, temperature=0,
        messages=[system, {"role": "user", "content": "Summarise the claim in one line."}])
    answer = raw.parse()
    assert raw.headers["x-gateway-deployment"] == "deepseek-v4-pro@self-hosted"
    assert answer.choices[0].message.content is not None and answer.usage.completion_tokens >= 1
    assert upstream.seen == []  # nothing left the building
    # a second request with the same system prompt reuses the worker's prefix cache, priced as cached input
    raw = client.chat.completions.with_raw_response.create(
        model="auto", max_tokens=8, temperature=0,
        messages=[system, {"role": "user", "content": "And the amount?"}])
    assert raw.parse().usage.prompt_tokens_details.cached_tokens > 0
    streamed = list(client.chat.completions.create(
        model="auto", max_tokens=8, temperature=0, stream=True,  # (sampled, the tiny model may end at once)
        messages=[system, {"role": "user", "content": "Status?"}]))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    # explicit frontier models are refused for this team
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="claude-opus-4.7", messages=[{"role": "user", "content": "x"}])
    assert upstream.seen == []


def self_hosted_rates(name: str) -> dict[str, float]:
    """USD per 1M tokens from the shipped catalogue's `self_hosted_cost`: GPU cost per hour ÷ tokens per hour."""
    catalogue = yaml.safe_load((REPO / "policies" / "models.yaml").read_text())
    (deployment,) = (d for m in catalogue["models"].values() for d in m["deployments"] if d["name"] == name)
    raw = deployment["self_hosted_cost"]
    hourly = raw["gpu_hour_usd"] * raw.get("gpus", 1)
    per_million_input = hourly / (raw["input_tokens_per_s"] * 3600) * 1e6
    return {"input": per_million_input, "cached_input": per_million_input * raw.get("cached_fraction", 0.1),
            "output": hourly / (raw["output_tokens_per_s"] * 3600) * 1e6}


def test_local_worker_is_charged_its_derived_price_with_prefix_hits_as_cached_input(
        start_gateway, policies_with_worker, upstream):
    rates = self_hosted_rates("local-worker@self-hosted")
    gateway = start_gateway(policies=policies_with_worker)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    # Long enough (hundreds of tokens) that pricing the cached part at the full input rate is a visible error.
    system = {"role": "system", "content": "You answer questions about the claims process, politely. " * 16}
    charged = []
    for question in ("Summarise the claim in one line.", "And the amount?"):
        raw = client.chat.completions.with_raw_response.create(
            model="local-worker", max_tokens=8, temperature=0, messages=[system, {"role": "user", "content": question}])
        usage = raw.parse().usage
        assert raw.headers["x-gateway-deployment"] == "local-worker@self-hosted"
        cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
        expected = ((usage.prompt_tokens - cached) * rates["input"] + cached * rates["cached_input"]
                    + usage.completion_tokens * rates["output"]) / 1e6
        charged.append((float(raw.headers["x-gateway-cost-usd"]), expected, cached, usage.prompt_tokens))
    # The catalogue rounds rates to 6 decimals per 1M and the header to 1e-10 USD: both far below 1e-9 here.
    for header, expected, _cached, _prompt in charged:
        assert header == pytest.approx(expected, abs=1e-9)
    _, _, cached, prompt = charged[1]
    assert cached >= 256 and cached <= prompt  # the system prompt came from the worker's prefix cache
    assert cached * (rates["input"] - rates["cached_input"]) / 1e6 > 10e-9  # ... priced as cached (10x the tolerance)
    assert gateway.recorder.records[-1].usage.cached_input == cached
    assert upstream.seen == []
