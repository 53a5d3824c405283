"""Liveness (the process answers) and readiness (database reachable, schema at head)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.kit.deps import provided
from dialer.kit.migrations import current_revisions

router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 3.0


@router.get("/healthz", summary="Liveness: the process is up (no auth)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations at head (no auth); with the "
                              "carrier's state (up, or down since when and why: dialing paused), which serving needs not")
async def readyz(
    engine: Annotated[AsyncEngine, Depends(provided("engine"))],
    schema_heads: Annotated[frozenset[str], Depends(provided("schema_heads"))],
    carrier_health: Annotated[Any, Depends(provided("carrier_health"))],
) -> JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            current = await current_revisions(engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse(
            {"status": "unavailable", "error": "database_unreachable", "detail": f"{type(exc).__name__}: {exc}"[:300]},
            status_code=503,
        )
    if current != schema_heads:
        return JSONResponse(
            {
                "status": "unavailable", "error": "schema_not_at_head",
                "detail": f"database at {sorted(current) or 'no revision'}, code expects {sorted(schema_heads)}",
            },
            status_code=503,
        )
    carrier: dict[str, Any] = {"state": "none"}
    if carrier_health is not None:
        view = carrier_health.view()
        carrier = {"state": view.state, "down_since": view.down_since.isoformat() if view.down_since else None,
                   "last_error": view.last_error, "probes": view.probes}
    return JSONResponse({"status": "ready", "schema": sorted(current), "carrier": carrier})
