"""Render every error as ``{"error": code, "detail": text}``; validation errors name the field. The
OpenAPI document states the same bodies (``dialer.kit.openapi``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dialer.kit import openapi
from dialer.kit.errors import DialerError
from dialer.kit.types import NaiveDatetimeError

log = logging.getLogger("dialer.errors")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or str(loc[0]) if loc else "?"


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid"), "type": e.get("type")}
              for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return {"error": "validation_error", "detail": detail, "fields": fields}


TOO_DEEP = validation_body([{"loc": ("body",), "type": "json_too_deep",
                              "msg": "nested too deeply (JSON arrays and objects within each other, hundreds of levels)"}])
"""A body nested so deeply that parsing it, or walking it, passes Python's recursion limit."""


def install(app: FastAPI) -> None:
    """The handlers, and the OpenAPI document's account of what they answer."""
    app.openapi = openapi.documented(app.openapi)  # type: ignore[method-assign]

    @app.exception_handler(DialerError)
    async def _dialer_error(_: Request, exc: DialerError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(jsonable_encoder(exc.body()), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(list(exc.errors())), status_code=422)

    @app.exception_handler(NaiveDatetimeError)
    async def _naive(_: Request, exc: NaiveDatetimeError) -> JSONResponse:
        return JSONResponse({"error": "naive_datetime", "detail": str(exc)}, status_code=422)

    @app.exception_handler(RecursionError)  # only a request's nesting recurses that far: the body's, after parsing
    async def _too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse(TOO_DEEP, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's 400 for a body the JSON parser gave up on
            return JSONResponse(TOO_DEEP, status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "detail": "an unexpected error occurred"}, status_code=500)
