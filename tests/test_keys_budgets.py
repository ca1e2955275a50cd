"""Virtual keys, budgets, rate limits and the ledger, end to end on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from decimal import Decimal

import asyncpg
import httpx
import openai
import orjson
import pytest
import redis

from gateway.ledger import upgrade
from tests.conftest import MASTER_KEY
from tests.mock_upstream import wait_for
from tests.redis_support import redis_server_url
from tests.test_ledger_support import admin_url, create_database, drop_database

ADMIN_KEY = "gw-admin-test"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def pg_database():
    url = asyncio.run(create_database(admin_url()))
    upgrade(url)
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
def redis_url():
    url = f"{redis_server_url()}/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def ledger_gateway(start_gateway, pg_database, redis_url, tmp_path):
    return start_gateway(database_url=pg_database, redis_url=redis_url, admin_key=ADMIN_KEY,
                         spool_dir=tmp_path / "spool", key_refresh_s=0.2)


def admin(gateway, method, path, **kwargs):
    url = gateway.base_url.replace("/v1", "") + path
    return httpx.request(method, url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=20, **kwargs)


def create_key(gateway, **body):
    response = admin(gateway, "POST", "/admin/keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def sql(url, query, *params):
    async def run():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(query, *params)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_keys_are_hashed_usable_and_revocable(ledger_gateway, pg_database, upstream):
    created = create_key(ledger_gateway, team="default", name="search")
    key = created["key"]
    assert key.startswith("gw-")
    client = openai.OpenAI(base_url=ledger_gateway.base_url, api_key=key, max_retries=0)
    assert client.chat.completions.create(model="gpt-5.5", messages=HELLO).choices[0].message.content
    stored = sql(pg_database, "SELECT key_hash, key_prefix FROM api_keys WHERE id = $1", created["id"])
    assert stored and key not in stored[0][0] and len(stored[0][0]) == 64
    listing = admin(ledger_gateway, "GET", "/admin/keys").json()["data"]
    assert created["id"] in [k["id"] for k in listing] and key not in str(listing)
    assert admin(ledger_gateway, "DELETE", f"/admin/keys/{created['id']}").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO)


def test_requests_land_in_the_ledger_with_costs(ledger_gateway, pg_database, upstream):
    key = create_key(ledger_gateway, team="default")["key"]
    client = openai.OpenAI(base_url=ledger_gateway.base_url, api_key=key, max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO)
    list(client.chat.completions.create(model="gpt-5.5", messages=HELLO, stream=True))
    assert wait_for(lambda: sql(pg_database, "SELECT count(*) FROM requests")[0][0] == 4, timeout=10)
    rows = sql(pg_database, "SELECT cost_usd, baseline_usd, team, model, deployment FROM requests")
    assert all(r[0] > 0 and r[1] > 0 and r[2] == "default" and r[3] == "gpt-5.5" for r in rows), rows
    spend = admin(ledger_gateway, "GET", "/admin/spend?by=team&since=1d").json()["data"]
    assert spend[0]["group"] == "default" and spend[0]["requests"] == 4
    assert Decimal(spend[0]["cost_usd"]) == sum(r[0] for r in rows)
    for since in ("99999999d", "9" * 30 + "w"):  # past any date: a 400 naming the field, not a dropped connection
        refused = admin(ledger_gateway, "GET", f"/admin/spend?since={since}")
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "since", refused.text
        assert "too long" in refused.json()["error"]["message"]


def test_team_constraints_apply_to_its_keys(ledger_gateway, upstream):
    key = create_key(ledger_gateway, team="regulated")["key"]
    client = openai.OpenAI(base_url=ledger_gateway.base_url, api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
    assert raw.headers["x-gateway-deployment"] == "deepseek-v4-pro@self-hosted"
    with pytest.raises(openai.PermissionDeniedError, match="self-hosted"):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO)


# Each request: 12 prompt + 5 output tokens on GPT-5.5 = $0.00021; its reservation holds the estimate.
COST, ESTIMATE = Decimal("0.00021"), Decimal("0.000245")
THREADS = 16


def spend_counters(redis_url):
    """Budget counter key → value in micro-USD, as Redis holds them."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return {key: float(client.get(key)) for key in client.keys("gw:spend:*")}


@pytest.mark.parametrize("scope", ["key", "team"])
def test_budget_is_enforced_exactly_under_concurrency(start_gateway, pg_database, redis_url, tmp_path, upstream,
                                                      scope):
    limit = Decimal("0.005")
    replicas = [start_gateway(database_url=pg_database, redis_url=redis_url, admin_key=ADMIN_KEY,
                              spool_dir=tmp_path / f"spool{i}", key_refresh_s=0.2) for i in range(2)]
    if scope == "team":
        response = admin(replicas[0], "PUT", "/admin/budgets",
                         json={"scope": "team", "scope_id": "default", "limit_usd": str(limit), "period": "day"})
        assert response.status_code == 200, response.text
        keys = [create_key(replicas[0], team="default") for _ in range(2)]
    else:
        keys = [create_key(replicas[0], team="default", budget_usd=str(limit), period="day")]
    for key in keys:  # the second replica learns keys and budgets from its background refresh
        assert wait_for(lambda key=key: httpx.get(f"{replicas[1].base_url}/models", headers={
            "Authorization": f"Bearer {key['key']}"}).status_code == 200, timeout=10)
    time.sleep(0.6)
    clients = [openai.OpenAI(base_url=replica.base_url, api_key=key["key"], max_retries=0)
               for replica in replicas for key in keys]

    def one(i):
        try:
            clients[i % len(clients)].chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)
            return "ok"
        except openai.RateLimitError as exc:
            assert exc.body["code"] == "insufficient_quota" and "resets at" in exc.body["message"]
            assert f"for {scope} " in exc.body["message"]
            return "quota"

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(one, range(60)))
    assert "quota" in outcomes and "ok" in outcomes
    assert wait_for(lambda: sql(pg_database, "SELECT count(*) FROM requests WHERE status = 200")[0][0]
                    == outcomes.count("ok"), timeout=10)
    costs = [row[0] for row in sql(pg_database, "SELECT cost_usd FROM requests")]
    assert set(costs) == {COST}, costs
    spent = sum(costs)
    # No more than one in-flight request per replica beyond the limit ...
    assert spent <= limit + len(replicas) * COST
    # ... and close to it: a request is refused only when the spend, plus what the other in-flight
    # requests reserved above their cost, plus its own estimate would pass the limit.
    assert spent > limit - ESTIMATE - (THREADS - 1) * (ESTIMATE - COST), (spent, outcomes.count("ok"))
    assert list(spend_counters(redis_url).values()) == [float(spent * 1_000_000)]  # every reservation settled


def test_embedded_budget_survives_a_restart(start_gateway, tmp_path, upstream):
    database = f"sqlite:///{tmp_path}/gateway.db"
    upgrade(database)
    first = start_gateway(database_url=database, admin_key=ADMIN_KEY, spool_dir=tmp_path / "spool")
    key = create_key(first, team="default", budget_usd="0.001", period="day")["key"]
    client = openai.OpenAI(base_url=first.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.RateLimitError, match="budget"):
        for _ in range(10):
            client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)
    first.stop()  # flushes the ledger
    second = start_gateway(database_url=database, admin_key=ADMIN_KEY, spool_dir=tmp_path / "spool")
    client = openai.OpenAI(base_url=second.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.RateLimitError, match="daily budget of \\$0.001 for key"):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)


def test_replicas_without_shared_state_reconcile_with_the_ledger(start_gateway, pg_database, tmp_path, upstream):
    spender, other = [start_gateway(database_url=pg_database, admin_key=ADMIN_KEY, spool_dir=tmp_path / f"s{i}",
                                    key_refresh_s=0.2) for i in range(2)]
    key = create_key(spender, team="default", budget_usd="0.001", period="day")["key"]
    client = openai.OpenAI(base_url=spender.base_url, api_key=key, max_retries=0)
    admitted = 0
    with pytest.raises(openai.RateLimitError, match="budget"):
        for _ in range(10):
            client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)
            admitted += 1
    assert wait_for(lambda: sql(pg_database, "SELECT count(*) FROM requests")[0][0] == admitted, timeout=10)
    time.sleep(0.8)  # a few refresh rounds: the other replica's counter is raised to the ledger's spend
    client = openai.OpenAI(base_url=other.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.RateLimitError, match="budget"):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)


def test_a_request_failing_with_a_bug_releases_its_reservation(ledger_gateway, redis_url, upstream, monkeypatch):
    import gateway.routing

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug between the upstream call and settlement")

    key = create_key(ledger_gateway, team="default", budget_usd="1", period="day")["key"]
    monkeypatch.setattr(gateway.routing, "remember", broken)
    client = openai.OpenAI(base_url=ledger_gateway.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)
    assert wait_for(lambda: list(spend_counters(redis_url).values()) == [0.0], timeout=5), spend_counters(redis_url)


def test_rate_limit_per_key_is_shared_through_redis(ledger_gateway, upstream, redis_url):
    key = create_key(ledger_gateway, team="default", rpm=3)["key"]
    client = openai.OpenAI(base_url=ledger_gateway.base_url, api_key=key, max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO)
    with pytest.raises(openai.RateLimitError, match="requests per minute"):
        client.chat.completions.create(model="gpt-5.5", messages=HELLO)
    assert any(k.startswith(b"gw:rpm:") for k in redis.Redis.from_url(redis_url).keys())


def test_tokens_per_minute_count_the_answer_too(ledger_gateway, upstream, redis_url):
    # Admission counts about a quarter of the body's bytes as prompt tokens; the settlement adds the
    # answer's tokens (the mock's completion_tokens: 5). So a limit the prompts alone never reach is reached.
    body = orjson.dumps({"model": "gpt-5.5", "messages": HELLO})
    prompt_estimate = len(body) // 4
    key = create_key(ledger_gateway, team="default", tpm=2 * prompt_estimate + 3)["key"]
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    url = ledger_gateway.base_url + "/chat/completions"
    if time.time() % 60 > 55:  # both requests must fall in the same minute's counter
        time.sleep(60.5 - time.time() % 60)
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    store = redis.Redis.from_url(redis_url)

    def counted() -> float:
        return sum(float(store.get(k)) for k in store.keys(b"gw:tpm:*"))

    assert wait_for(lambda: counted() == prompt_estimate + 5, timeout=5), counted()
    refused = httpx.post(url, content=body, headers=headers)
    assert refused.status_code == 429 and "tokens per minute" in refused.json()["error"]["message"]


@pytest.mark.parametrize("fail_open", [True, False])
def test_redis_loss_fails_open_or_closed(start_gateway, pg_database, tmp_path, upstream, fail_open):
    gateway = start_gateway(database_url=pg_database, redis_url="redis://127.0.0.1:1/0", admin_key=ADMIN_KEY,
                            spool_dir=tmp_path / "spool", redis_fail_open=fail_open)
    key = create_key(gateway, team="default", rpm=100)["key"]
    client = openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0)
    if fail_open:
        assert client.chat.completions.create(model="gpt-5.5", messages=HELLO).choices
        metrics = httpx.get(gateway.base_url.replace("/v1", "/metrics")).text
        assert 'gateway_redis_up{role="state"} 0.0' in metrics
        assert "gateway_redis_fail_open_total" in metrics
    else:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="gpt-5.5", messages=HELLO)
        assert caught.value.status_code == 503 and "fail closed" in str(caught.value)


def test_startup_refuses_an_unmigrated_database(tmp_path, mock_policies):
    from gateway.app import create_app
    from tests.servers import settings_for

    app = create_app(settings_for(mock_policies, database_url=f"sqlite:///{tmp_path}/empty.db",
                                  spool_dir=tmp_path / "spool"))

    async def start():
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(Exception, match="gateway db upgrade"):
        asyncio.run(start())


def test_a_replica_starting_while_the_database_is_down_serves_keys_from_the_shared_snapshot(
        ledger_gateway, start_gateway, redis_url, tmp_path, upstream):
    created = create_key(ledger_gateway, team="default", rpm=100)
    key = created["key"]
    snapshot = lambda: (redis.Redis.from_url(redis_url).get("gw:keys:snapshot") or b"").decode()  # noqa: E731
    assert wait_for(lambda: created["id"] in snapshot(), timeout=5)  # the next refresh left it in Redis
    snapshot = snapshot()
    assert key not in snapshot  # hashes only
    down = "postgresql://postgres@127.0.0.1:9/ledger"  # the discard port: connections are refused
    replica = start_gateway(database_url=down, redis_url=redis_url, spool_dir=tmp_path / "replica-spool")
    client = openai.OpenAI(base_url=replica.base_url, api_key=key, max_retries=0)
    assert client.chat.completions.create(model="gpt-5.5", messages=HELLO).choices
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=replica.base_url, api_key="gw-not-a-key", max_retries=0).chat.completions.create(
            model="gpt-5.5", messages=HELLO)
    assert wait_for(lambda: list((tmp_path / "replica-spool").glob("*")), timeout=5)  # its row waits in the spool


def test_master_key_and_admin_key_are_required_for_admin(ledger_gateway):
    url = ledger_gateway.base_url.replace("/v1", "") + "/admin/keys"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {MASTER_KEY}"}).status_code == 200
    response = httpx.post(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, json={"name": "x"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "team"


def test_key_cache_changes_survive_a_refresh_that_read_before_them_and_no_longer(monkeypatch):
    from datetime import UTC, datetime

    import gateway.keycache as module
    from gateway.keycache import KeyCache
    from gateway.ledger import KeyRow, hash_key

    cache = KeyCache(engine=None)  # type: ignore[arg-type]
    stale = KeyRow("key_old", hash_key("gw-old"), "gw-old", "t", None, datetime.now(UTC), None, None, None)
    fresh = KeyRow("key_new", hash_key("gw-new"), "gw-new", "t", None, datetime.now(UTC), None, None, None)

    async def no_budgets(engine):
        return []

    monkeypatch.setattr(module, "load_budgets", no_budgets)

    async def scenario():
        async def rows(result):
            async def load_keys(engine):
                return result
            return load_keys

        monkeypatch.setattr(module, "load_keys", await rows([stale]))
        await cache.refresh()
        read, changed = asyncio.Event(), asyncio.Event()

        async def slow_read(engine):  # reads the database, then the changes below commit before it returns
            read.set()
            await changed.wait()
            return [stale]

        monkeypatch.setattr(module, "load_keys", slow_read)
        refreshing = asyncio.create_task(cache.refresh())
        await read.wait()
        cache.remove("key_old")
        cache.add(fresh)
        changed.set()
        await refreshing
        assert cache.lookup("gw-old") is None and cache.lookup("gw-new") is not None
        # Another replica revokes the new key: the next read that began after the creation no longer lists it.
        monkeypatch.setattr(module, "load_keys", await rows([]))
        await cache.refresh()
        assert cache.lookup("gw-new") is None

    asyncio.run(scenario())


@pytest.mark.parametrize(("method", "path", "body", "param"), [
    ("POST", "/admin/keys", {"team": "t" * 129}, "team"),
    ("POST", "/admin/keys", {"team": "a\x00b"}, "team"),
    ("POST", "/admin/keys", {"team": "   "}, "team"),
    ("POST", "/admin/keys", {"team": "default", "name": 5}, "name"),
    ("POST", "/admin/keys", {"team": "default", "name": {"x": 1}}, "name"),
    ("POST", "/admin/keys", {"team": "default", "name": "n" * 257}, "name"),
    ("PUT", "/admin/budgets", {"scope": "team", "scope_id": "s" * 129, "limit_usd": 1, "period": "day"}, "scope_id"),
    ("PUT", "/admin/budgets", {"scope": "team", "scope_id": {"x": 1}, "limit_usd": 1, "period": "day"}, "scope_id"),
    ("PUT", "/admin/budgets", {"scope": "team", "limit_usd": 1, "period": "day"}, "scope_id"),
])
def test_admin_names_are_checked_before_the_database_sees_them(ledger_gateway, method, path, body, param):
    response = admin(ledger_gateway, method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert admin(ledger_gateway, "DELETE", "/admin/keys/%00").status_code == 404


def test_admin_answers_503_while_the_ledger_database_is_down(ledger_gateway, monkeypatch):
    import gateway.ledger as ledger

    async def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    for name in ("load_keys", "revoke_key", "create_key", "set_budget"):
        monkeypatch.setattr(ledger, name, refused)
    for method, path, body in [("GET", "/admin/keys", None), ("DELETE", "/admin/keys/key_x", None),
                               ("POST", "/admin/keys", {"team": "default"}),
                               ("PUT", "/admin/budgets", {"scope": "team", "scope_id": "default", "limit_usd": 1})]:
        response = admin(ledger_gateway, method, path, json=body)
        assert response.status_code == 503, (method, path, response.text)
        assert response.json()["error"]["code"] == "ledger_unavailable" and response.headers["retry-after"] == "5"


@pytest.mark.parametrize(("field", "value"), [
    ("soft_fraction", "lots"), ("soft_fraction", 1.5), ("soft_fraction", True), ("period", "year"),
    ("budget_usd", "ten"), ("budget_usd", "NaN"), ("budget_usd", -1), ("rpm", 0),
    # past what the ledger's columns hold (found by fuzzing: these were 500s)
    ("budget_usd", 1e308), ("budget_usd", "1e10"), ("rpm", 2**31), ("tpm", 2**63), ("budget_usd", 1e-20),
    ("period", ["day"]),
])
def test_key_creation_validates_before_creating_anything(ledger_gateway, field, value):
    body = {"team": "default", "budget_usd": "1", "period": "day", "soft_fraction": 0.8, field: value}
    response = admin(ledger_gateway, "POST", "/admin/keys", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == field and field in error["message"]
    assert admin(ledger_gateway, "GET", "/admin/keys").json()["data"] == []  # no key left without its budget
    budget = {"scope": "team", "scope_id": "default", "limit_usd": "1", "period": "day", "soft_fraction": 0.8,
              {"budget_usd": "limit_usd"}.get(field, field): value}
    if field not in ("rpm", "tpm"):  # budgets have no rate limits
        response = admin(ledger_gateway, "PUT", "/admin/budgets", json=budget)
        assert response.status_code == 400 and response.json()["error"]["param"] in (field, "limit_usd")


def test_past_the_soft_limit_requests_and_explain_take_the_cheap_route(start_gateway, tmp_path, upstream):
    database = f"sqlite:///{tmp_path}/gateway.db"
    upgrade(database)
    gateway = start_gateway(database_url=database, admin_key=ADMIN_KEY, spool_dir=tmp_path / "spool")
    # $1 a day, soft limit at 0.01% ($0.0001): one GPT-5.5 request ($0.00021) crosses it.
    key = create_key(gateway, team="default", budget_usd="1", period="day", soft_fraction=0.0001)["key"]
    client = openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0)
    summary = [{"role": "user", "content": "Summarise this article in two sentences: " + "The council met. " * 20}]

    def explained():
        response = httpx.post(gateway.base_url + "/routing/explain", json={"model": "auto", "messages": summary},
                              headers={"Authorization": f"Bearer {key}"}, timeout=20)
        assert response.status_code == 200, response.text
        return response.json()

    before = explained()
    assert (before["category"], before["model"]) == ("N2", "deepseek-v4-pro")
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=summary)
    assert raw.headers["x-gateway-model"] == "deepseek-v4-pro"
    client.chat.completions.create(model="gpt-5.5", messages=HELLO, max_tokens=5)
    assert wait_for(lambda: explained()["model"] == "deepseek-v4-flash", timeout=10)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=summary)
    assert raw.headers["x-gateway-model"] == "deepseek-v4-flash"
    explained()  # explain counts nothing against the key's limits
    do_not_substitute = [{"role": "user", "content": "Fix the bug in this function:\n```python\ndef f(x):\n"
                                                     "    return x +\n```\nIt raises SyntaxError."}]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=do_not_substitute)
    assert raw.headers["x-gateway-verdict"] != "substitute" and raw.headers["x-gateway-model"] != "deepseek-v4-flash"
