"""The call's two-channel recording: channel 1 the agent leg's audio, channel 2 the party leg's.

Legs push the G.711 payloads they receive into their ``Channel`` (a bounded byte buffer); the
process-wide 20 ms tick (``MediaService``) asks each ``Recorder`` for one slot: 160 samples from
each channel, silence where a channel has nothing. Once a second the slots are decoded straight
into interleaved 16-bit frames with ``bytes.translate`` (no per-sample Python), appended to the
WAV and flushed with its sizes patched.

Channels are FIFOs, not timestamp-placed: a packet that misses its tick leaves 20 ms of silence and
the channel then carries one frame in reserve, which absorbs later jitter of that size. A reserve
that stays above ``TRIM_ABOVE`` for a second (the sender's clock runs faster than ours, or a burst
after a stall) is trimmed by one frame, so the two channels cannot drift apart; ``BUFFER_LIMIT``
bounds memory whatever a sender does.
"""

from __future__ import annotations

from .g711 import HIGH, LOW, SILENCE, TRANSCODE, Codec
from .wav import WavWriter

SAMPLES_PER_TICK = 160  # 20 ms at 8 kHz
FLUSH_EVERY = 50  # ticks: one second
BUFFER_LIMIT = 50 * SAMPLES_PER_TICK  # one second: a burst beyond this drops the oldest audio
TRIM_ABOVE = 4 * SAMPLES_PER_TICK  # a reserve above 80 ms held for TRIM_AFTER ticks loses one frame
TRIM_AFTER = 50
_FRAME_BYTES = 4 * SAMPLES_PER_TICK  # two channels of 16-bit samples


class Channel:
    """One side's received audio waiting for the next tick (G.711 bytes in ``codec``)."""

    __slots__ = ("buffer", "codec", "limit", "dropped", "_over")

    def __init__(self, limit: int = BUFFER_LIMIT) -> None:
        self.buffer = bytearray()
        self.codec: Codec | None = None
        self.limit = limit
        self.dropped = 0  # samples dropped by the limit or trimmed
        self._over = 0

    def push(self, payload: bytes, codec: Codec) -> None:
        """Keep a received payload (hot path: called per audio packet)."""
        if self.codec is None:
            self.codec = codec
        elif codec is not self.codec:
            payload = payload.translate(TRANSCODE[codec, self.codec])
        buffer = self.buffer
        buffer += payload
        excess = len(buffer) - self.limit
        if excess > 0:
            del buffer[:excess]
            self.dropped += excess

    def take(self, count: int) -> bytes:
        """Up to ``count`` of the oldest samples (and the drift trim, see the module docstring)."""
        buffer = self.buffer
        chunk = bytes(buffer[:count])
        del buffer[:count]
        if len(buffer) > TRIM_ABOVE:
            self._over += 1
            if self._over >= TRIM_AFTER:
                del buffer[:count]
                self.dropped += count
                self._over = 0
        else:
            self._over = 0
        return chunk


class Recorder:
    """A call's WAV. Each tick only moves one slot (≤ 160 code bytes) per channel aside; once a
    second the slots are decoded and interleaved in four ``bytes.translate`` calls and a few strided
    slice assignments, appended and flushed (sizes patched)."""

    def __init__(self, path: str, agent: Channel, party: Channel, *, phase: int = 0) -> None:
        """``phase`` (0..49) staggers the once-a-second writes of calls that started together, so
        one tick never writes every file at once."""
        self.path = path
        self.phase = phase % FLUSH_EVERY
        self.agent = agent
        self.party = party
        self.writer = WavWriter(path, channels=2, rate=8000, sample_width=2)
        self.frames = 0
        self._slots: tuple[list[bytes], list[bytes]] = ([], [])

    def tick(self) -> None:
        """Take the next 20 ms slot of each channel; write and flush each whole second (raises OSError)."""
        self._slots[0].append(self.agent.take(SAMPLES_PER_TICK))
        self._slots[1].append(self.party.take(SAMPLES_PER_TICK))
        self.frames += 1
        if self.frames % FLUSH_EVERY == self.phase:
            self._write()

    def _write(self) -> None:
        count = len(self._slots[0])
        if not count:
            return
        frames = bytearray(_FRAME_BYTES * count)
        for offset, (slots, channel) in enumerate(zip(self._slots, (self.agent, self.party))):
            codec = channel.codec
            if codec is None:  # nothing ever heard on this side: it stays zeros
                continue
            pad = bytes([SILENCE[codec]]) * SAMPLES_PER_TICK
            codes = b"".join(slot if len(slot) == SAMPLES_PER_TICK else slot + pad[len(slot):] for slot in slots)
            frames[2 * offset::4] = codes.translate(LOW[codec])
            frames[2 * offset + 1::4] = codes.translate(HIGH[codec])
            for index, slot in enumerate(slots):  # silence is zeros, not the codec's nearest code (±8)
                if len(slot) < SAMPLES_PER_TICK:
                    start, end = index * _FRAME_BYTES + 4 * len(slot) + 2 * offset, (index + 1) * _FRAME_BYTES
                    missing = SAMPLES_PER_TICK - len(slot)
                    frames[start:end:4] = bytes(missing)
                    frames[start + 1:end:4] = bytes(missing)
        self._slots[0].clear()
        self._slots[1].clear()
        self.writer.write(frames)
        self.writer.flush()

    def close(self) -> int:
        """Write the part second, finish the file; returns its size in bytes."""
        try:
            self._write()
        finally:
            size = self.writer.close()
        return size

    @property
    def duration_s(self) -> float:
        return self.frames * SAMPLES_PER_TICK / 8000
