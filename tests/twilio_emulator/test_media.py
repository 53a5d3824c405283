"""Recording media: a WAV of the asked length whose tones a key picks, so two recordings of the
same length are different files and one recording is the same file every time."""

from __future__ import annotations

import io
import wave

import pytest

from twilio_emulator.media import KEYED_TONES_HZ, SAMPLE_RATE, TONES_HZ, tones_for, wav_bytes


def _frames(content: bytes) -> tuple[int, int]:
    with wave.open(io.BytesIO(content), "rb") as audio:
        return audio.getnchannels(), audio.getnframes()


@pytest.mark.parametrize("channels", [1, 2])
def test_given_two_keys_and_one_length_then_the_wavs_differ_but_are_equally_long(channels):
    first = wav_bytes(7, channels=channels, key="RE" + "1" * 32)
    second = wav_bytes(7, channels=channels, key="RE" + "2" * 32)

    assert first != second and len(first) == len(second)
    assert _frames(first) == _frames(second) == (channels, 7 * SAMPLE_RATE)


def test_given_one_key_then_the_same_wav_every_time():
    assert wav_bytes(3.5, channels=2, key="RE42") == wav_bytes(3.5, channels=2, key="RE42")


def test_given_no_key_then_the_fixed_tones():
    assert tones_for(None, 2) == TONES_HZ and tones_for(None, 1) == TONES_HZ[:1]
    assert wav_bytes(2, channels=2) == wav_bytes(2, channels=2, key=None)


def test_given_many_keys_then_each_picks_two_distinct_tones_in_the_telephone_band():
    picked = [tones_for(f"RE{n:032d}", 2) for n in range(2000)]

    assert all(first != second and first in KEYED_TONES_HZ and second in KEYED_TONES_HZ for first, second in picked)
    assert len(set(picked)) == len(picked)  # 2000 recordings, 2000 different pairs of tones
