"""WAV files: the call recording's writer (RIFF/WAVE, PCM) and the prompt reader.

``WavWriter`` keeps frames in memory and appends them to the file on ``flush``, then patches the
RIFF and data sizes in the header. The data is written before the sizes, so whenever the process
dies the file on disk is a valid WAV holding everything up to the last flush (sizes never claim
more than the file holds). A process crash loses at most what was not flushed; an OS crash may
lose more (no fsync: a media host writes tens of megabytes per second of calls).
"""

from __future__ import annotations

import hashlib
import os
import struct
import wave
from pathlib import Path

HEADER_SIZE = 44
_MAX_DATA = 0xFFFFFFFF - 36


class WavError(ValueError):
    """A prompt file that is not an 8 kHz mono 16-bit PCM WAV."""


def wav_header(*, channels: int, rate: int, sample_width: int, data_bytes: int) -> bytes:
    """The 44-byte canonical header of a PCM WAV holding ``data_bytes`` of samples."""
    block = channels * sample_width
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 8 * sample_width)
            + b"data" + struct.pack("<I", data_bytes))


class WavWriter:
    """An append-only PCM WAV file whose header is kept true at every flush.

    ``write`` only buffers; ``flush`` costs one ``write`` and two ``pwrite`` system calls.
    """

    def __init__(self, path: str | os.PathLike[str], *, channels: int = 2, rate: int = 8000,
                 sample_width: int = 2) -> None:
        self.path = Path(path)
        self.channels = channels
        self.rate = rate
        self.sample_width = sample_width
        self.data_bytes = 0
        self._pending = bytearray()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        os.write(self._fd, wav_header(channels=channels, rate=rate, sample_width=sample_width, data_bytes=0))

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def duration_s(self) -> float:
        """Seconds of audio written so far (flushed or not)."""
        frames = (self.data_bytes + len(self._pending)) // (self.channels * self.sample_width)
        return frames / self.rate

    def write(self, frames: bytes | bytearray) -> None:
        """Buffer interleaved sample frames (flushed on ``flush`` or ``close``)."""
        if self._fd is not None:
            self._pending += frames

    def flush(self) -> None:
        """Append the buffered frames to the file, then patch the RIFF and data sizes."""
        fd = self._fd
        if fd is None or not self._pending:
            return
        room = _MAX_DATA - self.data_bytes
        chunk = self._pending if len(self._pending) <= room else self._pending[:room]
        written = os.write(fd, chunk)
        while written < len(chunk):  # regular files write whole buffers; be correct anyway
            written += os.write(fd, memoryview(chunk)[written:])
        self.data_bytes += len(chunk)
        self._pending.clear()
        os.pwrite(fd, struct.pack("<I", 36 + self.data_bytes), 4)
        os.pwrite(fd, struct.pack("<I", self.data_bytes), 40)

    def close(self) -> int:
        """Flush and close; returns the file's size in bytes."""
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return HEADER_SIZE + self.data_bytes


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256, hex (run in a worker thread: it reads the whole file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_prompt(path: str | os.PathLike[str]) -> bytes:
    """The samples of an 8 kHz mono 16-bit PCM WAV file, little-endian."""
    try:
        with wave.open(os.fspath(path), "rb") as file:
            if (file.getnchannels(), file.getsampwidth(), file.getframerate()) != (1, 2, 8000):
                raise WavError(f"{path}: need 8000 Hz mono 16-bit PCM, got {file.getframerate()} Hz, "
                               f"{file.getnchannels()} channel(s), {8 * file.getsampwidth()}-bit")
            return file.readframes(file.getnframes())
    except (wave.Error, EOFError) as exc:
        raise WavError(f"{path}: not a PCM WAV file ({exc})") from exc
