"""Standard Webhooks signatures (the ``standardwebhooks`` package): ``webhook-id`` is the event's
id, the same on every retry; ``webhook-timestamp`` the attempt's time; ``webhook-signature`` one
``v1,<base64>`` per secret in use. During a rotation (the previous secret kept until
``previous_secret_until``) both sign, space-separated as the scheme allows, so a receiver that
holds either verifies."""

from __future__ import annotations

import base64
import datetime as dt
import math
import secrets as random_bytes

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 24 random bytes in base64 (the form receivers' libraries read)."""
    return PREFIX + base64.b64encode(random_bytes.token_bytes(24)).decode()


class Signer:
    """Signs for one endpoint: its secret, and its previous one until the rotation's end. Built
    once per look at the endpoint (each secret's key is decoded once)."""

    __slots__ = ("_current", "_previous", "_previous_until")

    def __init__(self, secret: str, *, previous: str | None = None, previous_until: dt.datetime | None = None) -> None:
        self._current = Webhook(secret)
        self._previous = Webhook(previous) if previous and previous_until is not None else None
        self._previous_until = previous_until

    def headers(self, *, msg_id: str, body: bytes, at: dt.datetime) -> dict[str, str]:
        """The three headers for one attempt made at ``at`` (aware)."""
        if at.tzinfo is None:
            raise ValueError("sign with an aware time")
        signatures = [self._current.sign(msg_id, at, body)]
        if self._previous is not None and self._previous_until is not None and at < self._previous_until:
            signatures.append(self._previous.sign(msg_id, at, body))
        return {"webhook-id": msg_id, "webhook-timestamp": str(math.floor(at.timestamp())),
                "webhook-signature": " ".join(signatures)}
