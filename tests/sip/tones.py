"""Tones for SIP tests: each participant plays its own pure tone (agent 600 Hz, party 1000 Hz,
supervisor 1400 Hz), and a Goertzel detector tells whose tone a recording holds, and when.

``write_tone`` writes 8 kHz mono 16-bit WAVs (what baresip's ``aufile`` source plays);
``read_wav`` reads 1- or 2-channel 16-bit WAVs (baresip's ``sndfile`` dumps, call recordings).
"""

from __future__ import annotations

import array
import math
import sys
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

AGENT_HZ, PARTY_HZ, SUPERVISOR_HZ = 600.0, 1000.0, 1400.0
RATE = 8000


def write_tone(path: Path, hz: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.5) -> Path:
    """A pure ``hz`` tone, ``amplitude`` of full scale, as a mono 16-bit PCM WAV at ``rate``."""
    peak = amplitude * 32767
    samples = array.array("h", (round(peak * math.sin(2 * math.pi * hz * n / rate))
                                for n in range(round(seconds * rate))))
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[int, list[array.array[int]]]:
    """(sample rate, one array of samples per channel) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * wav.getsampwidth()}-bit samples, expected 16-bit")
        rate, channels = wav.getframerate(), wav.getnchannels()
        frames = array.array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        frames.byteswap()
    return rate, [frames[c::channels] for c in range(channels)]


def mean_square(samples: Sequence[int] | Sequence[float]) -> float:
    return sum(s * s for s in samples) / len(samples) if samples else 0.0


def tone_power(samples: Sequence[int] | Sequence[float], rate: int, hz: float) -> float:
    """The power of the ``hz`` component (Goertzel), in the units of ``mean_square``: a tone of
    amplitude A alone gives about A²/2."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return 2 * max(s1 * s1 + s2 * s2 - coeff * s1 * s2, 0.0) / (n * n)


def dominant_tones(samples: Sequence[int] | Sequence[float], rate: int, candidates: Iterable[float] = (
        AGENT_HZ, PARTY_HZ, SUPERVISOR_HZ), *, min_share: float = 0.2, min_rms: float = 100.0) -> list[float]:
    """The ``candidates`` that each carry at least ``min_share`` of the signal's power, strongest
    first; none when the signal is quieter than ``min_rms`` (silence, comfort noise)."""
    total = mean_square(samples)
    if total < min_rms * min_rms:
        return []
    shares = [(tone_power(samples, rate, hz) / total, hz) for hz in candidates]
    return [hz for share, hz in sorted(shares, reverse=True) if share >= min_share]


def segments_with(path: Path, hz: float, *, channel: int | None = None, window_s: float = 0.1,
                  min_share: float = 0.2, min_rms: float = 100.0) -> list[tuple[float, float]]:
    """When ``hz`` is heard in the WAV at ``path``: ``(start_s, end_s)`` spans of consecutive
    ``window_s`` windows in which the tone carries at least ``min_share`` of the power.
    ``channel`` picks one channel of a 2-channel file; None mixes them."""
    rate, channels = read_wav(path)
    if channel is not None:
        signal: Sequence[int] | Sequence[float] = channels[channel]
    elif len(channels) == 1:
        signal = channels[0]
    else:
        signal = [sum(frame) / len(frame) for frame in zip(*channels)]
    size = max(int(rate * window_s), 1)
    spans: list[tuple[float, float]] = []
    for start in range(0, len(signal) - size + 1, size):
        if hz in dominant_tones(signal[start:start + size], rate, (hz,), min_share=min_share, min_rms=min_rms):
            begin, end = start / rate, (start + size) / rate
            if spans and spans[-1][1] == begin:
                begin = spans.pop()[0]
            spans.append((begin, end))
    return spans


def seconds_with(path: Path, hz: float, *, channel: int | None = None, window_s: float = 0.1) -> float:
    """How long ``hz`` is heard in total (see ``segments_with``)."""
    return sum(end - start for start, end in segments_with(path, hz, channel=channel, window_s=window_s))


def speech_end(path: Path) -> float | None:
    """When the whisper ends in what a phone heard: the last 100 ms window with sound in it that is
    neither participant's tone (speech); None when there is none."""
    rate, channels = read_wav(path)
    samples, size = channels[0], rate // 10
    speech = [start / rate for start in range(0, len(samples) - size + 1, size)
              if mean_square(samples[start:start + size]) > 300.0 ** 2
              and not dominant_tones(samples[start:start + size], rate, (AGENT_HZ, PARTY_HZ), min_share=0.2)]
    return max(speech) + 0.1 if speech else None
