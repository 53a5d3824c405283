"""Tone tags for media tests: each participant sends its own sine (agent 600 Hz, party 1000 Hz,
supervisor 1400 Hz, prompts 1800 Hz) and a Goertzel filter says which tones a recording or a
received stream holds — proof of who heard whom and which channel holds which side."""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Sequence
from pathlib import Path

RATE = 8000
AGENT_HZ = 600.0
PARTY_HZ = 1000.0
SUPERVISOR_HZ = 1400.0
PROMPT_HZ = 1800.0
TAGS = (AGENT_HZ, PARTY_HZ, SUPERVISOR_HZ, PROMPT_HZ)


def tone(freq: float, samples: int, *, start: int = 0, amplitude: float = 8000.0) -> bytes:
    """16-bit little-endian PCM of a sine, ``start`` samples into it (so frames join seamlessly)."""
    step = 2 * math.pi * freq / RATE
    return struct.pack(f"<{samples}h", *(round(amplitude * math.sin(step * (start + i))) for i in range(samples)))


def samples_of(pcm: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def goertzel_power(samples: Sequence[int], freq: float, rate: int = RATE) -> float:
    """The signal's power at ``freq`` (Goertzel's single-bin DFT) normalised to (amplitude / 2)²:
    a whole-length sine of amplitude 8000 gives 1.6e7 whatever the length."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * freq / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return power / (len(samples) * len(samples))


def tone_powers(samples: Sequence[int], freqs: Sequence[float] = TAGS) -> dict[float, float]:
    return {freq: goertzel_power(samples, freq) for freq in freqs}


def dominant(samples: Sequence[int], freqs: Sequence[float] = TAGS, *, margin: float = 10.0) -> float | None:
    """The tag tone that clearly dominates (``margin`` times every other tag's power), else None."""
    powers = tone_powers(samples, freqs)
    best = max(powers, key=lambda f: powers[f])
    others = [p for f, p in powers.items() if f != best]
    if powers[best] <= 0 or any(powers[best] < margin * p for p in others):
        return None
    return best


def has_tone(samples: Sequence[int], freq: float, *, minimum: float = 1e5) -> bool:
    """Whether ``freq`` is present with real energy (the default: a sine of amplitude ~630 throughout)."""
    return goertzel_power(samples, freq) >= minimum


def read_channels(path: str | Path) -> tuple[list[list[int]], int]:
    """A WAV's samples per channel, and its frame rate."""
    with wave.open(str(path), "rb") as file:
        channels, width, rate = file.getnchannels(), file.getsampwidth(), file.getframerate()
        frames = file.readframes(file.getnframes())
    assert width == 2, "16-bit WAV expected"
    flat = samples_of(frames)
    return [flat[c::channels] for c in range(channels)], rate
