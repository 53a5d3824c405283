"""The board page itself: ``/board`` and its assets, plain files (no build step, nothing fetched
from elsewhere at run time: the floor's machines are offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dialer.kit.errors import NotFound

STATIC = Path(__file__).parent / "static"
ASSETS = {"board.js": "text/javascript; charset=utf-8", "board.css": "text/css; charset=utf-8"}
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidated on each load: a new release is picked up at once

router = APIRouter(include_in_schema=False)


@router.get("/board")
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/board/{name}")
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no board asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers=NO_CACHE)
