"""SIP messages (RFC 3261 §7): requests and responses, parsing, encoding and §8.2.6 responses.

`parse` is tolerant where RFC 4475 §3.1.1 calls a message valid (folded lines, compact and
mixed-case names, LWS around separators, leading zeros, unknown methods and headers) and strict
where §3.1.2 calls one invalid: every malformed start line or structured header it knows raises
`SipParseError`, whose text says what and where, so a UAS can answer 400 with it.

The structured pieces live in `uri` (SipUri, NameAddr) and `headers` (Headers, CSeq, Via); they are
re-exported here, which is the module callers import.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from .headers import COMPACT_FORMS, LIST_HEADERS, CSeq, Headers, Via, canonical_name, parse_cseq, parse_via
from .uri import NameAddr, SipParseError, SipUri, is_token, parse_name_addr, parse_uri, split_name_addr

__all__ = [
    "COMPACT_FORMS", "LIST_HEADERS", "CSeq", "Headers", "NameAddr", "Request", "Response", "SipParseError",
    "SipUri", "Via", "canonical_name", "frame_length", "make_response", "new_branch", "new_call_id",
    "new_tag", "parse", "parse_cseq", "parse_name_addr", "parse_uri", "parse_via", "reason_phrase",
]

VERSION = "SIP/2.0"

_REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
    199: "Early Dialog Terminated", 200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy",
    380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
    484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

# Headers a message may carry at most once (RFC 3261 §7.3.1, §20; RFC 4475 multi01, mcl01).
_SINGLE = ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type")
_REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_ADDRESS_HEADERS = ("From", "To", "Contact", "Route", "Record-Route", "Reply-To")


def reason_phrase(status: int) -> str:
    """The RFC 3261 §21 reason phrase of a status code (its class's phrase for unknown codes)."""
    return _REASONS.get(status) or _REASONS.get(status // 100 * 100, "")


class _Message:
    """What requests and responses share: the header accessors every layer reads. An accessor
    whose header is missing or malformed raises `SipParseError`."""

    headers: Headers
    body: bytes

    def _first(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        return self._first("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return parse_cseq(self._first("CSeq"))

    @property
    def top_via(self) -> Via:
        vias = self.headers.get_all("Via")
        if not vias:
            raise SipParseError("missing Via header")
        return parse_via(vias[0])

    @property
    def vias(self) -> list[Via]:
        return [parse_via(value) for value in self.headers.get_all("Via")]

    @property
    def from_(self) -> NameAddr:
        return parse_name_addr(self._first("From"), "From header")

    @property
    def to(self) -> NameAddr:
        return parse_name_addr(self._first("To"), "To header")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def _encode(self, start_line: str) -> bytes:
        headers = self.headers.copy()
        headers.set("Content-Length", str(len(self.body)))
        lines = [start_line] + [f"{name}: {value}" for name, value in headers.items()]
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("utf-8", errors="surrogateescape") + self.body


@dataclass(eq=True)
class Request(_Message):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        return None if value is None else int(value)

    @property
    def request_uri(self) -> SipUri:
        return parse_uri(self.uri)

    def encode(self) -> bytes:
        """The wire form: CRLF line ends, Content-Length always present and set from the body."""
        return self._encode(f"{self.method} {self.uri} {VERSION}")


@dataclass(eq=True)
class Response(_Message):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def __post_init__(self) -> None:
        if not self.reason:
            self.reason = reason_phrase(self.status)

    def encode(self) -> bytes:
        """The wire form: CRLF line ends, Content-Length always present and set from the body."""
        return self._encode(f"{VERSION} {self.status} {self.reason}")


def new_branch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 96 random bits."""
    return "z9hG4bK" + secrets.token_hex(12)


def new_tag() -> str:
    return secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(16)}@{host}"


def make_response(
    request: Request, status: int, reason: str = "", *, to_tag: str | None = None, body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` per RFC 3261 §8.2.6: every Via in order, From, To (with ``to_tag``
    added when To has no tag), Call-ID and CSeq copied; Timestamp echoed on 100 (§8.2.6.1);
    Record-Route copied on a dialog-creating 101-299 answer to INVITE (§12.1.1)."""
    headers = Headers()
    for value in request.headers.get_all("Via"):
        headers.add("Via", value)
    headers.add("From", request._first("From"))
    to = request._first("To")
    if to_tag is not None and "tag" not in split_name_addr(to, "To header")[2]:
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", request._first("CSeq"))
    if status == 100 and "Timestamp" in request.headers:
        headers.add("Timestamp", request._first("Timestamp"))
    if request.method == "INVITE" and 100 < status < 300:
        for value in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", value)
    if content_type is not None:
        headers.add("Content-Type", content_type)
    return Response(status, reason, headers, body)


_FOLD = re.compile(r"\r?\n[ \t]+")
_LINE_END = re.compile(r"\r?\n")


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    data = data.lstrip(b"\r\n")  # §7.5: CRLFs before the start line are ignored
    for separator in (b"\r\n\r\n", b"\n\n"):  # bare LF line ends accepted from sloppy peers
        index = data.find(separator)
        if index >= 0:
            return data[:index], data[index + len(separator) :]
    if data.endswith(b"\n"):
        # A datagram whose last header line ends it, without the empty line: nothing is ambiguous
        # (there is no body), so accept it rather than answer 400 for a missing CRLF.
        return data.rstrip(b"\r\n"), b""
    raise SipParseError("no empty line after the headers")


def frame_length(data: bytes) -> int | None:
    """Length of the first complete message in a stream buffer (§18.3: Content-Length frames the body
    on TCP; absent, it counts as 0), or None when more bytes are needed. Leading CRLF keep-alives
    count towards it. Raises `SipParseError` when the framing cannot be read: the connection is lost."""
    stripped = data.lstrip(b"\r\n")
    skipped = len(data) - len(stripped)
    end = stripped.find(b"\r\n\r\n")
    if end < 0:
        return None
    lengths = Headers(_header_lines(stripped[:end].decode("utf-8", "surrogateescape"))[1]).get_all("Content-Length")
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        raise SipParseError(f"cannot frame the stream: Content-Length {', '.join(lengths)!r}")
    total = skipped + end + 4 + (int(lengths[0]) if lengths else 0)
    return total if len(data) >= total else None


def _header_lines(head: str) -> tuple[str, list[tuple[str, str]]]:
    lines = _LINE_END.split(_FOLD.sub(" ", head))
    items: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        name, colon, value = line.partition(":")
        if not colon or not is_token(name.rstrip(" \t")):
            raise SipParseError(f"line {number}: not a header field: {line[:40]!r}")
        items.append((name.rstrip(" \t"), value.strip(" \t")))
    return lines[0], items


def parse(data: bytes) -> Request | Response:
    """Parse one datagram (or one framed stream message) into a Request or Response.

    The body is framed by Content-Length; octets past it are dropped (§18.3, RFC 4475 dblreq) and a
    body shorter than it is an error (RFC 4475 clerr). Without Content-Length the body runs to the
    end of the datagram."""
    head, rest = _split_head(data)
    start, items = _header_lines(head.decode("utf-8", errors="surrogateescape"))
    headers = Headers(items)
    message = _start_line(start, headers)
    message.body = _body(headers, rest)
    _validate(message)
    headers.set("Content-Length", str(len(message.body)))  # what was framed, now always stated
    return message


def _start_line(line: str, headers: Headers) -> Request | Response:
    if line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        # RFC 4475 noreason: without the SP before an empty reason phrase "this message could be
        # rejected as invalid (a liberal receiver would accept it anyway)". We accept it.
        code, _, reason = rest.partition(" ")
        if version.upper() != VERSION:
            raise SipParseError(f"status line: unsupported version {version!r}")
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"status line: bad status code {code!r}")
        response = Response(int(code), reason, headers)
        response.reason = reason  # keep an empty reason phrase empty (RFC 4475 noreason)
        return response
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SipParseError(f"request line {line!r}: expected 'Method SP Request-URI SP SIP/2.0'")
    method, uri, version = parts
    if not is_token(method):
        raise SipParseError(f"request line: method {method!r} is not a token")
    if version.upper() != VERSION:
        raise SipParseError(f"request line: unsupported version {version!r}")
    _check_request_uri(uri)
    return Request(method, uri, headers)


def _check_request_uri(uri: str) -> None:
    scheme, colon, rest = uri.partition(":")
    if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) or not rest or "<" in uri or ">" in uri:
        raise SipParseError(f"request line: bad Request-URI {uri!r}")
    if scheme.lower() in ("sip", "sips", "tel"):
        parsed = parse_uri(uri)
        if parsed.headers:  # §19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri)
            raise SipParseError(f"request line: Request-URI {uri!r} carries headers")
    # Other schemes are opaque here: the UAS answers 416 (RFC 4475 unkscm, novelsc).


def _body(headers: Headers, rest: bytes) -> bytes:
    lengths = headers.get_all("Content-Length")
    if not lengths:
        return rest
    if len(lengths) > 1:
        raise SipParseError("Content-Length header appears more than once")
    if not lengths[0].isdigit():
        raise SipParseError(f"Content-Length {lengths[0]!r} is not a non-negative integer")
    length = int(lengths[0])
    if len(rest) < length:
        raise SipParseError(f"Content-Length {length} is larger than the {len(rest)}-byte body")
    return rest[:length]


def _validate(message: Request | Response) -> None:
    headers = message.headers
    for name in _REQUIRED:
        if name not in headers:
            raise SipParseError(f"missing {name} header")
    for name in _SINGLE:
        if len([1 for item, _ in headers.items() if item == name]) > 1:
            raise SipParseError(f"{name} header appears more than once")
    for index, value in enumerate(headers.get_all("Via"), start=1):
        parse_via(value, f"Via header {index}")
    cseq = message.cseq
    if isinstance(message, Request) and cseq.method != message.method:
        raise SipParseError(f"CSeq method {cseq.method!r} does not match the request method {message.method!r}")
    if not message.call_id or any(c.isspace() for c in message.call_id):
        raise SipParseError(f"Call-ID {message.call_id!r} is malformed")
    for name in _ADDRESS_HEADERS:
        for index, value in enumerate(headers.get_all(name), start=1):
            _check_address(name, index, value)
    if isinstance(message, Request):
        hops = headers.get("Max-Forwards")
        if hops is not None and (not hops.isdigit() or int(hops) > 255):
            raise SipParseError(f"Max-Forwards {hops!r} is not an integer from 0 to 255")


def _check_address(name: str, index: int, value: str) -> None:
    where = f"{name} header" if name in ("From", "To") else f"{name} header {index}"
    if name == "Contact" and value == "*":
        return
    uri_text = split_name_addr(value, where)[1]
    if uri_text.partition(":")[0].lower() in ("sip", "sips", "tel"):
        try:
            parse_uri(uri_text)
        except SipParseError as error:
            raise SipParseError(f"{where}: {error.reason}") from None
