"""Our webhook URLs as the carrier is given them (public base URL + path + ``call_id``/``leg``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


def webhook_url(public_base_url: str, path: str, **query: object) -> str:
    base = f"{public_base_url.rstrip('/')}/webhooks/twilio/{path}"
    return f"{base}?{urlencode(query)}" if query else base


@dataclass(frozen=True, slots=True)
class CallbackUrls:
    """Builds the URLs the carrier calls back on, from the service's public base URL (the one the
    carrier's signatures are computed on)."""

    public_base_url: str

    def __call__(self, path: str, **query: object) -> str:
        return webhook_url(self.public_base_url, path, **query)


def address_of(softphone_identity: str) -> str:
    """A seat's softphone as the carrier dials it: ``client:…`` / ``sip:…`` as given, a bare
    identity as a Twilio client."""
    return softphone_identity if ":" in softphone_identity else f"client:{softphone_identity}"
