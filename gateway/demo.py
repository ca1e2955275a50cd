"""`gateway demo`: the gateway in-process against simulated upstreams, driven by the openai SDK."""

from __future__ import annotations

import secrets
import socket
import threading
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import typer

from gateway.demo_workload import WORKLOAD
from gateway.records import MemoryRecorder, RequestRecord
from gateway.settings import Settings

DEFAULT_POLICIES = Path("policies")
# The repository's policies next to the package: what an editable install (or a checkout) has.
CHECKOUT_POLICIES = Path(__file__).resolve().parents[1] / "policies"


def policies_dir_for(configured: Path) -> Path:
    """The policies directory to run with: the configured one, else (for the default) the checkout's."""
    if (configured / "routing.yaml").is_file():
        return configured
    if configured == DEFAULT_POLICIES and (CHECKOUT_POLICIES / "routing.yaml").is_file():
        return CHECKOUT_POLICIES  # run from outside the repository: use the policies shipped with it
    # A usage error: the CLI prints it as one line and exits 2, no traceback.
    raise typer.BadParameter(f"no routing.yaml in {configured.resolve()}; point it at the policies directory "
                             "(the repository's policies/, with models.yaml and routing.yaml)",
                             param_hint="GATEWAY_POLICIES_DIR")


def run_demo(policies_dir: Path, rounds: int = 3) -> str:
    """Serve the gateway on a free loopback port, send the workload, and tabulate where it went."""
    import openai
    import uvicorn

    from gateway.app import create_app

    recorder = MemoryRecorder()
    key = secrets.token_urlsafe(16)
    settings = Settings(policies_dir=policies_dir_for(policies_dir), simulate=True, master_key=key, ledger=False)
    app = create_app(settings, recorders=[recorder])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    intended: dict[str, str] = {}  # request id -> the category its prompt was written for
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", api_key=key)
        completions = client.chat.completions.with_raw_response
        for round_number in range(rounds):
            for n, (category, request) in enumerate(WORKLOAD):
                stream = (n + round_number) % 3 == 0
                raw = completions.create(model="auto", stream=stream, **request)
                if stream:
                    for _ in raw.parse():
                        pass
                intended[raw.headers["x-gateway-request-id"]] = category
    finally:
        server.should_exit = True
        thread.join(10)
    return _table(recorder.records, intended)


def _table(records: list[RequestRecord], intended: dict[str, str]) -> str:
    # Rows are keyed by the intended category, so a category the classifier mislabels still has
    # its row; the classified category stands next to it.
    rows: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for record in records:
        classified = record.category or "?"
        if record.verdict == "uncertain":
            classified += "?"  # low confidence: the policy's uncertain route served it
        row = rows[(intended.get(record.request_id, "?"), classified, record.model or "?")]
        row[0] += 1
        row[1] += record.cost_usd
        row[2] += record.baseline_usd
    lines = [f"{'category':<9}{'classified':<11}{'model':<18}{'requests':>9}{'cost $':>12}{'all-Opus $':>12}"
             f"{'saved':>8}"]
    total, baseline = Decimal(0), Decimal(0)
    for (category, classified, model), (count, spent, base) in sorted(rows.items(), key=lambda i: _order(*i[0])):
        saved = f"{(1 - spent / base):.0%}" if base else "-"
        lines.append(f"{category:<9}{classified:<11}{model:<18}{count:>9}{spent:>12.6f}{base:>12.6f}{saved:>8}")
        total, baseline = total + spent, baseline + base
    saved = f"{(1 - total / baseline):.0%}" if baseline else "-"
    lines.append(f"{'total':<38}{len(records):>9}{total:>12.6f}{baseline:>12.6f}{saved:>8}")
    lines.append("classified: the classifier's category ('?': below the confidence threshold, uncertain route)")
    return "\n".join(lines)


def _order(category: str, classified: str, model: str) -> tuple[int, int, str, str]:
    rank = int(category[1:]) if category[1:].isdigit() else 99
    return (0 if category.startswith("P") else 1, rank, classified, model)
