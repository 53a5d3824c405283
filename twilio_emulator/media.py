"""Recording media: a real 8 kHz 16-bit PCM WAV, mono or dual-channel, of a given length.

Each channel carries its own quiet tone so a consumer can tell the channels apart and a player
hears something. Without a key the tones are 440 Hz (first leg) and 660 Hz (second leg); with a
key (a recording's sid, say) they are chosen from the key, so two recordings of the same length
are different files — as two real calls would be — and the same recording is the same file
however often it is fetched.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from functools import lru_cache

SAMPLE_RATE = 8000
TONES_HZ = (440, 660)
KEYED_TONES_HZ = range(300, 3300)
"""The tones a key picks from: whole hertz within the telephone band."""
AMPLITUDE = 3000


def tones_for(key: str | None, channels: int) -> tuple[int, ...]:
    """The tone of each channel: the fixed ones without a key, else two distinct tones picked by
    the key's SHA-256 (stable across processes, unlike ``hash``)."""
    if key is None:
        return TONES_HZ[:channels]
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    span = len(KEYED_TONES_HZ)
    first = KEYED_TONES_HZ[digest % span]
    second = KEYED_TONES_HZ[(digest // span) % (span - 1)]
    second += second >= first  # never the first channel's tone
    return (first, second)[:channels]


@lru_cache(maxsize=256)
def _one_second(tones: tuple[int, ...]) -> bytes:
    # A whole number of hertz fits a whole number of cycles in one second, so seconds repeat seamlessly.
    frames = []
    for n in range(SAMPLE_RATE):
        t = n / SAMPLE_RATE
        frames.append(struct.pack(f"<{len(tones)}h", *(int(AMPLITUDE * math.sin(2 * math.pi * hz * t)) for hz in tones)))
    return b"".join(frames)


def wav_bytes(duration_seconds: float, *, channels: int = 1, key: str | None = None) -> bytes:
    """``duration_seconds`` of tone; ``key`` (e.g. the recording's sid) picks the tones."""
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    frames_total = max(0, round(duration_seconds * SAMPLE_RATE))
    second = _one_second(tones_for(key, channels))
    frame_size = 2 * channels
    whole, rest = divmod(frames_total, SAMPLE_RATE)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(second * whole + second[: rest * frame_size])
    return buffer.getvalue()
