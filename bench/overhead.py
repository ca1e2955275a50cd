#!/usr/bin/env python3
"""Gateway overhead benchmark: what the gateway adds on top of a fast local upstream, and the same for LiteLLM.

Starts a fast mock upstream (bench/_overhead_upstream.py, OpenAI-compatible JSON and SSE), the gateway
(`python -m gateway serve`, every deployment pointed at the mock) and, as the peer, LiteLLM proxy from a
throwaway virtualenv (created on first use, never a project dependency). It then drives the same
closed-loop load (aiohttp + uvloop, fixed concurrency, ~1 KB system + user chat body, model="auto")
directly at the mock, through the gateway and through LiteLLM, in interleaved rounds, at each
concurrency, streaming and not. The servers under test are pinned to one core (taskset -c 0), the load
generator and the mock to the other (taskset -c 1).

Reported per (mode, concurrency, target): p50/p99 latency and what the proxy adds over direct, time to
first byte for streams (and what the proxy adds), req/s and its ratio to direct, server CPU per request
(/proc/<pid>/stat utime+stime over the measured rounds / requests), and how busy each core was.
Every response is checked (HTTP 200, a chat body, a stream ending `data: [DONE]` with a usage chunk);
errors are counted and printed, and make the exit status non-zero.

    .venv/bin/python bench/overhead.py            # full run, ~5 minutes
    .venv/bin/python bench/overhead.py --quick    # smoke run, ~1 minute
    .venv/bin/python bench/overhead.py --no-litellm --concurrency 64 --modes json --duration 10
    .venv/bin/python bench/overhead.py --modes stream --stream-gap-ms 20         # paced upstream: unqueued TTFB
    .venv/bin/python bench/overhead.py --modes stream --stream-gap-ms 1 --stream-chunks 200   # per-chunk cost
    .venv/bin/python bench/overhead.py --quick --no-litellm --profile /tmp/gw.prof   # cProfile the gateway
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import shutil
import signal
import socket
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
BENCH = Path(__file__).resolve().parent
PROJECT_PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_LITELLM_VENV = Path("/tmp/bench-litellm-venv")
CLK_TCK = os.sysconf("SC_CLK_TCK")
GATEWAY_KEY = "sk-bench-gateway-master-key"
LITELLM_KEY = "sk-bench-litellm-master-key"
UPSTREAM_KEY = "sk-bench-upstream-dummy"
DIRECT, GATEWAY, LITELLM, PASSTHROUGH, FLOOR = "direct", "gateway", "litellm", "passthrough", "asgi-floor"
TARGETS = (DIRECT, GATEWAY, LITELLM, PASSTHROUGH, FLOOR)
# The issue sets >= 2,000 req/s at c=64 as "about two thirds of the bare passthrough's ceiling".
PASSTHROUGH_SHARE = 2 / 3

# A realistic small chat request (~1 KB): a system prompt and a ticket to summarise. A summary is a task the
# routing policy hands to an OpenAI-compatible model (the peer's path too); the table notes what served it.
SYSTEM_PROMPT = (
    "You are a support operations assistant for an online hardware store. You read customer tickets and write "
    "short internal summaries for the next agent on shift. Keep the customer's own facts (order numbers, dates, "
    "products), leave out greetings and pleasantries, and do not add advice or promises of your own."
)
USER_PROMPT = (
    "Summarise this ticket in three bullet points for the next agent:\n\n"
    "\"Hi, I ordered a 12V cordless drill (order 48213) last Tuesday and the tracking page still says 'label "
    "created'. I need it for a job on Saturday. If it will not arrive in time I would like to cancel and pick one "
    "up at the Lyon store instead. I also already own two 18V batteries from your other range and would like to "
    "know whether they fit this model, or whether I need to buy the 12V ones. I called on Wednesday and was told "
    "someone would email me back, but nobody did. Thanks, Camille\""
)


# With --distinct-system every request carries one of this many system prompts (the prompt plus a shift
# number): more than the gateway memoises (classifier.SYSTEM_SCORES_CACHED), so each is scored afresh.
DISTINCT_SYSTEM_PROMPTS = 4096


def chat_body(stream: bool, system: str = SYSTEM_PROMPT) -> bytes:
    body: dict[str, Any] = {
        "model": "auto",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": USER_PROMPT}],
        "temperature": 0.2,
        "max_tokens": 256,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


# ---------------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, utime+stime ticks) for every process we can read."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2:].split()
        table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def tree_cpu_seconds(root: int) -> float:
    """utime+stime of `root` and its live descendants, in seconds."""
    table = proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
        todo.extend(children.get(pid, ()))
    return total / CLK_TCK


def mock_stats(mock: Server) -> tuple[int, int]:
    """(connections accepted, requests answered) by the mock so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{mock.port}/stats", timeout=5) as response:
        stats = orjson.loads(response.read())
    return stats["connections"], stats["requests"]


def core_busy_seconds(core: int) -> float:
    """Non-idle time of one CPU core since boot (all processes), from /proc/stat."""
    prefix = f"cpu{core} "
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith(prefix):
                ticks = [int(v) for v in line.split()[1:]]
                return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK  # minus idle and iowait
    return math.nan


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Server:
    """A subprocess we started, with its log."""

    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path
    stop_signal: int = signal.SIGTERM

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv]


def wait_http_ok(server: Server, path: str, timeout: float) -> None:
    """Poll GET `path` until it answers 200; fail with the server's log if it dies or never does (then stop it)."""
    url = f"http://127.0.0.1:{server.port}{path}"
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
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


def start_announced(name: str, argv: list[str], log_path: Path, health_timeout: float) -> Server:
    """Start a helper server that prints `READY <port>` once listening, and wait for its /health."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log_path.open("wb"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"{name} did not start: {line!r} {log_path.read_text(errors='replace')}")
    server = Server(name, proc, int(line.split()[1]), log_path)
    wait_http_ok(server, "/health", health_timeout)
    return server


def start_mock(core: int, python: str, workdir: Path, gap_ms: float, chunks: int = 5) -> Server:
    argv = pinned(core, [python, str(BENCH / "_overhead_upstream.py"), "--port", "0", "--gap-ms", str(gap_ms),
                          "--chunks", str(chunks)])
    return start_announced("mock upstream", argv, workdir / "mock-upstream.log", 10)


def start_passthrough(core: int, python: str, workdir: Path, upstream: str) -> Server:
    """The bare FastAPI passthrough (bench/_passthrough.py) on the server core, forwarding to the mock."""
    argv = pinned(core, [python, str(BENCH / "_passthrough.py"), "--upstream", upstream])
    return start_announced(PASSTHROUGH, argv, workdir / "passthrough.log", 30)


def start_floor(core: int, python: str, workdir: Path, upstream: str) -> Server:
    """The raw ASGI floor (bench/_asgi_floor.py: uvicorn and aiohttp, no framework) on the server core."""
    argv = pinned(core, [python, str(BENCH / "_asgi_floor.py"), "--upstream", upstream])
    return start_announced(FLOOR, argv, workdir / "asgi-floor.log", 30)


def write_policies(source: Path, target: Path, upstream: str) -> tuple[Path, set[str], list[str]]:
    """Copy policies/ and point every deployment at the mock; returns (dir, key variables, untouched)."""
    shutil.copytree(source / "policies", target)
    catalogue = yaml.safe_load((target / "models.yaml").read_text())
    key_vars: set[str] = set()
    untouched: list[str] = []
    for model in (catalogue.get("models") or {}).values():
        for deployment in model.get("deployments") or ():
            if deployment.get("api_key_env"):
                key_vars.add(deployment["api_key_env"])
            provider = deployment.get("provider")
            if provider == "openai_compat":
                deployment["base_url"] = f"{upstream}/v1"
            elif provider == "anthropic":
                # The mock also answers the Messages API, so a route to Claude stays local too.
                deployment["base_url"] = upstream
            elif provider != "simulated":
                untouched.append(f"{deployment.get('name')} ({provider})")
    (target / "models.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return target, key_vars, untouched


def start_gateway(core: int, python: str, workdir: Path, upstream: str, extra_env: dict[str, str],
                  profile: Path | None, source: Path) -> tuple[Server, list[str]]:
    policies, key_vars, untouched = write_policies(source, workdir / "policies", upstream)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({var: f"{UPSTREAM_KEY}-{var.lower()}" for var in key_vars})
    env.update({
        "GATEWAY_POLICIES_DIR": str(policies),
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
        "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(source), env.get("PYTHONPATH", "")) if p),
    })
    env.update(extra_env)
    # The ledger (on by default) refuses an unmigrated database: create the schema as an operator would.
    upgrade = subprocess.run([python, "-m", "gateway", "db", "upgrade"], cwd=workdir, env=env, capture_output=True,
                             text=True, timeout=120)
    if upgrade.returncode != 0 and "No such command" not in upgrade.stdout + upgrade.stderr:
        raise RuntimeError(f"`gateway db upgrade` failed ({upgrade.returncode}):\n{upgrade.stdout}{upgrade.stderr}")
    port = free_port()
    serve = ["-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv = [python, "-m", "cProfile", "-o", str(profile), *serve] if profile else [python, *serve]
    log_path = workdir / "gateway.log"
    proc = subprocess.Popen(pinned(core, argv), cwd=workdir, env=env, stdout=log_path.open("wb"),
                            stderr=subprocess.STDOUT)
    server = Server("gateway", proc, port, log_path, signal.SIGINT if profile else signal.SIGTERM)
    wait_http_ok(server, "/health", 60)
    return server, untouched


def ensure_litellm(venv: Path) -> tuple[Path | None, str]:
    """The litellm executable in `venv`, installing `litellm[proxy]` there first if needed."""
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe, "found"
    base = shutil.which("python3") or sys.executable
    print(f"[setup] creating {venv} and installing litellm[proxy] (one-off, a few minutes)...", flush=True)
    steps = [[base, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "litellm[proxy]"]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"{' '.join(step[:3])}... failed: {exc}"
        if done.returncode != 0:
            noise = "is ignored: it is neither a file nor a directory"
            tail = [line for line in (done.stderr + done.stdout).splitlines() if noise not in line][-8:]
            return None, f"{' '.join(step[:3])}... exited {done.returncode}: " + " | ".join(tail)
    return (exe, "installed") if exe.exists() else (None, f"{exe} missing after install")


def litellm_version(venv: Path) -> str:
    try:
        out = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "from importlib.metadata import version; print(version('litellm'))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def start_litellm(exe: Path, core: int, workdir: Path, upstream: str) -> Server:
    config = {
        "model_list": [{
            "model_name": "auto",
            "litellm_params": {"model": "openai/bench-mock", "api_base": f"{upstream}/v1", "api_key": UPSTREAM_KEY},
        }],
        "litellm_settings": {"drop_params": True, "callbacks": [], "success_callback": [], "failure_callback": [],
                             "set_verbose": False, "request_timeout": 120},
        "general_settings": {"master_key": LITELLM_KEY, "disable_spend_logs": True, "disable_error_logs": True},
    }
    config_path = workdir / "litellm-config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    drop = {"DATABASE_URL", "REDIS_HOST", "REDIS_URL", "LITELLM_MASTER_KEY", "STORE_MODEL_IN_DB"}
    env = {k: v for k, v in os.environ.items() if k not in drop and "proxy" not in k.lower()}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "NO_PROXY": "127.0.0.1,localhost",
                "DISABLE_ADMIN_UI": "True"})
    port = free_port()
    log_path = workdir / "litellm.log"
    argv = [str(exe), "--config", str(config_path), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    proc = subprocess.Popen(pinned(core, argv), cwd=workdir, env=env, stdout=log_path.open("wb"),
                            stderr=subprocess.STDOUT)
    server = Server("litellm", proc, port, log_path)
    wait_http_ok(server, "/health/liveliness", 180)
    return server


# ---------------------------------------------------------------------------------------------------
# Load generation


@dataclass
class Target:
    name: str
    url: str
    key: str
    server: Server  # the process whose CPU is charged (the mock itself for `direct`)
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Samples:
    """Everything measured for one (mode, concurrency, target) across its measured rounds."""

    latencies: list[float] = field(default_factory=list)
    ttfbs: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    deployments: Counter = field(default_factory=Counter)
    requests: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    mock_cpu: float = 0.0
    upstream_connections: int = 0
    other_cpu: float = 0.0  # CPU of the server core used by processes not under test
    upstream_requests: int = 0
    rounds: int = 0


def payloads(stream: bool, distinct_system: bool) -> tuple[bytes, ...]:
    """The request bodies to send in turn: one, or DISTINCT_SYSTEM_PROMPTS that differ in the system prompt."""
    if not distinct_system:
        return (chat_body(stream),)
    return tuple(chat_body(stream, f"{SYSTEM_PROMPT} This is shift {i}.") for i in range(DISTINCT_SYSTEM_PROMPTS))


async def drive(session: aiohttp.ClientSession, target: Target, bodies: tuple[bytes, ...], stream: bool,
                concurrency: int, duration: float, into: Samples | None, once: bool = False) -> tuple[int, float]:
    """Closed loop: `concurrency` workers send back-to-back requests for `duration` seconds (or one each),
    taking the bodies in turn."""
    next_body = itertools.cycle(bodies).__next__
    headers = {"content-type": "application/json", "authorization": f"Bearer {target.key}", **target.extra_headers}
    latencies: list[float] = []
    ttfbs: list[float] = []
    errors: Counter = Counter()
    deployments: Counter = Counter()
    clock = time.perf_counter
    deadline = clock() + duration

    async def worker() -> None:
        first_pass = once
        while first_pass or (not once and clock() < deadline):
            first_pass = False
            started = clock()
            try:
                async with session.post(target.url, data=next_body(), headers=headers) as response:
                    if response.status != 200:
                        text = (await response.read())[:200].decode("utf-8", "replace")
                        errors[f"HTTP {response.status}: {text}"] += 1
                        continue
                    if stream:
                        parts: list[bytes] = []
                        first = 0.0
                        async for part in response.content.iter_any():
                            if not parts:
                                first = clock()
                            parts.append(part)
                        finished = clock()
                        data = b"".join(parts)
                        if not data.endswith(b"data: [DONE]\n\n"):
                            errors[f"stream did not end with 'data: [DONE]': ...{data[-120:]!r}"] += 1
                            continue
                        if b'"usage"' not in data:
                            errors["stream had no usage chunk (stream_options.include_usage was set)"] += 1
                            continue
                        ttfbs.append(first - started)
                    else:
                        data = await response.read()
                        finished = clock()
                        if b'"choices"' not in data:
                            errors[f"not a chat completion: {data[:120]!r}"] += 1
                            continue
                    latencies.append(finished - started)
                    deployment = response.headers.get("x-gateway-deployment")
                    if deployment:
                        deployments[deployment] += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
                await asyncio.sleep(0.01)

    began = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - began
    if into is not None:
        into.latencies += latencies
        into.ttfbs += ttfbs
        into.errors += errors
        into.deployments += deployments
        into.requests += len(latencies)
        into.elapsed += elapsed
    else:  # warm-up: errors still matter
        for message, count in errors.items():
            print(f"    warm-up error on {target.name}: {count} x {message}", flush=True)
    return len(latencies), elapsed


def new_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, keepalive_timeout=120,
                                     enable_cleanup_closed=False)
    # Like the OpenAI SDK, accept gzip and decompress (LiteLLM compresses larger bodies).
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120, sock_connect=10))


async def check_target(target: Target, stream: bool) -> str:
    """One request before measuring: a 200 with a chat body, or the reason it is not."""
    async with new_session(1) as session:
        samples = Samples()
        await drive(session, target, (chat_body(stream),), stream, 1, 0, samples, once=True)
        if samples.errors:
            return "; ".join(f"{count} x {message}" for message, count in samples.errors.items())
        if samples.requests != 1:
            return "no answer"
        return ""


@dataclass
class Config:
    modes: list[str]
    concurrencies: list[int]
    rounds: int
    duration: float
    warmup: float
    distinct_system: bool = False


async def run_matrix(targets: list[Target], mock: Server, config: Config,
                     server_core: int) -> dict[tuple[str, int, str], Samples]:
    results: dict[tuple[str, int, str], Samples] = {}
    for mode in config.modes:
        stream = mode == "stream"
        bodies = payloads(stream, config.distinct_system)
        for concurrency in config.concurrencies:
            sessions = {t.name: new_session(concurrency) for t in targets}
            try:
                for target in targets:
                    results[(mode, concurrency, target.name)] = Samples()
                for round_no in range(config.rounds):
                    # Rotate the order every round so no target always runs first or after the same one.
                    order = targets[round_no % len(targets):] + targets[:round_no % len(targets)]
                    for target in order:
                        session = sessions[target.name]
                        samples = results[(mode, concurrency, target.name)]
                        await drive(session, target, bodies, stream, concurrency, config.warmup, None)
                        server_before, mock_before, client_before = target.server.cpu(), mock.cpu(), self_cpu_seconds()
                        conns_before, upstream_before = mock_stats(mock)
                        core_before = core_busy_seconds(server_core)
                        count, elapsed = await drive(session, target, bodies, stream, concurrency,
                                                     config.duration, samples)
                        core_used = core_busy_seconds(server_core) - core_before
                        server_used = target.server.cpu() - server_before
                        samples.server_cpu += server_used
                        # the direct target's "server" (the mock) runs on the other core
                        samples.other_cpu += core_used - (0.0 if target.name == DIRECT else server_used)
                        samples.mock_cpu += mock.cpu() - mock_before
                        samples.client_cpu += self_cpu_seconds() - client_before
                        conns_after, upstream_after = mock_stats(mock)
                        samples.upstream_connections += conns_after - conns_before
                        samples.upstream_requests += upstream_after - upstream_before
                        samples.rounds += 1
                        print(f"  {mode:6} c={concurrency:<3} round {round_no + 1}/{config.rounds} {target.name:11}"
                              f" {count:6} req {count / elapsed:8.0f} req/s  errors {sum(samples.errors.values())}",
                              flush=True)
            finally:
                for session in sessions.values():
                    await session.close()
    return results


# ---------------------------------------------------------------------------------------------------
# Report


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass
class Row:
    mode: str
    concurrency: int
    target: str
    p50: float
    p99: float
    added_p50: float
    added_p99: float
    ttfb50: float
    added_ttfb: float
    rps: float
    rps_vs_direct: float
    cpu_ms: float
    server_core: float
    client_core: float
    conns_per_req: float
    other_core: float
    requests: int
    errors: int


def make_rows(results: dict[tuple[str, int, str], Samples]) -> list[Row]:
    rows = []
    for (mode, concurrency, name), s in results.items():
        direct = results.get((mode, concurrency, DIRECT))
        ms = 1000.0
        p50, p99 = percentile(s.latencies, 50) * ms, percentile(s.latencies, 99) * ms
        ttfb = percentile(s.ttfbs, 50) * ms if s.ttfbs else math.nan
        rps = s.requests / s.elapsed if s.elapsed else math.nan
        if direct is not None and name != DIRECT:
            added_p50 = p50 - percentile(direct.latencies, 50) * ms
            added_p99 = p99 - percentile(direct.latencies, 99) * ms
            added_ttfb = ttfb - percentile(direct.ttfbs, 50) * ms if s.ttfbs and direct.ttfbs else math.nan
            direct_rps = direct.requests / direct.elapsed if direct.elapsed else math.nan
            ratio = rps / direct_rps if direct_rps else math.nan
        else:
            added_p50 = added_p99 = added_ttfb = math.nan
            ratio = 1.0 if name == DIRECT else math.nan
        rows.append(Row(
            mode=mode, concurrency=concurrency, target=name, p50=p50, p99=p99, added_p50=added_p50,
            added_p99=added_p99, ttfb50=ttfb, added_ttfb=added_ttfb, rps=rps, rps_vs_direct=ratio,
            cpu_ms=s.server_cpu * ms / s.requests if s.requests else math.nan,
            server_core=100 * s.server_cpu / s.elapsed if s.elapsed else math.nan,
            client_core=100 * (s.client_cpu + s.mock_cpu) / s.elapsed if s.elapsed else math.nan,
            other_core=max(0.0, 100 * s.other_cpu / s.elapsed) if s.elapsed else math.nan,
            conns_per_req=s.upstream_connections / s.upstream_requests if s.upstream_requests else math.nan,
            requests=s.requests, errors=sum(s.errors.values()),
        ))
    return rows


def fmt(value: float, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


COLUMNS = ("mode", "conc", "target", "p50_ms", "p99_ms", "added_p50_ms", "added_p99_ms", "ttfb_p50_ms",
           "added_ttfb_ms", "rps", "rps_vs_direct", "cpu_ms/req", "core0%", "other0%", "core1%", "conn/req",
           "requests", "errors")


def table(rows: list[Row]) -> str:
    cells = [COLUMNS]
    for r in rows:
        cells.append((
            r.mode, str(r.concurrency), r.target, fmt(r.p50), fmt(r.p99), fmt(r.added_p50), fmt(r.added_p99),
            fmt(r.ttfb50), fmt(r.added_ttfb), fmt(r.rps, ".0f"), fmt(r.rps_vs_direct, ".2f"), fmt(r.cpu_ms, ".3f"),
            fmt(r.server_core, ".0f"), fmt(r.other_core, ".0f"), fmt(r.client_core, ".0f"),
            fmt(r.conns_per_req, ".2f"), str(r.requests), str(r.errors),
        ))
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(cells):
        left = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2])]
        lines.append("  ".join(left + [c.rjust(w) for c, w in zip(row[3:], widths[3:], strict=True)]).rstrip())
        if n == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def find(rows: list[Row], mode: str, concurrency: int, target: str) -> Row | None:
    return next((r for r in rows if (r.mode, r.concurrency, r.target) == (mode, concurrency, target)), None)


def summary(rows: list[Row], litellm_note: str) -> list[str]:
    """PASS/MISS against the targets from the issue, plus the LiteLLM comparison."""
    out = []

    def check(label: str, row: Row | None, value: Any, ok: Any, shown: str) -> None:
        if row is None or value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(f"  n/a   {label}: not measured in this run")
        else:
            out.append(f"  {'PASS' if ok else 'MISS'}  {label}: {shown}")

    gw1 = find(rows, "json", 1, GATEWAY)
    check("ours added p50 <= 1 ms at concurrency 1 (non-stream)", gw1, gw1 and gw1.added_p50,
          gw1 and gw1.added_p50 <= 1.0, f"{fmt(gw1 and gw1.added_p50)} ms")
    gs16 = find(rows, "stream", 16, GATEWAY)
    references = [f"{r.target} {fmt(r.added_ttfb)} ms at {fmt(r.cpu_ms, '.3f')} ms CPU/stream"
                  for r in (find(rows, "stream", 16, name) for name in (PASSTHROUGH, FLOOR)) if r is not None]
    check("stream first byte added <= 2 ms at concurrency 16", gs16, gs16 and gs16.added_ttfb,
          gs16 and gs16.added_ttfb <= 2.0,
          f"{fmt(gs16 and gs16.added_ttfb)} ms at {fmt(gs16 and gs16.cpu_ms, '.3f')} ms CPU/stream"
          + (f" ({'; '.join(references)})" if references else ""))
    gw64 = find(rows, "json", 64, GATEWAY)
    check(">= 2,000 req/s at concurrency 64 (non-stream)", gw64, gw64 and gw64.rps, gw64 and gw64.rps >= 2000,
          f"{fmt(gw64 and gw64.rps, '.0f')} req/s (a whole core would allow ~{fmt(gw64 and 1000 / gw64.cpu_ms, '.0f')}"
          f" at {fmt(gw64 and gw64.cpu_ms, '.2f')} ms CPU/req)")
    pt64 = find(rows, "json", 64, PASSTHROUGH)
    if pt64 is not None:
        share = gw64.rps / pt64.rps if gw64 and pt64.rps else math.nan
        check(f">= {PASSTHROUGH_SHARE:.0%} of the bare FastAPI passthrough's req/s at concurrency 64 (same run)", gw64,
              share, share >= PASSTHROUGH_SHARE,
              f"{fmt(100 * share, '.0f')}% ({fmt(gw64 and gw64.rps, '.0f')} vs {fmt(pt64.rps, '.0f')} req/s; CPU per "
              f"request {fmt(gw64 and gw64.cpu_ms, '.3f')} vs {fmt(pt64.cpu_ms, '.3f')} ms)")
    ll64 = find(rows, "json", 64, LITELLM)
    if ll64 is None:
        out.append(f"  n/a   >= 15x LiteLLM's req/s at concurrency 64: LiteLLM not measured ({litellm_note})")
    else:
        ratio = gw64.rps / ll64.rps if gw64 and ll64.rps else math.nan
        cpu_ratio = ll64.cpu_ms / gw64.cpu_ms if gw64 and gw64.cpu_ms else math.nan
        check(">= 15x LiteLLM's req/s at concurrency 64 (non-stream)", gw64, ratio, ratio >= 15,
              f"{fmt(ratio, '.1f')}x ({fmt(gw64 and gw64.rps, '.0f')} vs {fmt(ll64.rps, '.0f')} req/s; "
              f"CPU per request {fmt(cpu_ratio, '.1f')}x less)")
    out.append("")
    out.append("  ours vs LiteLLM (same run):")
    for mode, concurrency, label, attr, unit in (
        ("json", 1, "added p50 at c=1", "added_p50", "ms"),
        ("stream", 16, "added first byte at c=16 (stream)", "added_ttfb", "ms"),
        ("json", 64, "req/s at c=64", "rps", "req/s"),
        ("stream", 64, "req/s at c=64 (stream)", "rps", "req/s"),
        ("json", 64, "CPU per request at c=64", "cpu_ms", "ms"),
    ):
        ours, peer = find(rows, mode, concurrency, GATEWAY), find(rows, mode, concurrency, LITELLM)
        if ours is None:
            continue
        theirs = fmt(getattr(peer, attr), ".2f") if peer else "n/a"
        out.append(f"    {label:36} ours {fmt(getattr(ours, attr), '.2f'):>9} {unit:5}  LiteLLM {theirs:>9} {unit}")
    out.append("")
    out.append("  load generator check (direct must be well above the proxies; core1% = load generator + mock):")
    for r in rows:
        if r.target != GATEWAY:
            continue
        direct = find(rows, r.mode, r.concurrency, DIRECT)
        if direct is None:
            continue
        verdict = "ok" if direct.rps >= 1.5 * r.rps else "WARNING: direct is not well above the gateway"
        out.append(f"    {r.mode:6} c={r.concurrency:<3} direct {direct.rps:7.0f} req/s vs gateway {r.rps:7.0f} "
                   f"({direct.rps / r.rps:4.1f}x); core1 busy {fmt(r.client_core, '.0f')}% in gateway rounds: "
                   f"{verdict}")
    noisy = [r for r in rows if r.target != DIRECT and r.other_core > 10]
    if noisy:
        out.append("")
        out.append("  NOISE: other processes took >10% of the server core during "
                   + ", ".join(f"{r.target} {r.mode} c={r.concurrency} ({r.other_core:.0f}%)" for r in noisy)
                   + "; those rows are pessimistic (interleaving spreads the noise over all targets; "
                   "cpu_ms/req is the least affected).")
    return out


# ---------------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 1 s (about a minute)")
    parser.add_argument("--duration", type=float, help="seconds per measured round (default 4, quick 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per target (default 3, quick 2)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each round (default 0.5, quick 0.25)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--modes", nargs="+", choices=["json", "stream"], default=["json", "stream"])
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM peer")
    parser.add_argument("--no-passthrough", action="store_true",
                        help="skip the bare FastAPI passthrough (bench/_passthrough.py), the req/s target's reference")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the raw ASGI floor (bench/_asgi_floor.py: uvicorn + aiohttp, no framework)")
    parser.add_argument("--litellm-venv", type=Path, default=DEFAULT_LITELLM_VENV,
                        help=f"throwaway virtualenv for LiteLLM (default {DEFAULT_LITELLM_VENV})")
    parser.add_argument("--server-core", type=int, default=0, help="core for the gateway / LiteLLM")
    parser.add_argument("--client-core", type=int, default=1, help="core for the load generator and the mock")
    parser.add_argument("--python", default=str(PROJECT_PYTHON if PROJECT_PYTHON.exists() else sys.executable),
                        help="interpreter that runs the gateway and the mock (default: the project venv)")
    parser.add_argument("--gateway-src", type=Path, default=REPO,
                        help="source tree to run the gateway (and take policies/) from, e.g. a git worktree "
                             "of another commit (default: this checkout)")
    parser.add_argument("--stream-gap-ms", type=float, default=0.0,
                        help="mock pause between stream events (0.5-1.5x this; default 0: all at once). A paced "
                             "upstream keeps the server core unsaturated: the added first byte is then the overhead "
                             "itself rather than queueing")
    parser.add_argument("--stream-chunks", type=int, default=5,
                        help="content chunks per mock answer (default 5; e.g. 200 for a realistic answer length)")
    parser.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the gateway (repeatable)")
    parser.add_argument("--profile", type=Path, metavar="FILE.prof",
                        help="run the gateway under cProfile, write FILE.prof and print its hot spots "
                             "(the timings of such a run are distorted by the profiler)")
    parser.add_argument("--category", metavar="CAT",
                        help="send x-gateway-category: CAT to the gateway (master key), which skips the "
                             "classifier: isolates its cost, or measures while no weights are trained")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--distinct-system", action="store_true",
                        help=f"send {DISTINCT_SYSTEM_PROMPTS} system prompts in turn (more than the gateway memoises), "
                             "so every classification scores its system prompt afresh")
    args = parser.parse_args(argv)
    args.duration = args.duration or (1.0 if args.quick else 4.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (0.25 if args.quick else 0.5)
    return args


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    if not path.exists():
        print(f"(no profile written to {path})")
        return
    stats = pstats.Stats(str(path))
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    if shutil.which("taskset") is None:
        print("taskset (util-linux) is required to pin the processes to cores", file=sys.stderr)
        return 2
    cores = os.sched_getaffinity(0)
    if not {args.server_core, args.client_core} <= cores or args.server_core == args.client_core:
        print(f"need two distinct usable cores (server {args.server_core}, client {args.client_core}); "
              f"this process may use {sorted(cores)}", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {args.client_core})
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)

    litellm_exe, litellm_note = None, "skipped (--no-litellm)"
    if not args.no_litellm and args.profile is None:
        litellm_exe, litellm_note = ensure_litellm(args.litellm_venv)
        if litellm_exe is None:
            print(f"[setup] LiteLLM unavailable, continuing with the gateway only: {litellm_note}", flush=True)
        else:
            litellm_note = f"LiteLLM {litellm_version(args.litellm_venv)} ({litellm_note} in {args.litellm_venv})"
    elif args.profile is not None:
        litellm_note = "skipped (--profile)"

    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    servers: list[Server] = []
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        mock = start_mock(args.client_core, args.python, workdir, args.stream_gap_ms, args.stream_chunks)
        servers.append(mock)
        upstream = f"http://127.0.0.1:{mock.port}"
        gateway, untouched = start_gateway(args.server_core, args.python, workdir, upstream, extra_env, args.profile,
                                           args.gateway_src.resolve())
        servers.append(gateway)
        if untouched:
            print(f"[setup] deployments not pointed at the mock (unknown provider kind): {', '.join(untouched)}")
        targets = [Target(DIRECT, f"{upstream}/v1/chat/completions", UPSTREAM_KEY, mock),
                   Target(GATEWAY, f"http://127.0.0.1:{gateway.port}/v1/chat/completions", GATEWAY_KEY, gateway,
                          {"x-gateway-category": args.category} if args.category else {})]
        if not args.no_passthrough and args.profile is None:
            passthrough = start_passthrough(args.server_core, args.python, workdir, upstream)
            servers.append(passthrough)
            targets.append(Target(PASSTHROUGH, f"http://127.0.0.1:{passthrough.port}/v1/chat/completions",
                                  UPSTREAM_KEY, passthrough))
        if not args.no_floor and args.profile is None:
            floor = start_floor(args.server_core, args.python, workdir, upstream)
            servers.append(floor)
            targets.append(Target(FLOOR, f"http://127.0.0.1:{floor.port}/v1/chat/completions", UPSTREAM_KEY, floor))
        if litellm_exe is not None:
            try:
                litellm = start_litellm(litellm_exe, args.server_core, workdir, upstream)
                servers.append(litellm)
                targets.append(Target(LITELLM, f"http://127.0.0.1:{litellm.port}/v1/chat/completions",
                                      LITELLM_KEY, litellm))
            except RuntimeError as exc:
                litellm_note = f"failed to start: {exc}"
                print(f"[setup] LiteLLM {litellm_note}; continuing with the gateway only", flush=True)

        problems = []
        for target in list(targets):
            for stream in (False, True):
                problem = uvloop_run(check_target(target, stream))
                if problem:
                    problems.append(f"{target.name} ({'stream' if stream else 'json'}): {problem}")
        if any(p.startswith((DIRECT, GATEWAY, PASSTHROUGH, FLOOR)) for p in problems):
            print("[setup] the targets do not answer 200 with a chat completion; refusing to measure errors:")
            print("\n".join("  " + p for p in problems))
            print(f"--- gateway log ---\n{gateway.log_tail()}")
            return 1
        if problems:  # LiteLLM misconfigured: measure ours anyway
            litellm_note = "; ".join(problems)
            print(f"[setup] dropping LiteLLM: {litellm_note}")
            targets = [t for t in targets if t.name != LITELLM]

        config = Config(args.modes, args.concurrency, args.rounds, args.duration, args.warmup, args.distinct_system)
        print(f"[setup] mock upstream :{mock.port} (core {args.client_core}), gateway :{gateway.port} "
              f"(core {args.server_core}), {litellm_note}; load generator on core {args.client_core}")
        print(f"[setup] {len(config.modes)} modes x {len(config.concurrencies)} concurrencies x {config.rounds} "
              f"rounds x {len(targets)} targets, {config.duration:g}s per round (+{config.warmup:g}s warm-up); "
              f"request body {len(chat_body(False))} bytes, model=auto; mock streams {args.stream_chunks} content "
              f"chunks" + (f" ~{args.stream_gap_ms:g} ms apart" if args.stream_gap_ms else " at once")
              + (f", gateway told x-gateway-category: {args.category} (classifier skipped)" if args.category else "")
              + (f", {DISTINCT_SYSTEM_PROMPTS} distinct system prompts in turn" if args.distinct_system else ""),
              flush=True)
        results = uvloop_run(run_matrix(targets, mock, config, args.server_core))
    except RuntimeError as exc:
        print(f"[setup] {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        for server in reversed(servers):
            server.stop()
    rows = make_rows(results)
    served: Counter = Counter()
    for (_, _, name), samples in results.items():
        if name == GATEWAY:
            served += samples.deployments
    runtime = time.monotonic() - began

    print()
    print(f"Gateway overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; "
          f"servers on core {args.server_core}, load generator + mock on core {args.client_core}; "
          f"{config.rounds} interleaved rounds x {config.duration:g}s per row")
    print(table(rows))
    print("  added_* = this row minus direct in the same run; ttfb = first body chunk of a stream;")
    print("  cpu_ms/req = server process CPU (utime+stime) / requests (direct row: the mock's own CPU);")
    print("  core0% = server process CPU / wall time; other0% = core 0 time used by processes NOT under test")
    print("  (other engineers' jobs: noise); core1% = load generator + mock CPU / wall time;")
    print("  conn/req = new TCP connections the mock accepted per upstream request (0 = keep-alive reuse).")
    if served:
        print(f"  gateway served model=auto with: {dict(served)}")
    print()
    print("Targets:")
    print("\n".join(summary(rows, litellm_note)))
    failed = False
    for key, samples in results.items():
        if samples.errors:
            failed = True
            print(f"\nERRORS {key}: {sum(samples.errors.values())}")
            for message, count in samples.errors.most_common(10):
                print(f"  {count} x {message}")
    print(f"\nTotal runtime {runtime:.0f}s." + (" RESULTS INVALID: errors above." if failed else ""))
    if args.json:
        args.json.write_text(orjson.dumps({
            "date": datetime.now(UTC).isoformat(), "litellm": litellm_note, "runtime_s": runtime,
            "rows": [r.__dict__ for r in rows],
            "errors": {"/".join(map(str, k)): dict(s.errors) for k, s in results.items() if s.errors},
        }, option=orjson.OPT_INDENT_2).decode())  # NaN becomes null
    if args.profile:
        print_profile(args.profile)
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def uvloop_run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the project venv has it
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    sys.exit(main())
