"""Prompt playback to one leg: 20 ms G.711 packets with the player's own SSRC, sequence and timestamp.

A prompt is encoded once per (file, codec) and cached; the process-wide tick sends one packet per
20 ms. The first packet carries the marker bit (start of a talkspurt, RFC 3551 §4.1); sequence and
timestamp start at random values (RFC 3550 §5.1).
"""

from __future__ import annotations

import os
import random
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from .g711 import SILENCE, Codec, encode_frame
from .rtp import simple_packet
from .wav import read_prompt

FRAME_SAMPLES = 160

Send = Callable[[bytes], None]


class PromptCache:
    """Encoded prompts by (path, size, mtime, codec), the most recent ``size`` kept."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._frames: OrderedDict[tuple[str, int, int, Codec], tuple[bytes, ...]] = OrderedDict()

    def frames(self, path: str, codec: Codec) -> tuple[bytes, ...]:
        """The prompt as 20 ms payloads (the last padded with silence); raises OSError or WavError."""
        stat = os.stat(path)
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, codec)
        cached = self._frames.get(key)
        if cached is not None:
            self._frames.move_to_end(key)
            return cached
        payload = encode_frame(read_prompt(path), codec)
        pad = -len(payload) % FRAME_SAMPLES
        payload += bytes([SILENCE[codec]]) * pad
        frames = tuple(payload[at:at + FRAME_SAMPLES] for at in range(0, len(payload), FRAME_SAMPLES))
        self._frames[key] = frames
        if len(self._frames) > self._size:
            self._frames.popitem(last=False)
        return frames


class Player:
    """One prompt being played; ``tick`` sends the next packet and says whether it was the last."""

    def __init__(self, frames: tuple[bytes, ...], payload_type: int, send: Send) -> None:
        self.frames = frames
        self.payload_type = payload_type
        self.send = send
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self.index = 0

    @property
    def finished(self) -> bool:
        return self.index >= len(self.frames)

    def tick(self) -> bool:
        """Send the next frame; True once the prompt is over."""
        if self.index < len(self.frames):
            self.send(simple_packet(self.payload_type, self.sequence, self.timestamp, self.ssrc,
                                    self.frames[self.index], marker=self.index == 0))
            self.index += 1
            self.sequence += 1
            self.timestamp += FRAME_SAMPLES
        return self.index >= len(self.frames)
