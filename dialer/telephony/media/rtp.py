"""RTP fixed header (RFC 3550 §5.1): parse and build.

The relay's hot path reads only bytes 0 and 1 of a packet and takes the payload at offset 12
when byte 0 is 0x80 (version 2, no padding, no extension, no CSRC: what G.711 phones send);
``payload_bounds`` is the general case.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VERSION = 2
HEADER = struct.Struct("!BBHII")
SIMPLE_FIRST_BYTE = 0x80
"""Version 2 with no padding, extension or CSRC: the payload starts at byte 12."""


class RtpError(ValueError):
    """Not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fields of an RTP header; ``csrcs`` and ``extension`` are kept as received."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None  # (profile-defined 16 bits, extension body)

    def pack(self) -> bytes:
        """The header's bytes (no padding: the packets built here never pad)."""
        if not 0 <= self.payload_type < 128 or len(self.csrcs) > 15:
            raise RtpError("payload type or CSRC count out of range")
        first = (VERSION << 6) | (0x10 if self.extension is not None else 0) | len(self.csrcs)
        second = (0x80 if self.marker else 0) | self.payload_type
        out = HEADER.pack(first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                          self.ssrc & 0xFFFFFFFF)
        if self.csrcs:
            out += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        if self.extension is not None:
            profile, body = self.extension
            if len(body) % 4:
                raise RtpError("header extension body must be a whole number of 32-bit words")
            out += struct.pack("!HH", profile, len(body) // 4) + body
        return out


def payload_bounds(packet: bytes) -> tuple[int, int]:
    """Where the payload lies in ``packet``: (start, end), padding and extension accounted for."""
    if len(packet) < HEADER.size:
        raise RtpError("shorter than an RTP header")
    first = packet[0]
    if first >> 6 != VERSION:
        raise RtpError("not RTP version 2")
    start = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:
        if len(packet) < start + 4:
            raise RtpError("truncated header extension")
        start += 4 + 4 * int.from_bytes(packet[start + 2:start + 4], "big")
    end = len(packet)
    if first & 0x20:
        end -= packet[-1]
    if start > end:
        raise RtpError("header, extension or padding longer than the packet")
    return start, end


def parse(packet: bytes) -> tuple[RtpHeader, bytes]:
    """A packet's header and payload."""
    start, end = payload_bounds(packet)
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(packet)
    count = first & 0x0F
    csrcs = struct.unpack_from(f"!{count}I", packet, HEADER.size) if count else ()
    extension = None
    if first & 0x10:
        at = HEADER.size + 4 * count
        profile, words = struct.unpack_from("!HH", packet, at)
        extension = (profile, bytes(packet[at + 4:at + 4 + 4 * words]))
    header = RtpHeader(payload_type=second & 0x7F, sequence=sequence, timestamp=timestamp, ssrc=ssrc,
                       marker=bool(second & 0x80), csrcs=tuple(csrcs), extension=extension)
    return header, bytes(packet[start:end])


def build(header: RtpHeader, payload: bytes) -> bytes:
    """A packet from a header and a payload."""
    return header.pack() + payload


def simple_packet(payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes,
                  marker: bool = False) -> bytes:
    """A packet with the plain 12-byte header (the prompt player's packets)."""
    return HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, sequence & 0xFFFF,
                       timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload
