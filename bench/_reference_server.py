"""How bench/overhead.py's reference servers run (the FastAPI passthrough, the raw ASGI floor): like the gateway,
uvicorn with httptools and uvloop, one worker, no access log, on a loopback socket announced as `READY <port>`."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable
from typing import Any

import uvicorn


def serve(create_app: Callable[[str], Any], description: str) -> None:
    """Parse --upstream / --port, bind, print `READY <port>` and serve `create_app(upstream)` until stopped."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"READY {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(create_app(args.upstream.rstrip("/")), http="httptools", loop="uvloop",
                            access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
