"""Liveness and readiness probes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


async def health(request: Request) -> JSONResponse:
    """GET /health: the process is up."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    """GET /ready: the catalogue is loaded and the gateway can take traffic."""
    ctx = request.app.state.ctx
    return JSONResponse({"status": "ready", "models": len(ctx.catalogue.models)})
