"""`python -m gateway.worker --model DIR`: serve a local model over the OpenAI API."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options, mirroring `run_worker`'s parameters."""
    parser = argparse.ArgumentParser(prog="python -m gateway.worker", description=__doc__)
    parser.add_argument("--model", required=True, help="local Hugging Face model directory (never downloaded)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--max-batch", type=int, default=32, help="sequences decoded together")
    parser.add_argument("--max-queue", type=int, default=256, help="waiting requests before 503 Retry-After")
    parser.add_argument("--engine", choices=("auto", "builtin", "vllm"), default="auto")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--prefix-cache-tokens", type=int, default=32768, help="KV tokens kept for prefix reuse")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse options and run the worker until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    from gateway.worker.server import run_worker

    run_worker(
        args.model,
        args.host,
        args.port,
        args.max_batch,
        args.max_queue,
        engine=args.engine,
        device=args.device,
        prefix_cache_tokens=args.prefix_cache_tokens,
        threads=args.threads,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
