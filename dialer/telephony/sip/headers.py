"""SIP header fields: the ordered multi-map `Headers` and the structured values CSeq and Via.

Names are case-insensitive (RFC 3261 §7.3.1); compact forms (§7.3.3, and the extension headers
that registered one) are expanded to the full canonical name when a header is parsed or added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .uri import SipParseError, format_params, is_token, parse_header_params, split_quoted

COMPACT_FORMS = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To",
    "u": "Allow-Events", "v": "Via", "x": "Session-Expires", "y": "Identity",
}

_CANONICAL = {name.lower(): name for name in (
    *COMPACT_FORMS.values(), "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Authentication-Info", "Authorization", "Call-Info", "Content-Disposition", "Content-Language",
    "CSeq", "Date", "Error-Info", "Expires", "In-Reply-To", "Max-Forwards", "MIME-Version",
    "Min-Expires", "Min-SE", "Organization", "P-Asserted-Identity", "Path", "Priority",
    "Privacy", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
    "Record-Route", "Reply-To", "Require", "Retry-After", "Route", "RSeq", "Server", "Service-Route",
    "Timestamp", "Unsupported", "User-Agent", "Warning", "WWW-Authenticate",
)}

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1): one element, one value.
LIST_HEADERS = frozenset(name.lower() for name in (
    "Via", "Contact", "Route", "Record-Route", "Path", "Service-Route", "Allow", "Supported", "Require",
    "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding",
    "Content-Language", "Allow-Events", "Alert-Info", "Call-Info", "Error-Info", "In-Reply-To",
    "Warning", "P-Asserted-Identity",
))


def canonical_name(name: str) -> str:
    """The full, conventionally spelled name of a header (``v`` -> ``Via``, ``call-id`` -> ``Call-ID``);
    unknown names are kept as written."""
    stripped = name.strip()
    lower = stripped.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL.get(lower, stripped)


def split_list(value: str) -> list[str]:
    """Split a list header's value on commas outside quotes and ``<...>``; empty elements dropped."""
    return [part.strip() for part in split_quoted(value, ",") if part.strip()]


class Headers:
    """An ordered multi-map of header fields, one entry per header line as received or added."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items or []:
            self.add(name, value)

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (the whole line, even for list headers), or None."""
        key = canonical_name(name).lower()
        return next((value for item, value in self._items if item.lower() == key), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order; list headers are split so one element is one value."""
        key = canonical_name(name).lower()
        values = [value for item, value in self._items if item.lower() == key]
        if key in LIST_HEADERS:
            return [element for value in values for element in split_list(value)]
        return values

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        self._items.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first line of that name (at the end if there is none): a new top Via."""
        key = canonical_name(name).lower()
        index = next((i for i, (item, _) in enumerate(self._items) if item.lower() == key), len(self._items))
        self._items.insert(index, (canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of that name with one, at the position of the first (or at the end)."""
        key = canonical_name(name).lower()
        index = next((i for i, (item, _) in enumerate(self._items) if item.lower() == key), None)
        self.remove(name)
        self._items.insert(len(self._items) if index is None else index, (canonical_name(name), value))

    def remove(self, name: str) -> None:
        key = canonical_name(name).lower()
        self._items = [(item, value) for item, value in self._items if item.lower() != key]

    def remove_first(self, name: str) -> None:
        """Remove the top value: the first element of a comma-joined list header, else the first line."""
        key = canonical_name(name).lower()
        for index, (item, value) in enumerate(self._items):
            if item.lower() != key:
                continue
            rest = split_list(value)[1:] if key in LIST_HEADERS else []
            if rest:
                self._items[index] = (item, ", ".join(rest))
            else:
                del self._items[index]
            return

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        """Every header line as (canonical name, value), in order."""
        return list(self._items)

    def copy(self) -> Headers:
        copied = Headers()
        copied._items = list(self._items)
        return copied

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(n.lower(), v) for n, v in self._items] == [(n.lower(), v) for n, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(value: str) -> CSeq:
    """``CSeq: 1*DIGIT LWS Method``; the number must fit 32 bits unsigned (RFC 3261 §8.1.1.5,
    RFC 4475 scalar02 / scalarlg). Leading zeros are allowed (RFC 4475 wsinv)."""
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not is_token(parts[1]):
        raise SipParseError(f"CSeq {value!r}: expected a number and a method")
    number = int(parts[0])
    if number >= 2**32:
        raise SipParseError(f"CSeq {value!r}: sequence number is larger than 2**32-1")
    return CSeq(number, parts[1])


_VIA = re.compile(
    r"(?P<protocol>[^\s/]+)\s*/\s*(?P<version>[^\s/]+)\s*/\s*(?P<transport>[^\s/]+)\s+"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:\s*:\s*(?P<port>\d+))?\s*(?P<params>;.*)?",
    re.DOTALL,
)


@dataclass
class Via:
    """One Via value. ``transport`` is upper-case; ``params`` keys are lower-case, flags map to None."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The rport value a server filled in (RFC 3581); None when absent or still a bare flag."""
        value = self.params.get("rport")
        return int(value) if value and value.isdigit() else None

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def encode(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"

    def __str__(self) -> str:
        return self.encode()


def parse_via(value: str, where: str = "Via") -> Via:
    """Parse one Via value (``SIP / 2.0 / UDP host:port;branch=...``, LWS allowed per §25.1).
    ``where`` names the value in the error (``Via header 2``)."""
    match = _VIA.fullmatch(value.strip())
    if not match:
        raise SipParseError(f"{where}: {value.strip()[:60]!r} is not SIP/2.0/transport host[:port]")
    if match["protocol"].upper() != "SIP" or match["version"] != "2.0" or not is_token(match["transport"]):
        raise SipParseError(f"{where}: unknown protocol {match['protocol']}/{match['version']}")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise SipParseError(f"{where}: bad port {port}")
    params = parse_header_params(match["params"] or "", where)
    return Via(match["transport"].upper(), match["host"], port, params)
