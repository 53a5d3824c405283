"""Pointing the real twilio SDK at the emulator (for the emulator's own tests).

twilio-python builds every URL on ``https://*.twilio.com``; these HTTP clients swap that base
for the emulator's before the request leaves. The async client opens an aiohttp session, so it
must be created inside a running event loop.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client


def rewrite_url(url: str, base_url: str) -> str:
    """``https://api.twilio.com/2010-04-01/…`` → ``<base_url>/2010-04-01/…`` (other hosts untouched)."""
    parts = urlsplit(url)
    if not (parts.hostname or "").endswith("twilio.com"):
        return url
    base = urlsplit(base_url)
    return urlunsplit(parts._replace(scheme=base.scheme, netloc=base.netloc,
                                     path=base.path.rstrip("/") + parts.path))


class EmulatorHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, rewrite_url(url, self.base_url), *args, **kwargs)


class AsyncEmulatorHttpClient(AsyncTwilioHttpClient):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if auth := kwargs.pop("auth", None):  # as a header: aiohttp deprecates its BasicAuth
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, rewrite_url(url, self.base_url), *args, **kwargs)


def emulator_client(base_url: str, account_sid: str, auth_token: str) -> Client:
    """A synchronous ``twilio.rest.Client`` talking to the emulator."""
    return Client(account_sid, auth_token, http_client=EmulatorHttpClient(base_url))


def async_emulator_client(base_url: str, account_sid: str, auth_token: str) -> Client:
    """An async ``twilio.rest.Client`` (use the ``*_async`` methods); call inside a running loop and
    close ``client.http_client`` when done."""
    return Client(account_sid, auth_token, http_client=AsyncEmulatorHttpClient(base_url))
