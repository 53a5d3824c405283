"""The login's HTTP details: the caller's source address, and ``Retry-After`` on a throttled login."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from dialer.auth.throttle import LoginThrottled


def source_of(request: Request) -> str:
    """The peer's address as the server saw it. Behind a proxy, the server must be told to trust
    its ``X-Forwarded-For`` (uvicorn ``--proxy-headers --forwarded-allow-ips``), never the client."""
    return request.client.host if request.client else "unknown"


class RetryAfterRoute(APIRoute):
    """Renders :class:`LoginThrottled` as 429 with a ``Retry-After`` header (the shared error
    handler renders the body of every other error and sets no such header)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginThrottled as exc:
                return JSONResponse(jsonable_encoder(exc.body()), status_code=exc.status,
                                    headers={"Retry-After": str(exc.retry_after)})

        return handle
