"""Where the media processes write the calls' two-channel WAVs, and how a recording's URL names
one: ``sip-recording:<file name>``, resolved only inside the recordings directory (a URL from
anywhere else cannot make the carrier read another file)."""

from __future__ import annotations

import re
from pathlib import Path

SCHEME = "sip-recording:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.wav$")


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

    def read(self, url: str) -> bytes:
        if not url.startswith(SCHEME):
            raise ValueError(f"not a SIP recording URL (expected {SCHEME}<name>)")
        return self.path_for(url.removeprefix(SCHEME)).read_bytes()
