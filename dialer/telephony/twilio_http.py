"""The HTTP side of the Twilio adapter: an async HTTP client for the twilio SDK, and the one
place where transport and HTTP failures become ``CarrierError``s.

SDK facts this relies on (twilio 9.x, ``twilio/http/async_http_client.py``):

- twilio-python builds every URL on ``https://api.twilio.com``; ``TwilioApiHttpClient``
  rewrites that host to ``api_base_url`` (Twilio itself, or the local emulator). Nothing else
  differs between the two.
- ``AsyncTwilioHttpClient.request`` ignores the client's ``timeout`` (twilio-python #925) and
  passes the per-request ``timeout`` (always ``None`` from the resource methods) to aiohttp,
  where ``None`` means *no timeout at all*. This client applies ``timeout_s`` to every request.
- The client opens an aiohttp ``ClientSession``, which belongs to the running event loop: build
  it inside that loop (``TwilioCarrier`` does so lazily on first use) and ``close()`` it.
- aiohttp re-sends a request on a stale keep-alive connection only for idempotent methods,
  never a ``POST`` — so a ``POST /Calls`` leaves at most once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

from .carrier import CarrierError, CarrierRateLimited, CarrierRejected, CarrierUnavailable

TWILIO_API_BASE_URL = "https://api.twilio.com"
_TWILIO_API_HOST = re.compile(r"^api(\.[a-z0-9-]+)*\.twilio\.com$")  # api.twilio.com, api.<edge>.<region>…
RATE_LIMITED = 20429


def rewrite_url(url: str, api_base_url: str) -> str:
    """``https://api.twilio.com/2010-04-01/…`` → ``<api_base_url>/2010-04-01/…``; other URLs unchanged."""
    parts = urlsplit(url)
    if not _TWILIO_API_HOST.match(parts.hostname or ""):
        return url
    base = urlsplit(api_base_url)
    return urlunsplit(parts._replace(scheme=base.scheme, netloc=base.netloc, path=base.path.rstrip("/") + parts.path))


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class TwilioApiHttpClient(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` with a base-URL rewrite and a timeout on every request.
    Create it inside the running event loop that will use it."""

    def __init__(self, *, api_base_url: str = TWILIO_API_BASE_URL, timeout_s: float = 10.0,
                 trace_configs: list[aiohttp.TraceConfig] | None = None) -> None:
        asyncio.get_running_loop()  # RuntimeError outside a loop: the session is bound to one
        super().__init__(pool_connections=False, timeout=timeout_s, trace_configs=trace_configs)
        self.api_base_url = api_base_url.rstrip("/")
        # Our own session, with the same bound as the per-request timeout (belt and braces).
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s),
                                             trace_configs=trace_configs)

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None, timeout: float | None = None,
                      allow_redirects: bool = False) -> Response:
        if auth is not None:  # as a header: aiohttp 3.14 deprecates BasicAuth and the auth parameter
            headers = {**(headers or {}), "Authorization": basic_auth(*auth)}
        return await super().request(method, rewrite_url(url, self.api_base_url), params=params, data=data,
                                     headers=headers, auth=None, timeout=timeout or self.timeout,
                                     allow_redirects=allow_redirects)

    async def get_bytes(self, url: str, *, auth: tuple[str, str]) -> bytes:
        """GET a binary resource of the API (recording media), following redirects (Twilio may
        redirect media to storage; aiohttp drops credentials on a cross-origin redirect).
        Credentials are only ever sent to the API's own origin. Non-2xx raises
        ``TwilioRestException`` like the SDK does, so the error mapping stays in one place."""
        target = rewrite_url(url, self.api_base_url)
        if _origin(target) != _origin(self.api_base_url):
            raise CarrierRejected(f"refusing to send the account's credentials to {urlsplit(url).netloc}")
        assert self.session is not None
        async with self.session.get(target, headers={"Authorization": basic_auth(*auth)}, allow_redirects=True,
                                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
            body = await response.read()
            if response.status >= 300:
                raise _rest_exception(response.status, url, body)
            return body


def _rest_exception(status: int, url: str, body: bytes) -> TwilioRestException:
    code: int = status
    message = "Unable to fetch media"
    try:
        payload: Any = json.loads(body)
        code = int(payload.get("code", status))
        message = f"{message}: {payload.get('message', '')}"
    except (ValueError, AttributeError, TypeError):
        pass
    return TwilioRestException(status, url, message, code, "GET")


def to_carrier_error(exc: BaseException, *, operation: str, writes: bool) -> CarrierError | None:
    """The one mapping from what the SDK and its transports raise to ``CarrierError``.

    ``writes``: the request changes something at the carrier (create/update/delete); a transport
    failure then leaves its outcome *uncertain*. Returns None for exceptions that are bugs, not
    carrier failures (let them propagate).
    """
    where = f"Twilio {operation}"
    if isinstance(exc, CarrierError):
        return exc
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        status, code = exc.status, exc.code
        message = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "") or ""
        detail = f"{where}: HTTP {status}, error {code}: {message}"
        if status == 429 or code == RATE_LIMITED:
            return CarrierRateLimited(detail, carrier_code=code, http_status=status)
        if status >= 500:
            return CarrierUnavailable(detail, carrier_code=code, http_status=status, uncertain=writes)
        return CarrierRejected(detail, carrier_code=code, http_status=status)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return to_carrier_error(TwilioRestException(status, str(exc.request.url), str(exc), status),
                                operation=operation, writes=writes)
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, httpx.ConnectError,
                        httpx.ConnectTimeout)):
        # The connection was never made, so the request never left: nothing happened.
        return CarrierUnavailable(f"{where}: cannot connect: {exc}", uncertain=False)
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return CarrierUnavailable(f"{where}: no answer in time", uncertain=writes)
    if isinstance(exc, (aiohttp.ClientError, httpx.TransportError, OSError)):
        return CarrierUnavailable(f"{where}: transport failure: {type(exc).__name__}: {exc}", uncertain=writes)
    if isinstance(exc, json.JSONDecodeError):  # a cut or garbled answer
        return CarrierUnavailable(f"{where}: unreadable answer", uncertain=writes)
    if isinstance(exc, TwilioException):
        return CarrierError(f"{where}: {exc}")
    return None
