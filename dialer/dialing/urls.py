"""Our webhook URLs as the carrier is given them (public base URL + path + ``call_id``/``leg``)."""

from __future__ import annotations

from urllib.parse import urlencode


def webhook_url(public_base_url: str, path: str, **query: object) -> str:
    base = f"{public_base_url.rstrip('/')}/webhooks/twilio/{path}"
    return f"{base}?{urlencode(query)}" if query else base


def address_of(softphone_identity: str) -> str:
    """A seat's softphone as the carrier dials it: ``client:…`` / ``sip:…`` as given, a bare
    identity as a Twilio client."""
    return softphone_identity if ":" in softphone_identity else f"client:{softphone_identity}"
