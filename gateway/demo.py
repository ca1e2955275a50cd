"""`gateway demo`: the gateway in-process against simulated upstreams, driven by the openai SDK."""

from __future__ import annotations

import secrets
import socket
import threading
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from gateway.demo_workload import WORKLOAD
from gateway.records import MemoryRecorder
from gateway.settings import Settings


def run_demo(policies_dir: Path, rounds: int = 3) -> str:
    """Serve the gateway on a free loopback port, send the workload, and tabulate where it went."""
    import openai
    import uvicorn

    from gateway.app import create_app

    recorder = MemoryRecorder()
    key = secrets.token_urlsafe(16)
    settings = Settings(policies_dir=policies_dir, simulate=True, master_key=key, ledger=False)
    app = create_app(settings, recorders=[recorder])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", api_key=key)
        for round_number in range(rounds):
            for n, request in enumerate(WORKLOAD):
                if (n + round_number) % 3 == 0:
                    for _ in client.chat.completions.create(model="auto", stream=True, **request):
                        pass
                else:
                    client.chat.completions.create(model="auto", **request)
    finally:
        server.should_exit = True
        thread.join(10)
    return _table(recorder)


def _table(recorder: MemoryRecorder) -> str:
    rows: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for record in recorder.records:
        row = rows[(record.category or "?", record.model or "?")]
        row[0] += 1
        row[1] += record.cost_usd
        row[2] += record.baseline_usd
    lines = [f"{'category':<9}{'model':<18}{'requests':>9}{'cost $':>12}{'all-Opus $':>12}{'saved':>8}"]
    total, baseline = Decimal(0), Decimal(0)
    for (category, model), (count, spent, base) in sorted(rows.items(), key=lambda item: _order(item[0][0])):
        saved = f"{(1 - spent / base):.0%}" if base else "-"
        lines.append(f"{category:<9}{model:<18}{count:>9}{spent:>12.6f}{base:>12.6f}{saved:>8}")
        total, baseline = total + spent, baseline + base
    lines.append(f"{'total':<27}{len(recorder.records):>9}{total:>12.6f}{baseline:>12.6f}"
                 f"{(1 - total / baseline):>8.0%}")
    return "\n".join(lines)


def _order(category: str) -> tuple[int, int]:
    return (0 if category.startswith("P") else 1, int(category[1:]) if category[1:].isdigit() else 99)
