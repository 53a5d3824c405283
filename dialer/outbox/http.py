"""What the delivery worker sends requests with: the ``Poster`` shape (an ``httpx.AsyncClient``
fits it) and the default one, :class:`AiohttpPoster`.

aiohttp because it is cheap here: about 0.5 ms of CPU per delivery against httpx's 3 ms, on the
2-core machine the service shares with its database (``bench/outbox.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


class Poster(Protocol):
    """What requests go out with: an ``httpx.AsyncClient``, an :class:`AiohttpPoster`, or any
    client of this shape. It follows no redirect (a 3xx is the answer) and raises when no answer
    comes (refused, reset, timed out: ``TimeoutError`` or ``httpx.TimeoutException``)."""

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Answer: ...
    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Answered:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's own)


class AiohttpPoster:
    """One ``aiohttp.ClientSession`` over a pooled, keep-alive ``TCPConnector`` of at most ``limit``
    connections; each request takes at most ``timeout_s`` in all (connecting included; then
    ``TimeoutError``). The session is made on the first request, inside the running loop, and
    closed by :meth:`aclose`.

    The answer's body is read (so the connection goes back to the pool) up to ``max_body``
    bytes; a longer one is dropped with its connection. No cookies kept, no proxy or ``.netrc``
    read from the environment."""

    def __init__(self, *, timeout_s: float = 10.0, limit: int = 500, max_body: int = 64 * 1024) -> None:
        self.timeout_s, self.limit, self.max_body = timeout_s, limit, max_body
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limit, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False, raise_for_status=False)
        return self._session

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Answered:
        async with self._open().post(url, data=content, headers=headers, allow_redirects=False) as response:
            read = 0
            async for chunk in response.content.iter_chunked(16 * 1024):
                read += len(chunk)
                if read > self.max_body:
                    response.close()  # not worth reading: the connection goes instead of the rest
                    break
            return Answered(response.status, response.headers)

    @property
    def closed(self) -> bool:
        """No session open (none made yet, or closed)."""
        return self._session is None or self._session.closed

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
