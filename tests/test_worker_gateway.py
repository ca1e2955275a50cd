"""End to end: a self_hosted_only team is routed by the gateway to the bundled worker."""

from __future__ import annotations

import httpx
import openai
import pytest
import yaml

from gateway.ledger import upgrade
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
        model="auto", max_tokens=8, stream=True, messages=[system, {"role": "user", "content": "Status?"}]))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    # explicit frontier models are refused for this team
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="claude-opus-4.7", messages=[{"role": "user", "content": "x"}])
    assert upstream.seen == []
