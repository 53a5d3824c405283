"""Signed, expiring links: a URL path that anyone holding it may use until it expires, and that
cannot be altered (another path, a later expiry) without the signature failing.

The signature is HMAC-SHA256 over the path and the expiry (unix seconds), with a key derived from
the service's secret for this one purpose, URL-safe base64 without padding. Verification compares
in constant time and refuses an expired link whatever its signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from urllib.parse import urlencode


class LinkRefused(Exception):
    """The link is expired, altered or malformed (``reason`` says which; the caller answers 403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LinkSigner:
    def __init__(self, secret: str, *, purpose: str = "links") -> None:
        self._key = hmac.new(secret.encode(), f"dialer signed links: {purpose}".encode(), hashlib.sha256).digest()

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, path: str, *, expires_at: dt.datetime) -> str:
        """``path?expires=…&signature=…`` (the path as the service routes it, without a query)."""
        if "?" in path:
            raise ValueError("sign a path without a query string")
        expires = int(expires_at.timestamp())
        return f"{path}?{urlencode({'expires': expires, 'signature': self._signature(path, expires)})}"

    def verify(self, path: str, *, expires: str | int | None, signature: str | None, now: dt.datetime) -> None:
        """Return when the link is good; raise :class:`LinkRefused` otherwise."""
        if expires is None or signature is None:
            raise LinkRefused("missing")
        try:
            expiry = int(expires)
        except (TypeError, ValueError):
            raise LinkRefused("malformed") from None
        if not hmac.compare_digest(self._signature(path, expiry), signature):
            raise LinkRefused("bad_signature")
        if now.timestamp() >= expiry:
            raise LinkRefused("expired")
