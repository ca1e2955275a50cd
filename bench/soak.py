#!/usr/bin/env python3
"""Soak: steady load for N minutes with the ledger, metrics, Redis and budgets on; does the gateway's memory grow?

Starts the mock upstream of bench/ledger_overhead.py (pinned to core 1 with the load generator) and one gateway
(`python -m gateway serve`, pinned to core 0) with the PostgreSQL ledger (a throwaway database, migrated
first), Redis (db 12, flushed first: budgets, rate limits, breakers and sticky sessions live there), the admin
API and /metrics (scraped every 15 s, as Prometheus would). It creates a virtual key with a large daily budget
and rpm through `POST /admin/keys`, and sends a steady paced load with that key: model "auto" with varied
prompts (so several categories and models are hit), a mix of streaming and non-streaming requests, some
multi-turn conversations (sticky routing), and some requests with tools, a quarter of them answered with an
invalid tool call first (so the repair path runs too). Every response is checked.

Every minute it prints the gateway's resident memory (VmRSS from /proc/PID/status), the requests served and
errors; at the end, the growth from minute 2 to the end in % with PASS/MISS against 10%, the sustained
requests/s, the error count, and whether the ledger holds exactly one row per request sent.

    .venv/bin/python bench/soak.py                    # 20 minutes
    .venv/bin/python bench/soak.py --minutes 3 --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_overhead import (  # noqa: E402
    ADMIN_KEY,
    BAD_FIRST,
    HAVE_TASKSET,
    MASTER_KEY,
    PG_SERVER,
    Proc,
    create_database,
    db_upgrade,
    drop_database,
    gateway_env,
    ledger_counts,
    rss_kib,
    run_loop,
    start_gateway,
    start_mock,
    write_policies,
)

REDIS_URL = "redis://127.0.0.1:6379/12"
GROWTH_LIMIT_PCT = 10.0
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")

# Prompt templates spanning programming and non-programming tasks; {n}, {name}, {item} vary per request so
# bodies (and sticky-session keys, and classifier inputs) differ.
PROMPTS = [
    "Fix the bug in this Python function, it raises IndexError when the list is empty:\n\n"
    "def last_{n}(xs):\n    return xs[len(xs)]\n",
    "Refactor this JavaScript so it uses async/await instead of nested callbacks:\n\n"
    "getUser({n}, function(u) {{ getOrders(u.id, function(o) {{ render(o); }}); }});",
    "Write a SQL query that returns the top {n} customers by total order value in 2025 from tables "
    "customers(id, name) and orders(id, customer_id, total, created_at).",
    "Implement a thread-safe LRU cache in Go with a capacity of {n} entries and O(1) get and put.",
    "Review this diff for security problems: the handler builds the shell command "
    "`os.system('convert ' + request.args['file{n}'])` from user input.",
    "Write unit tests with pytest for a function parse_duration('{n}m30s') -> seconds.",
    "Explain why this Rust code does not compile: let s = String::from(\"{name}\"); let t = s; println!(\"{{}}\", s);",
    "Design the database schema and REST API for a multi-tenant invoicing service with {n} tenants.",
    "Summarise this meeting transcript in five bullet points for people who missed it: {name} said the Q{q} "
    "launch slips by {n} days because the payment provider changed its API; the team agreed to ship a reduced "
    "version first and revisit pricing next month.",
    "Translate into French and German: 'Your order {n} has shipped and will arrive on Thursday.'",
    "Write a short poem about {item} in the style of a haiku sequence, three stanzas.",
    "Extract the invoice number, date, total and currency as JSON from: 'Invoice INV-{n}, issued 2026-03-{d}, "
    "total due 1,{n} EUR, payable within 30 days.'",
    "Classify the sentiment of this review as positive, negative or mixed: 'The {item} arrived late but works "
    "perfectly, support was rude though.'",
    "A train leaves at 14:{d} travelling at {n} km/h; another leaves an hour later at 120 km/h. When does the "
    "second one catch up? Show the reasoning step by step.",
    "Draft a polite email to {name} declining the partnership proposal but leaving the door open for next year.",
    "What are the main differences between a Roth IRA and a traditional IRA for someone earning ${n},000 a year?",
    "Write a 300-word product description for a {item} aimed at outdoor enthusiasts.",
    "Brainstorm {n} names for a coffee shop that also repairs bicycles.",
    "Answer the customer: 'I was charged twice for order {n}, can you refund one of the charges?' Be concise.",
    "Prove that the sum of the first {n} odd numbers is a perfect square.",
]
NAMES = ["Camille", "Ravi", "Mei", "Jonas", "Amara", "Diego", "Sofia", "Kenji"]
ITEMS = ["tent", "kettle", "headlamp", "backpack", "water filter", "bicycle pump", "thermos", "compass"]
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "unit": {"type": "string", "enum": ["c", "f"]}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "lookup_order", "description": "Order status by id",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "integer"}},
                       "required": ["order_id"]}}},
]


def make_request(rng: random.Random, named_choice: bool = True) -> tuple[dict[str, Any], bool, bool]:
    """(body, stream, tools) for one request of the mix."""
    text = rng.choice(PROMPTS).format(n=rng.randint(2, 9999), name=rng.choice(NAMES), item=rng.choice(ITEMS),
                                      q=rng.randint(1, 4), d=rng.randint(10, 28))
    messages: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": "You are a helpful assistant for the operations team."})
    if rng.random() < 0.1:  # a later turn of a conversation: sticky routing
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": "Here is a first draft."},
                     {"role": "user", "content": f"Make it shorter, at most {rng.randint(2, 5)} sentences."}]
    else:
        messages.append({"role": "user", "content": text})
    body: dict[str, Any] = {"model": "auto", "messages": messages, "max_tokens": rng.choice([128, 256, 512])}
    use_tools = rng.random() < 0.2
    if use_tools:
        body["tools"] = TOOLS
        city = rng.choice(["Lyon", "Oslo", "Pune", "Quito"])
        prompt = f"What's the weather in {city} right now, and is order {rng.randint(1, 99999)} shipped?"
        if rng.random() < 0.25:
            prompt += f" {BAD_FIRST}"
        messages[-1] = {"role": "user", "content": prompt}
        choices: list[Any] = ["auto", "required"]
        if named_choice:
            choices.append({"type": "function", "function": {"name": "lookup_order"}})
        body["tool_choice"] = rng.choice(choices)
    stream = rng.random() < 0.4
    if stream:
        body["stream"] = True
        if rng.random() < 0.7:
            body["stream_options"] = {"include_usage": True}
    return body, stream, use_tools


def check_answer(data: bytes, stream: bool, tools: bool) -> str | None:
    """Why a 200 answer is not what the client asked for, or None."""
    if stream:
        if not data.endswith(b"data: [DONE]\n\n"):
            return "stream did not end with data: [DONE]"
        if b'"error"' in data:
            return "stream carried an error event"
        if tools and b'"tool_calls"' not in data:
            return "stream with tools has no tool_calls"
        return None
    try:
        answer = orjson.loads(data)
        message = answer["choices"][0]["message"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return "not a chat completion"
    if tools:
        calls = message.get("tool_calls") or []
        if not calls:
            return "no tool_calls in an answer to a request with tools"
        try:
            orjson.loads(calls[0]["function"]["arguments"])
        except (orjson.JSONDecodeError, KeyError):
            return "tool call arguments are not JSON"
    return None


class Load:
    """A paced load: `rate` requests/s spread over at most `concurrency` requests in flight."""

    def __init__(self, url: str, key: str, rate: float, concurrency: int, seed: int, named_choice: bool) -> None:
        self.url, self.key, self.rate, self.concurrency = url, key, rate, concurrency
        self.named_choice = named_choice
        self.statuses: Counter = Counter()
        self.rng = random.Random(seed)
        self.sent = self.ok = self.streams = self.tool_requests = 0
        self.errors: Counter = Counter()
        self.models: Counter = Counter()
        self.categories: Counter = Counter()
        self.repairs = 0
        self.latencies: list[float] = []
        self._next = 0.0
        self._stop = False

    async def _slot(self) -> None:
        if self.rate <= 0:
            return
        now = time.perf_counter()
        self._next = max(self._next + 1 / self.rate, now - 1.0)  # never catch up more than 1 s of backlog
        if self._next > now:
            await asyncio.sleep(self._next - now)

    async def _worker(self, session: aiohttp.ClientSession) -> None:
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.key}"}
        while not self._stop:
            await self._slot()
            if self._stop:
                return
            body, stream, tools = make_request(self.rng, self.named_choice)
            self.sent += 1
            self.streams += stream
            self.tool_requests += tools
            started = time.perf_counter()
            try:
                async with session.post(self.url, data=orjson.dumps(body), headers=headers) as response:
                    data = await response.read()
                    self.statuses[response.status] += 1
                    if response.status != 200:
                        message = re.sub(r"\d{3,}", "N", data[:200].decode("utf-8", "replace"))
                        self.errors[f"HTTP {response.status}: {message}"] += 1
                        continue
                    problem = check_answer(data, stream, tools)
                    if problem:
                        self.errors[problem] += 1
                        continue
                    self.ok += 1
                    self.latencies.append(time.perf_counter() - started)
                    self.models[response.headers.get("x-gateway-model", "?")] += 1
                    self.categories[response.headers.get("x-gateway-category", "?")] += 1
                    self.repairs += int(response.headers.get("x-gateway-tool-repairs", "0") or 0)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
                await asyncio.sleep(0.05)

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.concurrency, keepalive_timeout=120)
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=10)
        self._next = time.perf_counter()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(self._worker(session) for _ in range(self.concurrency)))

    def stop(self) -> None:
        self._stop = True


def metric_value(text: str, name: str) -> float | None:
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


async def scrape(session: aiohttp.ClientSession, port: int) -> tuple[int, str]:
    async with session.get(f"http://127.0.0.1:{port}/metrics",
                           headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        text = await response.text()
        return response.status, text


async def soak(args: argparse.Namespace, gateway: Proc, key: str, db_url: str) -> dict[str, Any]:
    import redis.asyncio as aioredis

    load = Load(f"http://127.0.0.1:{gateway.port}/v1/chat/completions", key, args.rate, args.concurrency, args.seed,
                args.named_tool_choice)
    runner = asyncio.create_task(load.run())
    redis = aioredis.from_url(REDIS_URL)
    minutes: list[dict[str, Any]] = []
    scrape_errors = Counter()
    began = time.perf_counter()
    last_sent, last_t = 0, began
    end = began + args.minutes * 60
    print(f"{'min':>4} {'RSS MiB':>8} {'vs min 2':>8} {'req':>7} {'req/s':>6} {'errors':>6} {'ledger rows':>11} "
          f"{'queue':>5} {'series':>6} {'redis keys':>10} {'redis MiB':>9}", flush=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        next_scrape, next_minute, minute = began, began + 60, 0
        metrics_text = ""
        while True:
            now = time.perf_counter()
            if now >= next_scrape:
                try:
                    status, metrics_text = await scrape(session, gateway.port)
                    if status != 200:
                        scrape_errors[f"/metrics HTTP {status}"] += 1
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    scrape_errors[f"/metrics {type(exc).__name__}"] += 1
                next_scrape += 15
            if now >= next_minute:
                minute += 1
                next_minute += 60
                rss = rss_kib(gateway.pid) / 1024
                sent, t = load.sent, time.perf_counter()
                try:
                    rows, _ = await ledger_counts(db_url)
                except Exception as exc:  # report, keep soaking
                    rows = -1
                    scrape_errors[f"ledger count {type(exc).__name__}"] += 1
                try:
                    redis_keys = await redis.dbsize()
                    redis_mib = (await redis.info("memory"))["used_memory"] / 2**20
                except Exception:
                    redis_keys, redis_mib = -1, float("nan")
                series = sum(1 for line in metrics_text.splitlines() if line and not line.startswith("#"))
                queue = metric_value(metrics_text, "gateway_ledger_queue_depth")
                base = minutes[1]["rss"] if len(minutes) >= 2 else None
                vs = f"{(rss / base - 1) * 100:+.1f}%" if base else "-"
                rps = (sent - last_sent) / (t - last_t)
                minutes.append({"minute": minute, "rss": rss, "sent": sent, "rps": rps, "rows": rows,
                                "errors": sum(load.errors.values()), "series": series, "redis_keys": redis_keys})
                print(f"{minute:>4} {rss:8.1f} {vs:>8} {sent:7d} {rps:6.1f} {sum(load.errors.values()):6d} "
                      f"{rows:11d} {queue if queue is not None else float('nan'):5.0f} {series:6d} "
                      f"{redis_keys:10d} {redis_mib:9.1f}", flush=True)
                last_sent, last_t = sent, t
                if not gateway.alive():
                    print(f"GATEWAY DIED (exit {gateway.proc.returncode})", flush=True)
                    break
            if now >= end or runner.done():
                break
            await asyncio.sleep(min(1.0, max(0.0, min(next_scrape, next_minute, end) - time.perf_counter())))
    load.stop()
    await asyncio.wait_for(runner, 90)
    elapsed = time.perf_counter() - began
    await redis.aclose()
    return {"load": load, "minutes": minutes, "elapsed": elapsed, "scrape_errors": scrape_errors}


async def create_key(port: int) -> str:
    body = {"team": "default", "name": "soak", "budget_usd": 1000000, "period": "day", "rpm": 1000000}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/admin/keys", json=body,
                                headers={"authorization": f"Bearer {ADMIN_KEY}"}) as response:
            data = await response.read()
            if response.status != 201:
                raise RuntimeError(f"POST /admin/keys answered {response.status}: {data[:300]!r}")
            return orjson.loads(data)["key"]


async def flush_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def wait_ledger(db_url: str, expected: int, wait_s: float) -> tuple[int, int]:
    deadline = time.monotonic() + wait_s
    await asyncio.sleep(0.5)
    while True:
        rows, ok = await ledger_counts(db_url)
        if rows >= expected or time.monotonic() > deadline:
            return rows, ok
        await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s offered (0: closed loop)")
    parser.add_argument("--concurrency", type=int, default=16, help="most requests in flight")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (gateway log, policies)")
    parser.add_argument("--no-named-tool-choice", dest="named_tool_choice", action="store_false",
                        help="leave out tool_choice={'type': 'function', 'function': {'name': ...}} (a third of the "
                             "tool requests by default)")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL server to create the ledger database on")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    servers: list[Proc] = []
    db_url = None
    gateway = None
    if HAVE_TASKSET:
        os.sched_setaffinity(0, {args.client_core})
    try:
        db_url = run_loop(create_database(args.server))
        run_loop(flush_redis())
        mock = start_mock(args.client_core, workdir)
        servers.append(mock)
        policies, key_vars = write_policies(workdir / "policies", mock.port)
        env = gateway_env(policies, key_vars, {
            "GATEWAY_LEDGER": "on", "GATEWAY_DATABASE_URL": db_url, "GATEWAY_SPOOL_DIR": str(workdir / "spool"),
            "GATEWAY_REDIS_URL": REDIS_URL, "GATEWAY_ADMIN_KEY": ADMIN_KEY})
        db_upgrade(env, workdir)
        gateway = start_gateway("gateway", args.server_core, workdir, env)
        servers.append(gateway)
        key = run_loop(create_key(gateway.port))
        print(f"[setup] {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; gateway pid {gateway.pid} :{gateway.port} (core "
              f"{args.server_core}), mock :{mock.port} + load (core {args.client_core}); ledger {db_url}; redis "
              f"{REDIS_URL}; virtual key created (team default, $1,000,000/day, rpm 1,000,000); {args.minutes:g} "
              f"min at {args.rate:g} req/s offered, <= {args.concurrency} in flight; named tool_choice "
              f"{'on' if args.named_tool_choice else 'off'}; start RSS "
              f"{rss_kib(gateway.pid) / 1024:.1f} MiB", flush=True)
        result = run_loop(soak(args, gateway, key, db_url))
        load: Load = result["load"]
        rows, ok_rows = run_loop(wait_ledger(db_url, load.sent, 30))
        final_rss = rss_kib(gateway.pid) / 1024
        alive = gateway.alive()
    except RuntimeError as exc:
        print(f"[setup] {exc}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop()
        if db_url:
            run_loop(drop_database(db_url))
        run_loop(flush_redis())

    minutes = result["minutes"]
    load = result["load"]
    errors = sum(load.errors.values())
    print()
    print(f"Soak finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC after {result['elapsed'] / 60:.1f} min "
          f"({os.cpu_count()} cores, shared machine)")
    print(f"  requests sent {load.sent}, answered OK {load.ok}, errors {errors}; sustained "
          f"{load.sent / result['elapsed']:.1f} req/s ({load.streams} streams, {load.tool_requests} with tools, "
          f"{load.repairs} tool-call repairs)")
    lat = sorted(load.latencies)
    if lat:
        print(f"  latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms, "
              f"max {lat[-1] * 1000:.0f} ms")
    print(f"  models: {dict(load.models.most_common())}")
    print(f"  categories: {dict(sorted(load.categories.items()))}")
    # One row per HTTP answer the gateway gave (whatever its status); a request whose connection failed before
    # an answer (counted in the errors) may never have reached the gateway, so it is not expected to have one.
    answered = sum(load.statuses.values())
    exact = rows == answered and ok_rows == load.statuses[200]
    print(f"  ledger rows {rows} ({ok_rows} with status 200) for {answered} HTTP answers (by status "
          f"{dict(sorted(load.statuses.items()))}; {load.sent} requests sent, {load.sent - answered} failed before "
          f"an answer) -> {'EXACT' if exact else 'MISMATCH'}"
          + ("" if exact or ok_rows != load.statuses[200] else
             " (every 200 has exactly one row; the non-200 answers left none)"))
    if result["scrape_errors"]:
        print(f"  monitoring errors: {dict(result['scrape_errors'])}")
    verdict = 1
    if len(minutes) >= 2:
        base = minutes[1]["rss"]
        last = minutes[-1]["rss"]
        growth = (last / base - 1) * 100
        peak = max(m["rss"] for m in minutes[1:])
        slope = ((last - base) / (len(minutes) - 2)) if len(minutes) > 2 else 0.0
        verdict = 0 if growth < GROWTH_LIMIT_PCT and alive else 1
        print(f"  RSS minute 2 {base:.1f} MiB -> minute {minutes[-1]['minute']} {last:.1f} MiB (after the load: "
              f"{final_rss:.1f} MiB); growth after minute 2 {growth:+.1f}% (peak {peak:.1f} MiB, "
              f"{slope:+.2f} MiB/min) -> {'PASS' if verdict == 0 else 'MISS'} (limit {GROWTH_LIMIT_PCT:g}%)")
    else:
        print("  fewer than 2 minutes measured: no growth verdict")
    if not alive:
        print("  GATEWAY NOT ALIVE at the end")
    if errors:
        print("  errors:")
        for message, count in load.errors.most_common(12):
            print(f"    {count} x {message}")
    log = gateway.log_path.read_text(errors="replace").splitlines() if gateway else []
    noisy = Counter(re.sub(r"^\S+ \S+ ", "", line) for line in log if " WARNING " in line or " ERROR " in line)
    raised = Counter(line.strip() for line in log if EXCEPTION_LINE.match(line))
    print(f"  gateway log: {len(log)} lines, {sum(noisy.values())} warnings/errors, {sum(raised.values())} "
          f"exceptions")
    for title, counter in (("warnings/errors", noisy), ("exceptions", raised)):
        for message, count in counter.most_common(10):
            print(f"    {title}: {count} x {message[:300]}")
    if noisy or raised or errors or not alive:
        print(f"--- gateway log tail ---\n{gateway.log_tail(60) if gateway else ''}")
    if args.keep:
        print(f"  kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if (verdict or not exact or errors or not alive) else verdict


if __name__ == "__main__":
    sys.exit(main())
