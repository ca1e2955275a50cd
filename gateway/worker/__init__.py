"""The bundled local inference worker: an OpenAI-compatible server for a Hugging Face model on this machine.

`create_worker_app(engine)` and `run_worker(model_dir, ...)` live in `server.py`; the engine seam is
`engine.Engine`, implemented by `batched.BatchedEngine` (built in) and `vllm_engine.VllmEngine`.
Heavy imports (torch, transformers) happen only when an engine is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gateway.worker.engine import Engine

__all__ = ["create_worker_app", "run_worker"]


def create_worker_app(engine: Engine) -> FastAPI:
    """See `gateway.worker.server.create_worker_app`."""
    from gateway.worker.server import create_worker_app as create

    return create(engine)


def run_worker(model_dir: str, *args: Any, **kwargs: Any) -> None:
    """See `gateway.worker.server.run_worker`."""
    from gateway.worker.server import run_worker as run

    run(model_dir, *args, **kwargs)
