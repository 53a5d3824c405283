"""RTP header parse/build (RFC 3550 §5.1)."""

from __future__ import annotations

import pytest

from dialer.telephony.media.rtp import RtpError, RtpHeader, build, parse, payload_bounds, simple_packet


def test_given_a_header_when_built_and_parsed_then_every_field_round_trips() -> None:
    header = RtpHeader(payload_type=101, sequence=65535, timestamp=0xFFFFFFFF, ssrc=0xDEADBEEF, marker=True,
                       csrcs=(1, 2), extension=(0xBEDE, b"\x01\x02\x03\x04"))
    packet = build(header, b"\x0a\x80\x00\xa0")
    assert parse(packet) == (header, b"\x0a\x80\x00\xa0")


def test_given_the_simple_builder_when_parsed_then_version_two_and_twelve_byte_header() -> None:
    packet = simple_packet(8, 70000, 2**32 + 5, 7, b"\xd5" * 160, marker=True)
    assert packet[0] == 0x80 and packet[1] == 0x88 and len(packet) == 172
    header, payload = parse(packet)
    assert (header.sequence, header.timestamp, header.ssrc, header.marker) == (70000 & 0xFFFF, 5, 7, True)
    assert payload == b"\xd5" * 160


def test_given_padding_when_bounds_computed_then_the_padding_is_left_out() -> None:
    packet = bytearray(simple_packet(0, 1, 2, 3, b"abcd" + b"\x00\x00\x00\x04"))
    packet[0] |= 0x20
    assert payload_bounds(bytes(packet)) == (12, 16)


@pytest.mark.parametrize("packet", [b"\x80\x08", b"\x40" + bytes(11), bytes([0x90]) + bytes(11)])
def test_given_a_malformed_packet_when_parsed_then_rtp_error(packet: bytes) -> None:
    with pytest.raises(RtpError):
        parse(packet)
