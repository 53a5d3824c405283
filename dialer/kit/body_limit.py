"""Request bodies capped before they are read: a pure ASGI middleware, one limit per path.

A body whose ``Content-Length`` is over its path's limit is refused at once, the app never
called and not a byte read; one that does not declare its length (chunked) is counted as it
streams and refused as soon as it passes the limit, nothing after that read. Either way the
answer is 413 ``{"error": "body_too_large", "detail": …, "maximum": n}`` with ``Connection:
close`` (a client pushing megabytes is not kept on the line to push more).

Why not Starlette's ``RequestBodyLimitMiddleware`` / FastAPI's ``max_body_size``: their 413 is
plain text (or FastAPI's default ``{"detail": …}``), not the service's error shape, and a limit
per route would be set on each package's router rather than in one table the composition root
reads (``dialer.app``). A route with its own, tighter check (the file imports') keeps it: give
its path a limit a little above the route's, and the route's named error answers first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.kit.errors import DialerError

KiB = 1024
MiB = 1024 * KiB


class BodyTooLarge(DialerError):
    code = "body_too_large"
    status = 413

    def __init__(self, maximum: int) -> None:
        super().__init__(f"the request body is larger than {_size(maximum)}, the limit for this endpoint; refused",
                         maximum=maximum)


class _Overflow(HTTPException):
    """Raised from ``receive`` once the body passed its limit. An HTTPException, so FastAPI's body
    parsing lets it through as it is; whatever the app answers after it is replaced by the 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimit:
    """``routes``: ``(path regex, limit in bytes)``, the first full match wins; other paths get
    ``default``. Only HTTP requests are looked at (a websocket has no body)."""

    def __init__(self, app: ASGIApp, *, default: int, routes: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.default = default
        self.routes = [(re.compile(pattern), limit) for pattern, limit in routes]

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.routes if pattern.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        limit = self.limit_for(path[len(root):] if root and path.startswith(root) else path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                raise _Overflow()
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _Overflow()
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to the overflow (a 400 "cannot parse", say): the 413 goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent or not a number (the server refuses the latter)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(BodyTooLarge(limit).body(), separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _size(limit: int) -> str:
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if limit >= unit and limit % unit == 0:
            return f"{limit // unit} {name}"
    return f"{limit} bytes"
