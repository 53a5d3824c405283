"""The board's pages — ``/board`` (the live floor), ``/board/calls`` (calls and recordings),
``/board/stats`` (daily statistics) — and their assets: plain files (no build step, nothing
fetched from elsewhere at run time: the floor's machines are offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dialer.kit.errors import NotFound

STATIC = Path(__file__).parent / "static"
PAGES = {"calls": "calls.html", "stats": "stats.html"}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidated on each load: a new release is picked up at once

router = APIRouter(include_in_schema=False)


def _html(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/board")
async def page() -> FileResponse:
    return _html("index.html")


@router.get("/board/{name}")
async def asset(name: str) -> FileResponse:
    """A page by its name, or a script or style sheet of the static directory (nothing else)."""
    if name in PAGES and (STATIC / PAGES[name]).is_file():
        return _html(PAGES[name])
    path = STATIC / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"no board asset {name}")
    return FileResponse(path, media_type=media_type, headers=NO_CACHE)
