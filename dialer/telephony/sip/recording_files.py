"""Where the media processes write the calls' two-channel WAVs, and how a recording's URL names
one: ``sip-recording:<file name>``, resolved only inside the recordings directory (a URL from
anywhere else cannot make the carrier read another file)."""

from __future__ import annotations

import hashlib
import re
import wave
from dataclasses import dataclass
from pathlib import Path

SCHEME = "sip-recording:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.wav$")
_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")


def recording_sid(name: str) -> str:
    """A recording's id, the same however it is found (its callback, or a listing after a
    restart): derived from its file's name."""
    return "RE" + hashlib.sha256(name.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RecordingFile:
    path: Path
    complete: bool  # no sidecar: the media process finished it (a sidecar: still recording, or cut off)
    channels: int | None
    duration_s: int | None


class RecordingFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a recording file name")
        return self.directory / name

    def url_for(self, path: Path) -> str:
        if path.parent.resolve() != self.directory.resolve():
            raise ValueError(f"{path} is not in {self.directory}")
        return SCHEME + path.name

    def of_leg(self, leg_sid: str) -> list[RecordingFile]:
        """The recordings a party leg left (``<media call>-<leg sid>.wav``), oldest first."""
        if not _SID.match(leg_sid) or not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob(f"*-{leg_sid}.wav"), key=lambda p: p.stat().st_mtime):
            channels = duration = None
            try:
                with wave.open(str(path), "rb") as reader:
                    channels, duration = reader.getnchannels(), int(reader.getnframes() / reader.getframerate())
            except (wave.Error, EOFError, OSError):
                pass  # being written (no complete header yet): listed, not complete
            found.append(RecordingFile(path, not path.with_suffix(".json").exists(), channels, duration))
        return found

    def read(self, url: str) -> bytes:
        if not url.startswith(SCHEME):
            raise ValueError(f"not a SIP recording URL (expected {SCHEME}<name>)")
        return self.path_for(url.removeprefix(SCHEME)).read_bytes()
