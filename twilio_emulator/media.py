"""Recording media: a real 8 kHz 16-bit PCM WAV, mono or dual-channel, of a given length.

Each channel carries its own quiet tone (440 Hz for the first leg, 660 Hz for the second) so a
consumer can tell the channels apart and a player hears something.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import cache

SAMPLE_RATE = 8000
TONES_HZ = (440, 660)
AMPLITUDE = 3000


@cache
def _one_second(channels: int) -> bytes:
    # 440 and 660 Hz both fit a whole number of cycles in one second, so seconds repeat seamlessly.
    frames = []
    for n in range(SAMPLE_RATE):
        t = n / SAMPLE_RATE
        frames.append(
            struct.pack(f"<{channels}h", *(int(AMPLITUDE * math.sin(2 * math.pi * TONES_HZ[c] * t)) for c in range(channels)))
        )
    return b"".join(frames)


def wav_bytes(duration_seconds: float, *, channels: int = 1) -> bytes:
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    frames_total = max(0, round(duration_seconds * SAMPLE_RATE))
    second = _one_second(channels)
    frame_size = 2 * channels
    whole, rest = divmod(frames_total, SAMPLE_RATE)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(second * whole + second[: rest * frame_size])
    return buffer.getvalue()
