"""SIP addresses: URIs (RFC 3261 §19.1) and name-addr / addr-spec header values (§20.10, §25.1).

`SipParseError` lives here because this is the bottom of the parsing stack; `message` re-exports
it, and callers should import it from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")

_UNRESERVED = "-_.!~*'()"
_USER_SAFE = _UNRESERVED + "&=+$,;?/"  # §25.1 user-unreserved
_PASSWORD_SAFE = _UNRESERVED + "&=+$,"
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?|\[[0-9A-Fa-f:.]+\]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_URI_PARAM_CHARS = TOKEN_CHARS | frozenset("[]/:&+$%")
_HEADER_CHARS = TOKEN_CHARS | frozenset("[]/?:+$%@=<>\"")
_GEN_VALUE_CHARS = TOKEN_CHARS | frozenset(":[]")  # token / host, and a bare IPv6 received= (§20.42)


class SipParseError(ValueError):
    """A message, header or URI that does not follow the grammar. ``reason`` says what and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_token(text: str) -> bool:
    """RFC 3261 §25.1 ``token``: one or more of the token characters."""
    return bool(text) and all(c in TOKEN_CHARS for c in text)


@dataclass
class SipUri:
    """A sip:, sips: or tel: URI. ``user`` and ``password`` are unescaped; parameters and headers are
    kept as written (escaped). Parameter names are lower-cased: RFC 3261 §19.1.4 compares them
    case-insensitively, and peers such as sipp send ``transport=UDP``. ``host`` keeps the brackets
    of an IPv6 reference (``[::1]``); a tel: URI has an empty host and the number in ``user``."""

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        """The value of a URI parameter, looked up case-insensitively (None for absent or flag)."""
        return self.params.get(name.lower())

    def has_param(self, name: str) -> bool:
        return name.lower() in self.params

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased (``UDP`` and ``udp`` are the same transport)."""
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        text = f"{self.scheme}:"
        if self.scheme == "tel":
            text += quote(self.user or "", safe=_USER_SAFE, errors="surrogateescape")
        else:
            if self.user is not None:
                text += quote(self.user, safe=_USER_SAFE, errors="surrogateescape")
                if self.password is not None:
                    text += ":" + quote(self.password, safe=_PASSWORD_SAFE, errors="surrogateescape")
                text += "@"
            text += self.host_port
        text += format_params(self.params)
        if self.headers:
            text += "?" + "&".join(f"{name}={value}" for name, value in self.headers.items())
        return text


def parse_uri(text: str) -> SipUri:
    """Parse a sip:, sips: or tel: URI; anything else (unknown scheme, whitespace, bad host or port)
    raises `SipParseError`."""
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or not _SCHEME.fullmatch(scheme):
        raise SipParseError(f"URI {text!r}: no scheme")
    if any(c.isspace() for c in text):
        raise SipParseError(f"URI {text!r}: contains whitespace")
    if scheme == "tel":
        number, _, param_text = rest.partition(";")
        if not number:
            raise SipParseError(f"URI {text!r}: empty telephone number")
        return SipUri("tel", unquote(number, errors="surrogateescape"), None, "", None, parse_uri_params(param_text, text), {})
    if scheme not in ("sip", "sips"):
        raise SipParseError(f"URI {text!r}: unsupported scheme {scheme!r}")
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.partition("@")
        raw_user, colon, raw_password = userinfo.partition(":")
        if not raw_user:
            raise SipParseError(f"URI {text!r}: empty user part")
        user = unquote(raw_user, errors="surrogateescape")
        password = unquote(raw_password, errors="surrogateescape") if colon else None
    rest, question, header_text = rest.partition("?")
    host_port, _, param_text = rest.partition(";")
    host, port = _split_host_port(host_port, text)
    headers: dict[str, str] = {}
    if question:
        for pair in header_text.split("&"):
            name, equals, value = pair.partition("=")
            if not name or not equals or not all(c in _HEADER_CHARS for c in name + value):
                raise SipParseError(f"URI {text!r}: malformed header {pair!r}")
            headers[name] = value
    return SipUri(scheme, user, password, host, port, parse_uri_params(param_text, text), headers)


def _split_host_port(host_port: str, text: str) -> tuple[str, int | None]:
    if host_port.startswith("["):
        end = host_port.find("]") + 1
        host, port_text = host_port[:end], host_port[end:]
    else:
        host, colon, port_text = host_port.partition(":")
        port_text = colon + port_text
    if not host or not _HOST.fullmatch(host):
        raise SipParseError(f"URI {text!r}: bad host {host!r}")
    if not port_text:
        return host, None
    digits = port_text[1:]
    if not port_text.startswith(":") or not digits.isdigit() or not 0 < int(digits) < 65536:
        raise SipParseError(f"URI {text!r}: bad port {port_text[1:]!r}")
    return host, int(digits)


def parse_uri_params(text: str, where: str) -> dict[str, str | None]:
    """``;name=value;flag`` URI parameters (without the leading ``;``) into a dict of lower-case names."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    for item in text.split(";"):
        name, equals, value = item.partition("=")
        if not name or not all(c in _URI_PARAM_CHARS for c in name + value) or (equals and not value):
            raise SipParseError(f"URI {where!r}: malformed parameter {item!r}")
        params[name.lower()] = value if equals else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params.items())


def parse_header_params(text: str, where: str) -> dict[str, str | None]:
    """RFC 3261 ``*( SEMI generic-param )`` after a header value, ``text`` starting at the first ``;``.
    Whitespace around ``;`` and ``=`` is allowed (SEMI, EQUAL); values may be quoted strings, kept
    with their quotes. Names are lower-cased."""
    params: dict[str, str | None] = {}
    text = text.strip()
    if not text:
        return params
    if not text.startswith(";"):
        raise SipParseError(f"{where}: unexpected {text!r}")
    for item in split_quoted(text[1:], ";"):
        name, equals, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not is_token(name):
            raise SipParseError(f"{where}: malformed parameter {item.strip()!r}")
        if equals and not (_is_quoted(value) or (value and all(c in _GEN_VALUE_CHARS for c in value))):
            raise SipParseError(f"{where}: malformed value of parameter {name!r}")
        params[name.lower()] = value if equals else None
    return params


def split_quoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted strings and ``<...>``; backslash escapes inside quotes."""
    parts: list[str] = []
    start, in_quotes, in_angle, escaped = 0, False, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == separator and not in_angle:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _is_quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == '"' and _quoted_end(value, 0) == len(value) - 1


def _quoted_end(text: str, start: int) -> int:
    """Index of the quote closing the quoted string opening at ``start``, or -1 if unterminated."""
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index
        index += 1
    return -1


def unquote_string(quoted: str) -> str:
    """The content of a quoted string, backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", quoted[1:-1], flags=re.DOTALL)


def quote_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class NameAddr:
    """A From / To / Contact / Route value: optional display name, URI and header parameters."""

    display: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = "" if self.display is None else quote_string(self.display) + " "
        return f"{display}<{self.uri}>{format_params(self.params)}"


def split_name_addr(text: str, where: str = "address") -> tuple[str | None, str, dict[str, str | None]]:
    """Split a name-addr or addr-spec into (display name, URI text, header params) without parsing the
    URI, so unknown schemes (RFC 4475 unksm2) still split. In the bare addr-spec form the
    parameters after the URI belong to the header (RFC 3261 §20), and a URI containing ``,``,
    ``?`` or ``;`` must be in angle brackets (§20.10, RFC 4475 regbadct)."""
    text = text.strip()
    display: str | None = None
    if text.startswith('"'):
        end = _quoted_end(text, 0)
        if end < 0:
            raise SipParseError(f"{where}: unterminated quoted display name")
        display = unquote_string(text[: end + 1])
        text = text[end + 1 :].lstrip()
        if not text.startswith("<"):
            raise SipParseError(f"{where}: display name not followed by <URI>")
    if _angle_form(text):
        before, _, rest = text.partition("<")
        if display is None:
            words = before.split()
            if not all(is_token(word) for word in words):
                raise SipParseError(f"{where}: display name {before.strip()!r} must be quoted")
            display = " ".join(words) if words else None
        uri_text, closed, after = rest.partition(">")
        if not closed:
            raise SipParseError(f"{where}: missing '>'")
        if not uri_text or any(c.isspace() for c in uri_text):
            raise SipParseError(f"{where}: whitespace or nothing inside <...>")
        return display, uri_text, parse_header_params(after, where)
    uri_text, semicolon, after = text.partition(";")
    uri_text = uri_text.rstrip()
    if not uri_text or any(c.isspace() or c in ",?\"" for c in uri_text):
        raise SipParseError(f"{where}: URI {uri_text!r} must be enclosed in <...>")
    return None, uri_text, parse_header_params(semicolon + after, where)


def _angle_form(text: str) -> bool:
    """Whether a header value is name-addr: a ``<`` (outside quotes) before any ``;``. A bare
    addr-spec may carry a quoted ``<`` in a parameter (``;+sip.instance="<urn:...>"``)."""
    in_quotes, escaped = False, False
    for char in text:
        if escaped:
            escaped = False
        elif in_quotes:
            escaped, in_quotes = char == "\\", char != '"'
        elif char == '"':
            in_quotes = True
        elif char in "<;":
            return char == "<"
    return False


def parse_name_addr(text: str, where: str = "address") -> NameAddr:
    """Parse ``"Name" <sip:...>;tag=x`` or ``sip:...;tag=x`` (see `split_name_addr`)."""
    display, uri_text, params = split_name_addr(text, where)
    return NameAddr(display, parse_uri(uri_text), params)
