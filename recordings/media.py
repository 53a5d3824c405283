"""How a request for a recording's media is answered (RFC 9110 §13, §14): conditional requests on
the content's strong ETag and single byte ranges. Pure functions over the request's headers and the
file's size; the endpoint turns the answer into a response.

Order of evaluation (§13.2.2): ``If-None-Match`` first (a match is 304), then ``Range`` for a GET
only, subject to ``If-Range``. A Range that does not parse, names another unit or asks for several
ranges is ignored (the whole file, 200), as the RFC allows; one that parses but starts past the
end is 416."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Whole:
    """200: the whole file."""


@dataclass(frozen=True, slots=True)
class Part:
    """206: bytes ``start``..``end`` inclusive."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Unsatisfiable:
    """416: the one range asked for lies past the end (answer ``Content-Range: bytes */size``)."""


@dataclass(frozen=True, slots=True)
class NotModified:
    """304: the client's copy is current."""


Answer = Whole | Part | Unsatisfiable | NotModified

_RANGE = re.compile(r"^\s*(?P<first>\d*)\s*-\s*(?P<last>\d*)\s*$")


def etag_of(sha256: str) -> str:
    """The strong entity tag of content whose SHA-256 is ``sha256`` (content-addressed: it never changes)."""
    return f'"{sha256}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names the current representation (weak comparison, or ``*``)."""
    if if_none_match is None:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in _tags(if_none_match))


def range_applies(if_range: str | None, etag: str) -> bool:
    """Whether a Range is honoured under ``If-Range``: absent, or the same strong ETag. A date (we
    send no Last-Modified) or a weak or other tag means the client's copy may differ: send it whole."""
    return if_range is None or if_range.strip() == etag


def parse_range(header: str, size: int) -> Part | Unsatisfiable | None:
    """One byte range of a ``size``-byte file: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``. None when
    the header is to be ignored (malformed, another unit, several ranges, ``b < a``)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    found = _RANGE.match(spec)
    if found is None or not (found["first"] or found["last"]):
        return None
    if not found["first"]:  # suffix: the last n bytes
        suffix = int(found["last"])
        if suffix == 0 or size == 0:
            return Unsatisfiable()
        return Part(max(size - suffix, 0), size - 1)
    first = int(found["first"])
    last = int(found["last"]) if found["last"] else None
    if last is not None and last < first:
        return None
    if first >= size:
        return Unsatisfiable()
    return Part(first, size - 1 if last is None else min(last, size - 1))


def answer(
    *, method: str, size: int, etag: str, range_header: str | None = None, if_range: str | None = None,
    if_none_match: str | None = None,
) -> Answer:
    """What to send for a GET or HEAD of a ``size``-byte file tagged ``etag``."""
    if none_match(if_none_match, etag):
        return NotModified()
    if method != "GET" or range_header is None or not range_applies(if_range, etag):
        return Whole()
    return parse_range(range_header, size) or Whole()


def content_range(part: Part | Unsatisfiable, size: int) -> str:
    if isinstance(part, Unsatisfiable):
        return f"bytes */{size}"
    return f"bytes {part.start}-{part.end}/{size}"


@dataclass(frozen=True, slots=True)
class Head:
    """An answer's status and headers; ``span``: the inclusive bytes its body holds (None: no body)."""

    status: int
    headers: dict[str, str]
    span: tuple[int, int] | None


def head_of(decided: Answer, *, size: int, etag: str) -> Head:
    """The status line and headers of ``decided`` for a ``size``-byte file tagged ``etag``."""
    headers = {"ETag": etag, "Accept-Ranges": "bytes"}
    if isinstance(decided, NotModified):
        return Head(304, headers, None)
    if isinstance(decided, Unsatisfiable):
        return Head(416, {**headers, "Content-Range": content_range(decided, size)}, None)
    if isinstance(decided, Part):
        return Head(206, {**headers, "Content-Range": content_range(decided, size),
                          "Content-Length": str(decided.length)}, (decided.start, decided.end))
    return Head(200, {**headers, "Content-Length": str(size)}, (0, size - 1))
