"""Twilio's ``X-Twilio-Signature``: checked with the SDK's RequestValidator on the public URL."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from twilio.request_validator import RequestValidator

from dialer.kit.errors import DialerError


class BadSignature(DialerError):
    """An unsigned or wrongly signed webhook. Refused with 403; the audit entry is kept."""

    code = "bad_signature"
    status = 403
    keep_work = True


def public_url(request: Request, public_base_url: str) -> str:
    """The URL the carrier signed: our public base URL with the request's path and query (a proxy
    in front of the app changes host and scheme, so the request's own URL is not it)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return public_base_url.rstrip("/") + request.url.path + query


def is_valid(*, auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, dict(params), signature)
