#!/usr/bin/env python3
"""Ledger on vs off: what the PostgreSQL ledger costs a request, measured through the gateway itself.

Starts a fast local mock upstream (an aiohttp server in a subprocess, OpenAI-compatible JSON and SSE, and the
Anthropic Messages API; usage blocks included; valid tool calls when tools are offered) and two gateway
processes (`python -m gateway serve`) on the same copy of policies/ with every deployment pointed at the mock:
one with GATEWAY_LEDGER=on writing to a throwaway PostgreSQL database (migrated with `gateway db upgrade`
first), one with GATEWAY_LEDGER=off. Both gateways are pinned to core 0, the mock and the load generator to
core 1 (taskset), so the two gateways compete for the same core and the noise hits both alike.

The same closed-loop load (aiohttp client; concurrency 1 and 16; model "gpt-5.5" and model "auto") is sent
alternately to each gateway in interleaved rounds (the order flips every round). Reported per (model,
concurrency): p50 / p99 latency, req/s and gateway CPU per request for ledger on and off, the difference, and
the per-round paired p50 differences (how often "on" was slower and by how much), so a difference can be read
against the round-to-round noise. Afterwards the ledger is checked: it must hold exactly as many rows as the
ledger-on gateway answered 200s (counted with asyncpg once the writer's flush interval has passed).

    .venv/bin/python bench/ledger_overhead.py                  # ~5 minutes
    .venv/bin/python bench/ledger_overhead.py --rounds 2 --duration 2   # smoke run

bench/soak.py imports the helpers below (mock upstream, policies, gateway processes, database).
`python bench/ledger_overhead.py --serve-mock` runs only the mock (prints `READY <port>`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
PG_SERVER = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MASTER_KEY = "sk-bench-ledger-master"
ADMIN_KEY = "sk-bench-ledger-admin"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HAVE_TASKSET = shutil.which("taskset") is not None

# ---------------------------------------------------------------------------------------------------
# Mock upstream (aiohttp, run in its own process)

MOCK_PIECES = ("Hello", " from", " the", " mock", " upstream.")
MOCK_TEXT = "".join(MOCK_PIECES)
BAD_FIRST = "[bad-first]"  # a prompt marker: the first answer's tool call is invalid, the repair is valid


def _prompt_tokens(raw: bytes) -> int:
    return max(8, len(raw) // 4)


def _sample_value(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "Paris", "integer": 42, "number": 1.5, "boolean": True, "array": [],
            "object": {}}.get(kind if isinstance(kind, str) else "string", "x")


def _tool_call(body: dict[str, Any]) -> tuple[str, str] | None:
    """(name, arguments JSON) the mock answers with when the request offers tools, else None."""
    tools = body.get("tools") or []
    if not tools or body.get("tool_choice") == "none":
        return None
    choice = body.get("tool_choice")
    function = tools[0].get("function") or {}
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        function = next((t["function"] for t in tools if (t.get("function") or {}).get("name") == wanted), function)
    messages = body.get("messages") or []
    first_attempt = len(messages) < 2 or messages[-2].get("role") != "assistant"
    if first_attempt and any(BAD_FIRST in str(m.get("content")) for m in messages):
        return function.get("name", "f"), '{"city": '  # not JSON: the gateway must repair it
    params = function.get("parameters") or {}
    props = params.get("properties") or {}
    args = {name: _sample_value(props.get(name) or {}) for name in params.get("required") or ()}
    return function.get("name", "f"), orjson.dumps(args).decode()


def _anthropic_tool_call(body: dict[str, Any]) -> tuple[str, str] | None:
    tools = body.get("tools") or []
    if not tools:
        return None
    as_openai = {"tools": [{"function": {"name": t.get("name"), "parameters": t.get("input_schema")}}
                           for t in tools],
                 "messages": [{"role": m.get("role"), "content": m.get("content")}
                              for m in body.get("messages") or []]}
    return _tool_call(as_openai)


def _chunk(model: Any, delta: dict[str, Any], finish: str | None = None) -> bytes:
    return b"data: " + orjson.dumps({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + b"\n\n"


def _openai_answer(body: dict[str, Any], prompt: int) -> tuple[bytes | None, list[bytes] | None]:
    model = body.get("model")
    call = _tool_call(body)
    usage = {"prompt_tokens": prompt, "completion_tokens": 12, "total_tokens": prompt + 12}
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": MOCK_TEXT}
        finish = "stop"
        if call:
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_mock", "type": "function", "function": {"name": call[0], "arguments": call[1]}}]}
            finish = "tool_calls"
        return orjson.dumps({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000,
                             "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish,
                                                          "logprobs": None}], "usage": usage}), None
    events = [_chunk(model, {"role": "assistant", "content": ""})]
    if call:
        events.append(_chunk(model, {"tool_calls": [{"index": 0, "id": "call_mock", "type": "function",
                                                     "function": {"name": call[0], "arguments": ""}}]}))
        half = len(call[1]) // 2
        for piece in (call[1][:half], call[1][half:]):
            events.append(_chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        events.append(_chunk(model, {}, "tool_calls"))
    else:
        events += [_chunk(model, {"content": p}) for p in MOCK_PIECES]
        events.append(_chunk(model, {}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(b"data: " + orjson.dumps({"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                                                "created": 1700000000, "model": model, "choices": [],
                                                "usage": usage}) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return None, events


def _anthropic_answer(body: dict[str, Any], prompt: int) -> tuple[bytes | None, list[bytes] | None]:
    call = _anthropic_tool_call(body)
    usage = {"input_tokens": prompt, "output_tokens": 12, "cache_read_input_tokens": 0,
             "cache_creation_input_tokens": 0}
    stop = "tool_use" if call else "end_turn"
    if not body.get("stream"):
        content: list[dict[str, Any]] = [{"type": "text", "text": MOCK_TEXT}]
        if call:
            content = [{"type": "tool_use", "id": "toolu_mock", "name": call[0],
                        "input": orjson.loads(call[1]) if call[1].endswith("}") else {}}]
        return orjson.dumps({"id": "msg_mock", "type": "message", "role": "assistant", "model": body.get("model"),
                             "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}), None

    def event(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    events = [event("message_start", {"type": "message_start", "message": {
        "id": "msg_mock", "type": "message", "role": "assistant", "model": body.get("model"), "content": [],
        "stop_reason": None, "usage": {**usage, "output_tokens": 1}}})]
    if call:
        events.append(event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_mock", "name": call[0], "input": {}}}))
        events.append(event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "input_json_delta", "partial_json": call[1]}}))
    else:
        events.append(event("content_block_start", {"type": "content_block_start", "index": 0,
                                                    "content_block": {"type": "text", "text": ""}}))
        events += [event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": p}}) for p in MOCK_PIECES]
    events += [event("content_block_stop", {"type": "content_block_stop", "index": 0}),
               event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop},
                                       "usage": {"output_tokens": 12}}),
               event("message_stop", {"type": "message_stop"})]
    return None, events


def serve_mock(port: int) -> None:
    """Run the mock upstream until SIGTERM; prints `READY <port>`."""
    from aiohttp import web

    counts = {"requests": 0}

    async def chat(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return web.json_response({"error": {"message": "bad JSON", "type": "invalid_request_error"}}, status=400)
        counts["requests"] += 1
        answer = _anthropic_answer if request.path.endswith("/v1/messages") else _openai_answer
        payload, events = answer(body, _prompt_tokens(raw))
        if payload is not None:
            return web.Response(body=payload, content_type="application/json")
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await response.prepare(request)
        for item in events or ():
            await response.write(item)
        await response.write_eof()
        return response

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(counts)

    async def main() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/health", health)
        app.router.add_get("/stats", stats)
        app.router.add_post("/{tail:.*}", chat)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"READY {bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    run_loop(main())


# ---------------------------------------------------------------------------------------------------
# Processes


def run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the project venv has it
        return asyncio.run(coro)
    return uvloop.run(coro)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(core: int | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if HAVE_TASKSET and core is not None else argv


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` (VmRSS from /proc/PID/status), KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def core_busy_seconds(core: int) -> float:
    """Non-idle time of one CPU core since boot (every process on it), seconds, from /proc/stat."""
    prefix = f"cpu{core} "
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith(prefix):
                ticks = [int(v) for v in line.split()[1:]]
                return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK  # minus idle and iowait
    return math.nan


def cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` (the uvicorn single-worker gateway is one process), seconds."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return math.nan
    fields = raw[raw.rfind(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Proc:
    """A subprocess we started, with its combined stdout/stderr log."""

    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def wait_http_ok(server: Proc, path: str, timeout: float) -> None:
    url = f"http://127.0.0.1:{server.port}{path}"
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode} while starting:\n"
                               f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    server.stop()  # not left running (and holding its port and core) after the run gives up on it
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout:.0f}s ({last}):\n{server.log_tail()}")


def start_mock(core: int | None, workdir: Path) -> Proc:
    log_path = workdir / "mock-upstream.log"
    argv = pinned(core, [PYTHON, str(Path(__file__).resolve()), "--serve-mock", "--port", "0"])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log_path.open("wb"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"mock upstream did not start: {line!r} {log_path.read_text(errors='replace')}")
    server = Proc("mock upstream", proc, int(line.split()[1]), log_path)
    wait_http_ok(server, "/health", 10)
    return server


def write_policies(target: Path, mock_port: int) -> tuple[Path, set[str]]:
    """policies/*.yaml copied to `target`, every upstream pointed at the mock; returns (dir, key variables).

    openai_compat deployments (and their `replicas`) get `http://127.0.0.1:PORT/<deployment>/v1`; anthropic
    deployments `http://127.0.0.1:PORT/<deployment>` (the mock also answers the Messages API), so that
    model="auto" never leaves the machine whichever model the policy picks.
    """
    target.mkdir(parents=True, exist_ok=True)
    for source in (REPO / "policies").glob("*.yaml"):
        shutil.copy(source, target / source.name)
    catalogue = yaml.safe_load((target / "models.yaml").read_text())
    key_vars: set[str] = set()
    base = f"http://127.0.0.1:{mock_port}"
    for model in (catalogue.get("models") or {}).values():
        for deployment in model.get("deployments") or ():
            if deployment.get("api_key_env"):
                key_vars.add(deployment["api_key_env"])
            name = deployment.get("name", "d")
            if deployment.get("provider") == "openai_compat":
                deployment["base_url"] = f"{base}/{name}/v1"
                if deployment.get("replicas"):
                    deployment["replicas"] = [f"{base}/{name}/r{i}/v1" for i in range(len(deployment["replicas"]))]
            elif deployment.get("provider") == "anthropic":
                deployment["base_url"] = f"{base}/{name}"
    (target / "models.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return target, key_vars


def gateway_env(policies: Path, key_vars: set[str], extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({var: f"sk-bench-dummy-{var.lower()}" for var in key_vars})
    env.update({"GATEWAY_POLICIES_DIR": str(policies), "GATEWAY_MASTER_KEY": MASTER_KEY,
                "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)})
    env.update(extra)
    return env


def db_upgrade(env: dict[str, str], workdir: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "gateway", "db", "upgrade"], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"`gateway db upgrade` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def start_gateway(name: str, core: int | None, workdir: Path, env: dict[str, str]) -> Proc:
    port = free_port()
    log_path = workdir / f"{name}.log"
    argv = pinned(core, [PYTHON, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)])
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    server = Proc(name, proc, port, log_path)
    wait_http_ok(server, "/health", 90)
    return server


# ---------------------------------------------------------------------------------------------------
# PostgreSQL


def _dsn(url: str, database: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_database(server: str = PG_SERVER) -> str:
    """A new empty database on `server`; returns its plain postgresql:// URL."""
    import asyncpg

    name = f"bench_ledger_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _dsn(server, name)


async def drop_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def ledger_counts(url: str) -> tuple[int, int]:
    """(rows, rows with status 200) in the ledger's requests table."""
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(*) FILTER (WHERE status = 200) AS ok FROM requests")
    finally:
        await conn.close()
    return int(row["n"]), int(row["ok"])


# ---------------------------------------------------------------------------------------------------
# Load

SYSTEM_PROMPT = (
    "You are a support operations assistant for an online hardware store. You read customer tickets and write "
    "short internal summaries for the next agent on shift. Keep the customer's own facts (order numbers, dates, "
    "products), leave out greetings and pleasantries, and do not add advice or promises of your own."
)
USER_PROMPT = (
    "Summarise this ticket in three bullet points for the next agent:\n\n"
    "\"Hi, I ordered a 12V cordless drill (order 48213) last Tuesday and the tracking page still says 'label "
    "created'. I need it for a job on Saturday. If it will not arrive in time I would like to cancel and pick one "
    "up at the Lyon store instead. Thanks, Camille\""
)


def chat_body(model: str) -> bytes:
    return orjson.dumps({"model": model, "temperature": 0.2, "max_tokens": 256,
                         "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                      {"role": "user", "content": USER_PROMPT}]})


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    round_p50s: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    models: Counter = field(default_factory=Counter)
    requests: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    other_core: float = 0.0  # busy time of the gateways' core NOT spent by either gateway (noise)
    client_core: float = 0.0  # busy time of the load + mock core


@dataclass
class Target:
    name: str
    server: Proc
    ok: int = 0  # 200 answers received, warm-ups and checks included (what the ledger must hold)
    sent: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1/chat/completions"


def new_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=120)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60, sock_connect=10))


async def drive(session: aiohttp.ClientSession, target: Target, payload: bytes, concurrency: int, duration: float,
                into: Samples | None, cores: tuple[int, int] = (0, 1), gateways: tuple[int, ...] = ()) -> None:
    """Closed loop: `concurrency` workers send back-to-back requests for `duration` seconds."""
    headers = {"content-type": "application/json", "authorization": f"Bearer {MASTER_KEY}"}
    clock = time.perf_counter
    latencies: list[float] = []
    errors: Counter = Counter()
    models: Counter = Counter()
    deadline = clock() + duration

    async def worker() -> None:
        while clock() < deadline:
            started = clock()
            target.sent += 1
            try:
                async with session.post(target.url, data=payload, headers=headers) as response:
                    data = await response.read()
                    finished = clock()
                    if response.status != 200:
                        errors[f"HTTP {response.status}: {data[:160].decode('utf-8', 'replace')}"] += 1
                        continue
                    target.ok += 1
                    if b'"choices"' not in data:
                        errors[f"not a chat completion: {data[:120]!r}"] += 1
                        continue
                    latencies.append(finished - started)
                    models[response.headers.get("x-gateway-model", "?")] += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
                await asyncio.sleep(0.01)

    began = clock()
    cpu0 = cpu_seconds(target.server.pid)
    all0 = sum(cpu_seconds(pid) for pid in gateways)
    server0, client0 = core_busy_seconds(cores[0]), core_busy_seconds(cores[1])
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - began
    if into is None:
        for message, count in errors.items():
            print(f"    warm-up error on {target.name}: {count} x {message}", flush=True)
        return
    into.cpu += cpu_seconds(target.server.pid) - cpu0
    into.other_core += core_busy_seconds(cores[0]) - server0 - (sum(cpu_seconds(pid) for pid in gateways) - all0)
    into.client_core += core_busy_seconds(cores[1]) - client0
    into.latencies += latencies
    if latencies:
        into.round_p50s.append(percentile(latencies, 50))
    into.errors += errors
    into.models += models
    into.requests += len(latencies)
    into.elapsed += elapsed


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def run_matrix(targets: list[Target], models: list[str], concurrencies: list[int], rounds: int,
                     duration: float, warmup: float, cores: tuple[int, int]) -> dict[tuple[str, int, str], Samples]:
    results: dict[tuple[str, int, str], Samples] = {}
    pids = tuple(t.server.pid for t in targets)
    for model in models:
        payload = chat_body(model)
        for concurrency in concurrencies:
            sessions = {t.name: new_session(concurrency) for t in targets}
            try:
                for t in targets:
                    results[(model, concurrency, t.name)] = Samples()
                for round_no in range(rounds):
                    order = targets if round_no % 2 == 0 else targets[::-1]
                    for t in order:
                        samples = results[(model, concurrency, t.name)]
                        await drive(sessions[t.name], t, payload, concurrency, warmup, None)
                        before = samples.requests, samples.elapsed
                        await drive(sessions[t.name], t, payload, concurrency, duration, samples, cores, pids)
                        n, secs = samples.requests - before[0], samples.elapsed - before[1]
                        print(f"  {model:8} c={concurrency:<3} round {round_no + 1}/{rounds} ledger {t.name:3} "
                              f"{n:6} req {n / secs:7.0f} req/s  p50 {samples.round_p50s[-1] * 1000:6.2f} ms  "
                              f"errors {sum(samples.errors.values())}", flush=True)
            finally:
                for session in sessions.values():
                    await session.close()
    return results


def report(results: dict[tuple[str, int, str], Samples]) -> list[str]:
    ms = 1000.0
    head = ("| model | conc | ledger | requests | req/s | p50 ms | p99 ms | max ms | gw CPU ms/req | other load on "
            "gw core | load+mock core | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    diffs = ["| model | conc | Δp50 on−off | Δp99 on−off | Δreq/s | Δ CPU ms/req | per-round Δp50 median "
             "[min, max] | rounds on slower |", "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(m, c) for (m, c, _) in results}, key=lambda k: (k[0] != "gpt-5.5", k[1]))
    for model, conc in keys:
        row = {}
        for name in ("off", "on"):
            s = results[(model, conc, name)]
            rps = s.requests / s.elapsed if s.elapsed else math.nan
            cpu = s.cpu * ms / s.requests if s.requests else math.nan
            p50, p99 = percentile(s.latencies, 50) * ms, percentile(s.latencies, 99) * ms
            row[name] = (p50, p99, rps, cpu)
            other = 100 * max(0.0, s.other_core) / s.elapsed if s.elapsed else math.nan
            client = 100 * s.client_core / s.elapsed if s.elapsed else math.nan
            lines.append(f"| {model} | {conc} | {name} | {s.requests} | {rps:.0f} | {p50:.2f} | {p99:.2f} | "
                         f"{max(s.latencies, default=math.nan) * ms:.0f} | {cpu:.3f} | {other:.0f}% | {client:.0f}% | "
                         f"{sum(s.errors.values())} |")
        on, off = row["on"], row["off"]
        paired = [(a - b) * ms for a, b in zip(results[(model, conc, "on")].round_p50s,
                                               results[(model, conc, "off")].round_p50s, strict=False)]
        slower = sum(d > 0 for d in paired)
        med = statistics.median(paired) if paired else math.nan
        diffs.append(
            f"| {model} | {conc} | {on[0] - off[0]:+.2f} ms ({(on[0] / off[0] - 1) * 100:+.1f}%) | "
            f"{on[1] - off[1]:+.2f} ms | {(on[2] / off[2] - 1) * 100:+.1f}% | {on[3] - off[3]:+.3f} | "
            f"{med:+.2f} [{min(paired, default=math.nan):+.2f}, {max(paired, default=math.nan):+.2f}] ms | "
            f"{slower}/{len(paired)} |")
    return lines + [""] + diffs


async def count_ledger(url: str, expected_ok: int, wait_s: float) -> tuple[int, int, float]:
    """Poll the ledger until it holds `expected_ok` 200-rows (or `wait_s` passes); (rows, ok rows, waited)."""
    started = time.monotonic()
    await asyncio.sleep(0.5)  # > the writer's 0.2 s flush interval
    while True:
        rows, ok = await ledger_counts(url)
        waited = time.monotonic() - started
        if ok >= expected_ok or waited > wait_s:
            return rows, ok, waited
        await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve-mock", action="store_true", help="run only the mock upstream (internal)")
    parser.add_argument("--port", type=int, default=0, help="mock port with --serve-mock")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measured round per gateway")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each round")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--models", nargs="+", default=["gpt-5.5", "auto"])
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL server to create the ledger database on")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args(argv)
    if args.serve_mock:
        serve_mock(args.port)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench-ledger-overhead-"))
    servers: list[Proc] = []
    db_url = None
    began = time.monotonic()
    if HAVE_TASKSET:
        os.sched_setaffinity(0, {args.client_core})
    try:
        db_url = run_loop(create_database(args.server))
        mock = start_mock(args.client_core, workdir)
        servers.append(mock)
        policies, key_vars = write_policies(workdir / "policies", mock.port)
        on_env = gateway_env(policies, key_vars, {"GATEWAY_LEDGER": "on", "GATEWAY_DATABASE_URL": db_url,
                                                  "GATEWAY_SPOOL_DIR": str(workdir / "spool")})
        off_env = gateway_env(policies, key_vars, {"GATEWAY_LEDGER": "off",
                                                   "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'unused.db'}"})
        db_upgrade(on_env, workdir)
        on = start_gateway("gateway-ledger-on", args.server_core, workdir, on_env)
        servers.append(on)
        off = start_gateway("gateway-ledger-off", args.server_core, workdir, off_env)
        servers.append(off)
        targets = [Target("off", off), Target("on", on)]
        print(f"[setup] mock :{mock.port} (core {args.client_core}); ledger-on gateway :{on.port} pid {on.pid}, "
              f"ledger-off gateway :{off.port} pid {off.pid} (both core {args.server_core}); load on core "
              f"{args.client_core}; ledger database {db_url}; taskset {'yes' if HAVE_TASKSET else 'NOT FOUND'}",
              flush=True)
        print(f"[setup] {len(args.models)} models x {len(args.concurrency)} concurrencies x {args.rounds} rounds "
              f"x 2 gateways, {args.duration:g}s per round (+{args.warmup:g}s warm-up), non-streaming, "
              f"{len(chat_body('auto'))}-byte body", flush=True)
        results = run_loop(run_matrix(targets, args.models, args.concurrency, args.rounds, args.duration,
                                      args.warmup, (args.server_core, args.client_core)))
        ledger_on = targets[1]
        rows, ok_rows, waited = run_loop(count_ledger(db_url, ledger_on.ok, 30.0))
        dead = [s.name for s in servers if not s.alive()]
    except RuntimeError as exc:
        print(f"[setup] {exc}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop()
        if db_url:
            run_loop(drop_database(db_url))

    failed = bool(dead)
    print()
    print(f"Ledger on vs off, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (shared machine); "
          f"gateways on core {args.server_core}, load + mock on core {args.client_core}; {args.rounds} "
          f"interleaved rounds x {args.duration:g}s per row; non-streaming")
    print("\n".join(report(results)))
    print("  other load on gw core = busy time of the gateways' core not spent by either gateway (other people's "
          "jobs), % of wall time;\n  load+mock core = busy time of the other core (load generator, mock, and "
          "others), % of wall time.")
    served = Counter()
    for (model, _, _), s in results.items():
        if model == "auto":
            served += s.models
    if served:
        print(f"  model=auto was served by: {dict(served)}")
    exact = rows == ok_rows == ledger_on.ok
    print(f"\nLedger rows: {rows} ({ok_rows} with status 200) after {waited:.1f}s; ledger-on gateway answered "
          f"{ledger_on.ok} x 200 of {ledger_on.sent} requests sent -> {'EXACT' if exact else 'MISMATCH'}")
    failed |= not exact
    for key, s in results.items():
        if s.errors:
            failed = True
            print(f"\nERRORS {key}: {sum(s.errors.values())}")
            for message, count in s.errors.most_common(8):
                print(f"  {count} x {message}")
    if dead:
        print(f"\nDIED during the run: {dead}")
    if failed:
        for server in servers[1:]:
            print(f"--- {server.name} log tail ---\n{server.log_tail()}")
    print(f"\nTotal runtime {time.monotonic() - began:.0f}s.")
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
