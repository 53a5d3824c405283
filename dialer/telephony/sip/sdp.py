"""SDP (RFC 4566) and the offer/answer model (RFC 3264), for one G.711 audio stream with RFC 4733
telephone-event.

`offer` builds what the B2BUA sends in an INVITE, `answer` answers a trunk's offer and
`accept_answer` reads the trunk's answer to ours; both of the last two return a `Negotiated`
value the media layer runs on, or raise `SdpError` saying why (a UAS answers 488 with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TELEPHONE_EVENT_PT = 101
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_NO_SEND = {"sendrecv": "recvonly", "sendonly": "inactive", "recvonly": "recvonly", "inactive": "inactive"}
_HOLD_ADDRESSES = ("0.0.0.0", "::")  # RFC 3264 §8.4: the RFC 2543 way of saying "do not send to me"


class SdpError(ValueError):
    """A session description that does not parse, or offer/answer that cannot agree; says why."""


@dataclass(frozen=True)
class Codec:
    name: str
    payload_type: int
    clock_rate: int = 8000

    def __str__(self) -> str:
        return f"{self.name}/{self.clock_rate}"


PCMA = Codec("PCMA", 8)
PCMU = Codec("PCMU", 0)
_STATIC = {0: PCMU, 8: PCMA}  # RFC 3551 static payload types we know without an rtpmap


@dataclass(frozen=True)
class Origin:
    """The ``o=`` line."""

    username: str
    session_id: int
    version: int
    address: str
    address_type: str = "IP4"


@dataclass
class Media:
    """One ``m=`` section: kind (audio, video...), port, transport protocol, formats in preference
    order, its own ``c=`` address if any, and its attributes as (name, value) pairs."""

    kind: str
    port: int
    protocol: str
    formats: list[str]
    connection: str | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # i=, b=, k= lines, kept in order

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    def rtpmap(self) -> dict[int, Codec]:
        """Payload type -> codec from ``a=rtpmap`` (plus the static types 0 and 8 when unmapped)."""
        mapping: dict[int, Codec] = {}
        for key, value in self.attributes:
            if key != "rtpmap" or not value:
                continue
            number, _, encoding = value.partition(" ")
            name, _, rest = encoding.strip().partition("/")
            rate = rest.partition("/")[0]
            if number.isdigit() and rate.isdigit():
                mapping[int(number)] = Codec(name, int(number), int(rate))
        for text in self.formats:
            if text.isdigit() and int(text) in _STATIC and int(text) not in mapping:
                mapping[int(text)] = _STATIC[int(text)]
        return mapping

    def fmtp(self, payload_type: int) -> str | None:
        prefix = f"{payload_type} "
        return next((v[len(prefix):] for k, v in self.attributes if k == "fmtp" and v and v.startswith(prefix)), None)


@dataclass
class SessionDescription:
    """A parsed or built session description. ``connection`` is the session-level ``c=`` address."""

    origin: Origin
    session_name: str = "-"
    connection: str | None = None
    media: list[Media] = field(default_factory=list)
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    timing: str = "0 0"
    other: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: bytes | str) -> SessionDescription:
        """Parse an SDP body (CRLF or LF line ends). Raises `SdpError` for a missing or malformed
        ``v=``, ``o=``, ``c=`` or ``m=`` line."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
        if not lines or lines[0] != "v=0":
            raise SdpError("SDP must start with v=0")
        origin: Origin | None = None
        session = cls(origin=Origin("-", 0, 0, ""))
        current: Media | None = None
        for number, line in enumerate(lines[1:], start=2):
            kind, equals, value = line.partition("=")
            if not equals or len(kind) != 1:
                raise SdpError(f"SDP line {number}: {line[:40]!r} is not type=value")
            if kind == "m":
                current = _parse_media(value, number)
                session.media.append(current)
            elif kind == "o":
                origin = _parse_origin(value, number)
            elif kind == "c":
                address = _parse_connection(value, number)
                if current is None:
                    session.connection = address
                else:
                    current.connection = address
            elif kind == "a":
                name, colon, attribute_value = value.partition(":")
                (session.attributes if current is None else current.attributes).append(
                    (name, attribute_value if colon else None))
            elif kind == "s" and current is None:
                session.session_name = value
            elif kind == "t" and current is None:
                session.timing = value
            else:
                (session.other if current is None else current.other).append((kind, value))
        if origin is None:
            raise SdpError("SDP has no o= line")
        session.origin = origin
        return session

    def encode(self) -> bytes:
        """The SDP text with CRLF line ends (RFC 4566 §5), ready to be a message body."""
        o = self.origin
        lines = ["v=0", f"o={o.username} {o.session_id} {o.version} IN {o.address_type} {o.address}",
                 f"s={self.session_name}"]
        lines += [f"{kind}={value}" for kind, value in self.other if kind in "iuep"]  # RFC 4566 §5 order
        if self.connection is not None:
            lines.append(_connection_line(self.connection))
        lines += [f"{kind}={value}" for kind, value in self.other if kind == "b"]
        lines.append(f"t={self.timing}")
        lines += [f"{kind}={value}" for kind, value in self.other if kind not in "iuepb"]
        lines += [_attribute_line(name, value) for name, value in self.attributes]
        for media in self.media:
            lines.append(f"m={media.kind} {media.port} {media.protocol} {' '.join(media.formats)}")
            lines += [f"{kind}={value}" for kind, value in media.other if kind == "i"]
            if media.connection is not None:
                lines.append(_connection_line(media.connection))
            lines += [f"{kind}={value}" for kind, value in media.other if kind != "i"]
            lines += [_attribute_line(name, value) for name, value in media.attributes]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def direction(self, media: Media) -> str:
        """The media line's direction attribute, else the session's, else sendrecv (RFC 3264 §5.1)."""
        for attributes in (media.attributes, self.attributes):
            found = next((name for name, value in attributes if name in DIRECTIONS and value is None), None)
            if found:
                return found
        return "sendrecv"

    def address_of(self, media: Media) -> str | None:
        """Where the media line's RTP goes: its own ``c=`` or else the session's."""
        return media.connection or self.connection


@dataclass(frozen=True)
class Negotiated:
    """What was agreed for the audio stream. ``direction`` is from our point of view."""

    codec: Codec
    telephone_event: int | None
    remote_address: str
    remote_port: int
    direction: str
    ptime: int


def offer(
    *, address: str, port: int, session_id: int, version: int = 0, codecs: tuple[Codec, ...] = (PCMA, PCMU),
    telephone_event: int | None = TELEPHONE_EVENT_PT, direction: str = "sendrecv",
) -> SessionDescription:
    """Our offer: one audio line with ``codecs`` in preference order, telephone-event if wanted."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    media = Media("audio", port, "RTP/AVP", [str(codec.payload_type) for codec in codecs])
    media.attributes += [("rtpmap", f"{codec.payload_type} {codec}") for codec in codecs]
    if telephone_event is not None:
        media.formats.append(str(telephone_event))
        media.attributes += [("rtpmap", f"{telephone_event} telephone-event/8000"), ("fmtp", f"{telephone_event} 0-16")]
    media.attributes += [("ptime", "20"), (direction, None)]
    return SessionDescription(origin=_origin(address, session_id, version), connection=address, media=[media])


def answer(
    remote_offer: SessionDescription, *, address: str, port: int, session_id: int,
    supported: tuple[Codec, ...] = (PCMA, PCMU), version: int = 0,
) -> tuple[SessionDescription, Negotiated]:
    """Answer a trunk's offer (RFC 3264 §6): accept the first audio line with the first codec it
    lists that we support, echo its telephone-event, mirror its direction; every other line is
    answered with port 0. Raises `SdpError` when no audio line can be accepted. ``version`` is the
    o= version, which must grow when a re-INVITE's answer changes the session (RFC 3264 §8)."""
    chosen: Negotiated | None = None
    lines: list[Media] = []
    problems: list[str] = []
    for media in remote_offer.media:
        accepted = None
        if chosen is None and media.kind == "audio" and media.port != 0:
            try:
                accepted = _accept_audio(remote_offer, media, supported, port)
            except SdpError as error:
                problems.append(str(error))
        if accepted is None:
            lines.append(Media(media.kind, 0, media.protocol, media.formats[:1] or ["0"]))
            continue
        line, chosen = accepted
        lines.append(line)
    if chosen is None:
        raise SdpError("; ".join(problems) or "no audio stream offered")
    description = SessionDescription(origin=_origin(address, session_id, version), connection=address, media=lines)
    return description, chosen


def accept_answer(local_offer: SessionDescription, remote_answer: SessionDescription) -> Negotiated:
    """Read the answer to our offer (RFC 3264 §7). Raises `SdpError` when it rejects our audio
    line, lacks it, or picks a codec we never offered."""
    index = next((i for i, media in enumerate(local_offer.media) if media.kind == "audio"), None)
    if index is None:
        raise SdpError("our offer has no audio line")
    if len(remote_answer.media) != len(local_offer.media):
        raise SdpError(f"answer has {len(remote_answer.media)} media lines, our offer had {len(local_offer.media)}")
    ours, theirs = local_offer.media[index], remote_answer.media[index]
    if theirs.kind != "audio" or theirs.port == 0:
        raise SdpError("answer rejected the audio stream (port 0)")
    offered = ours.rtpmap()
    answered = theirs.rtpmap()
    codec = None
    for text in theirs.formats:
        pt = int(text) if text.isdigit() else -1
        candidate = answered.get(pt) or offered.get(pt)
        if candidate is None or candidate.name.lower() == "telephone-event":
            continue
        if not any(_same(candidate, mine) for mine in offered.values()):
            raise SdpError(f"answer picked {candidate}, which we never offered")
        codec = Codec(candidate.name.upper(), pt, candidate.clock_rate)
        break
    if codec is None:
        raise SdpError("answer has no audio codec: " + (" ".join(theirs.formats) or "(none)"))
    address = remote_answer.address_of(theirs)
    if address is None:
        raise SdpError("answer has no c= address for the audio stream")
    direction = _MIRROR[remote_answer.direction(theirs)]
    if address in _HOLD_ADDRESSES:
        direction = _NO_SEND[direction]
    return Negotiated(codec, _telephone_event(theirs, answered), address, theirs.port, direction,
                      _ptime(theirs) or _ptime(ours) or 20)


def _accept_audio(
    remote: SessionDescription, media: Media, supported: tuple[Codec, ...], port: int
) -> tuple[Media, Negotiated]:
    if media.protocol.upper() != "RTP/AVP":
        raise SdpError(f"audio transport {media.protocol} is not supported (RTP/AVP only)")
    mapping = media.rtpmap()
    codec = None
    for text in media.formats:
        offered = mapping.get(int(text)) if text.isdigit() else None
        match = next((mine for mine in supported if offered and _same(offered, mine)), None)
        if offered is not None and match is not None:
            codec = Codec(match.name, offered.payload_type, offered.clock_rate)
            break
    if codec is None:
        names = [str(mapping[int(t)]) if t.isdigit() and int(t) in mapping else t for t in media.formats]
        names = [name for name in names if not name.lower().startswith("telephone-event")]
        raise SdpError(f"no common audio codec: offered {', '.join(names) or 'nothing'}, "
                       f"we support {', '.join(codec.name for codec in supported)}")
    address = remote.address_of(media)
    if address is None:
        raise SdpError("offer has no c= address for the audio stream")
    event = _telephone_event(media, mapping)
    direction = _MIRROR[remote.direction(media)]
    if address in _HOLD_ADDRESSES:
        direction = _NO_SEND[direction]
    ptime = _ptime(media) or 20
    line = Media("audio", port, "RTP/AVP", [str(codec.payload_type)])
    line.attributes.append(("rtpmap", f"{codec.payload_type} {codec}"))
    if event is not None:
        line.formats.append(str(event))
        line.attributes += [("rtpmap", f"{event} telephone-event/8000"), ("fmtp", f"{event} {media.fmtp(event) or '0-16'}")]
    line.attributes += [("ptime", str(ptime)), (direction, None)]
    return line, Negotiated(codec, event, address, media.port, direction, ptime)


def _same(a: Codec, b: Codec) -> bool:
    return a.name.lower() == b.name.lower() and a.clock_rate == b.clock_rate


def _telephone_event(media: Media, mapping: dict[int, Codec]) -> int | None:
    return next((pt for pt, codec in mapping.items()
                 if codec.name.lower() == "telephone-event" and codec.clock_rate == 8000 and str(pt) in media.formats),
                None)


def _ptime(media: Media) -> int | None:
    value = media.attribute("ptime")
    return int(value) if value and value.strip().isdigit() and int(value) > 0 else None


def _origin(address: str, session_id: int, version: int) -> Origin:
    return Origin("-", session_id, version, address, "IP6" if ":" in address else "IP4")


def _connection_line(address: str) -> str:
    return f"c=IN {'IP6' if ':' in address else 'IP4'} {address}"


def _attribute_line(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


def _parse_origin(value: str, number: int) -> Origin:
    parts = value.split()
    if len(parts) != 6 or not parts[1].isdigit() or not parts[2].isdigit():
        raise SdpError(f"SDP line {number}: malformed o= line {value!r}")
    return Origin(parts[0], int(parts[1]), int(parts[2]), parts[5], parts[4])


def _parse_connection(value: str, number: int) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"SDP line {number}: malformed c= line {value!r}")
    return parts[2].split("/")[0]  # a multicast TTL / count suffix is not ours to use


def _parse_media(value: str, number: int) -> Media:
    parts = value.split()
    port_text = parts[1].split("/")[0] if len(parts) >= 3 else ""
    if len(parts) < 3 or not port_text.isdigit() or int(port_text) > 65535:
        raise SdpError(f"SDP line {number}: malformed m= line {value!r}")
    return Media(parts[0], int(port_text), parts[2], parts[3:])
