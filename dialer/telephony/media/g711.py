"""G.711 (ITU-T G.711) A-law and µ-law, by lookup table.

The per-sample functions follow the classic segment algorithm (A-law on the 13 most significant
bits of a 16-bit sample, µ-law on 14 bits with the 0x84 bias). Everything the media process does
per packet uses tables built from them once, at import:

* decoding a payload to 16-bit little-endian PCM is two ``bytes.translate`` calls (low and high
  byte of each sample) whose results are interleaved by slice assignment (``decode_frame``, and the
  recorder builds its two-channel frames the same way from ``LOW``/``HIGH``);
* A-law ↔ µ-law transcoding is one ``bytes.translate`` (``TRANSCODE``);
* encoding (prompts, once per file) indexes a 65 536-entry table by the unsigned sample.
"""

from __future__ import annotations

import enum
import sys


class Codec(enum.StrEnum):
    """The payload formats a leg may use, named as in SDP (RFC 3551 static payload types 8 and 0)."""

    PCMA = "PCMA"
    PCMU = "PCMU"

    @property
    def static_pt(self) -> int:
        return 8 if self is Codec.PCMA else 0


_A_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_U_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_U_BIAS = 0x84
_U_CLIP = 8159


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for index, end in enumerate(ends):
        if value <= end:
            return index
    return len(ends)


def alaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to its A-law byte (even bits inverted, as on the wire)."""
    pcm = sample >> 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    seg = _segment(pcm, _A_SEG_END)
    if seg >= 8:
        return 0x7F ^ mask
    code = seg << 4
    code |= (pcm >> 1 if seg < 2 else pcm >> seg) & 0x0F
    return code ^ mask


def alaw_decode_sample(code: int) -> int:
    """One A-law byte to a signed 16-bit sample."""
    code ^= 0x55
    value = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        value += 8
    elif seg == 1:
        value += 0x108
    else:
        value = (value + 0x108) << (seg - 1)
    return value if code & 0x80 else -value


def ulaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to its µ-law byte (bits inverted, as on the wire)."""
    pcm = sample >> 2
    if pcm < 0:
        pcm = -pcm
        mask = 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, _U_CLIP) + (_U_BIAS >> 2)
    seg = _segment(pcm, _U_SEG_END)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) ^ mask


def ulaw_decode_sample(code: int) -> int:
    """One µ-law byte to a signed 16-bit sample."""
    code = ~code & 0xFF
    value = (((code & 0x0F) << 3) + _U_BIAS) << ((code & 0x70) >> 4)
    return _U_BIAS - value if code & 0x80 else value - _U_BIAS


def _signed(unsigned: int) -> int:
    return unsigned - 0x10000 if unsigned & 0x8000 else unsigned


DECODE: dict[Codec, tuple[int, ...]] = {
    Codec.PCMA: tuple(alaw_decode_sample(code) for code in range(256)),
    Codec.PCMU: tuple(ulaw_decode_sample(code) for code in range(256)),
}
"""Code byte → signed 16-bit sample."""

LOW: dict[Codec, bytes] = {codec: bytes(s & 0xFF for s in table) for codec, table in DECODE.items()}
"""``bytes.translate`` table: code byte → low byte of its little-endian sample."""

HIGH: dict[Codec, bytes] = {codec: bytes((s >> 8) & 0xFF for s in table) for codec, table in DECODE.items()}
"""``bytes.translate`` table: code byte → high byte of its little-endian sample."""

ENCODE: dict[Codec, bytes] = {
    Codec.PCMA: bytes(alaw_encode_sample(_signed(u)) for u in range(0x10000)),
    Codec.PCMU: bytes(ulaw_encode_sample(_signed(u)) for u in range(0x10000)),
}
"""Unsigned view of a 16-bit sample (0..65535) → code byte."""

TRANSCODE: dict[tuple[Codec, Codec], bytes] = {
    (Codec.PCMA, Codec.PCMU): bytes(ENCODE[Codec.PCMU][s & 0xFFFF] for s in DECODE[Codec.PCMA]),
    (Codec.PCMU, Codec.PCMA): bytes(ENCODE[Codec.PCMA][s & 0xFFFF] for s in DECODE[Codec.PCMU]),
}
"""``bytes.translate`` table from one law to the other, keyed (source, target)."""

SILENCE: dict[Codec, int] = {codec: ENCODE[codec][0] for codec in Codec}
"""The code byte of a zero sample (A-law 0xD5, µ-law 0xFF)."""


def decode_frame(payload: bytes, codec: Codec) -> bytes:
    """A G.711 payload to 16-bit little-endian PCM (two bytes per payload byte)."""
    out = bytearray(2 * len(payload))
    out[0::2] = payload.translate(LOW[codec])
    out[1::2] = payload.translate(HIGH[codec])
    return bytes(out)


def encode_frame(pcm: bytes, codec: Codec) -> bytes:
    """16-bit little-endian PCM (an even number of bytes) to a G.711 payload."""
    view = memoryview(pcm).cast("H")
    if sys.byteorder != "little":  # pragma: no cover - the media hosts are little-endian
        view = memoryview(bytes(b for pair in zip(pcm[1::2], pcm[0::2]) for b in pair)).cast("H")
    return bytes(map(ENCODE[codec].__getitem__, view))
