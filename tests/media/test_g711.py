"""G.711 against the values every implementation agrees on (ITU-T G.711 tables)."""

from __future__ import annotations

import struct

from dialer.telephony.media.g711 import (
    DECODE,
    SILENCE,
    TRANSCODE,
    Codec,
    alaw_encode_sample,
    decode_frame,
    encode_frame,
    ulaw_encode_sample,
)


def test_given_zero_when_encoded_then_alaw_is_d5_and_ulaw_is_ff() -> None:
    assert alaw_encode_sample(0) == 0xD5
    assert ulaw_encode_sample(0) == 0xFF
    assert SILENCE == {Codec.PCMA: 0xD5, Codec.PCMU: 0xFF}


def test_given_full_scale_when_encoded_then_the_extreme_codes_come_out() -> None:
    assert alaw_encode_sample(32767) == 0xAA
    assert alaw_encode_sample(-32768) == 0x2A
    assert ulaw_encode_sample(32767) == 0x80
    assert ulaw_encode_sample(-32768) == 0x00


def test_given_the_extreme_codes_when_decoded_then_the_standard_magnitudes() -> None:
    alaw, ulaw = DECODE[Codec.PCMA], DECODE[Codec.PCMU]
    assert (alaw[0xAA], alaw[0x2A], alaw[0xD5], alaw[0x55]) == (32256, -32256, 8, -8)
    assert (ulaw[0x80], ulaw[0x00], ulaw[0xFF], ulaw[0x7F]) == (32124, -32124, 0, 0)


def test_given_every_code_when_decoded_and_encoded_again_then_it_is_the_same_code() -> None:
    for codec in Codec:
        codes = bytes(range(256))
        again = encode_frame(decode_frame(codes, codec), codec)
        if codec is Codec.PCMU:  # µ-law has two zeros (0x7F and 0xFF); 0 encodes to 0xFF
            assert again == codes.replace(b"\x7f", b"\xff")
        else:
            assert again == codes


def test_given_a_frame_when_decoded_then_it_matches_the_per_sample_table() -> None:
    codes = bytes(range(256))
    for codec in Codec:
        pcm = decode_frame(codes, codec)
        assert list(struct.unpack("<256h", pcm)) == list(DECODE[codec])


def test_given_a_ramp_when_encoded_then_codes_are_monotonic_in_magnitude() -> None:
    ramp = struct.pack("<4096h", *range(0, 32768, 8))
    for codec in Codec:
        decoded = struct.unpack("<4096h", decode_frame(encode_frame(ramp, codec), codec))
        assert all(b >= a for a, b in zip(decoded, decoded[1:]))
        assert all(abs(d - s) <= max(16, s // 16) for d, s in zip(decoded, range(0, 32768, 8)))


def test_given_alaw_when_transcoded_to_ulaw_and_back_then_the_samples_stay_close() -> None:
    codes = bytes(range(256))
    there = codes.translate(TRANSCODE[Codec.PCMA, Codec.PCMU])
    for original, code in zip(codes, there):
        a, u = DECODE[Codec.PCMA][original], DECODE[Codec.PCMU][code]
        assert abs(a - u) <= max(64, abs(a) // 8)
