"""The docs pages, built by FastAPI's own helpers, and their assets. The assets are the files that the
``fastapi-offline`` package ships (Swagger UI's bundle and stylesheet, ReDoc's standalone bundle,
FastAPI's favicon); nothing is fetched from elsewhere. No auth, as for FastAPI's default pages."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from dialer.kit.errors import NotFound

STATIC = Path(str(resources.files("fastapi_offline") / "static"))
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
CACHED = {"Cache-Control": "public, max-age=86400"}  # a day: the files change only when the package is upgraded
# The pages may load from the service only, and the browser holds them to it: ReDoc's bundle names one
# image on its makers' CDN (the "API docs by Redocly" logo), which is then never requested (the link's
# text stays). Inline scripts and styles are the pages' own (FastAPI's, Swagger UI's, ReDoc's).
SAME_ORIGIN_ONLY = {"Content-Security-Policy": (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)}
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """The path the service is mounted under behind a proxy (``root_path``), as FastAPI's pages use it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js", swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon.png", oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )
    page.headers.update(SAME_ORIGIN_ONLY)
    return page


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}/docs/assets/redoc.standalone.js", redoc_favicon_url=f"{root}/docs/assets/favicon.png",
        with_google_fonts=False,
    )
    page.headers.update(SAME_ORIGIN_ONLY)
    return page


@router.get("/docs/assets/{name}")
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no docs asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers=CACHED)
