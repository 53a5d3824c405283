"""The desktop page itself: ``/desktop`` and its two assets, plain files (no build step, nothing
fetched from elsewhere: the agents' machines are offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dialer.kit.errors import NotFound

STATIC = Path(__file__).parent / "static"
ASSETS = {"desktop.js": "text/javascript; charset=utf-8", "desktop.css": "text/css; charset=utf-8"}
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidated on each load: a new release is picked up at once

router = APIRouter(include_in_schema=False)


@router.get("/desktop")
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/desktop/{name}")
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no desktop asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers=NO_CACHE)
