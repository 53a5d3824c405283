"""Recording media storage, addressed by the content's SHA-256 (local directory by default)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Stored:
    key: str  # where the backend keeps it
    sha256: str
    size_bytes: int


class RecordingStorage(Protocol):
    """Where recordings live. Writing the same content twice stores it once."""

    async def put(self, content: bytes) -> Stored: ...

    async def get(self, key: str) -> bytes: ...

    async def verify(self, key: str, sha256: str) -> bool: ...


class LocalStorage:
    """Files under ``root/ab/cd/<sha256>``, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, content: bytes) -> Stored:
        sha256 = hashlib.sha256(content).hexdigest()
        await asyncio.to_thread(self._write, sha256, content)
        return Stored(key=f"sha256/{sha256}", sha256=sha256, size_bytes=len(content))

    def _write(self, sha256: str, content: bytes) -> None:
        target = self._path(sha256)
        if target.is_file() and target.stat().st_size == len(content):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key.removeprefix("sha256/")).read_bytes)

    async def verify(self, key: str, sha256: str) -> bool:
        try:
            content = await self.get(key)
        except FileNotFoundError:
            return False
        return hashlib.sha256(content).hexdigest() == sha256
