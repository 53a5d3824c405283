"""Recording media storage, addressed by the content's SHA-256 (local directory by default; an
S3-compatible bucket in ``recordings.s3``). A key is ``sha256/<hex>`` (a bare hex digest is
accepted too). Every backend passes the same contract tests (tests/recordings/test_storage_contract.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Stored:
    key: str  # where the backend keeps it
    sha256: str
    size_bytes: int


def key_of(sha256: str) -> str:
    return f"sha256/{sha256}"


def digest_of(key: str) -> str:
    return key.removeprefix("sha256/")


class RecordingStorage(Protocol):
    """Where recordings live. Writing the same content twice stores it once."""

    async def put(self, content: bytes) -> Stored: ...

    async def get(self, key: str) -> bytes:
        """The whole content; ``FileNotFoundError`` when it is not there."""
        ...

    async def size(self, key: str) -> int | None:
        """Its size in bytes, or None when it is not there."""
        ...

    def stream(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end`` inclusive (``end`` None: to the last), in chunks;
        ``FileNotFoundError`` when it is not there."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove it; False when it was not there."""
        ...

    async def verify(self, key: str, sha256: str) -> bool:
        """Whether it is there and its content hashes to ``sha256`` now (read in chunks)."""
        ...


async def verify_stream(storage: RecordingStorage, key: str, sha256: str) -> bool:
    """The shared body of ``verify``: hash the stored bytes as they stream."""
    hasher = hashlib.sha256()
    try:
        async for chunk in storage.stream(key):
            hasher.update(chunk)
    except FileNotFoundError:
        return False
    return hasher.hexdigest() == sha256


class LocalStorage:
    """Files under ``root/ab/cd/<sha256>``, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        sha256 = digest_of(key)
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(f"not a recording key: {key!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, content: bytes) -> Stored:
        sha256 = hashlib.sha256(content).hexdigest()
        await asyncio.to_thread(self._write, sha256, content)
        return Stored(key=key_of(sha256), sha256=sha256, size_bytes=len(content))

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
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def stream(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = await asyncio.to_thread(handle.read, CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self._path(key).unlink)
        except FileNotFoundError:
            return False
        return True

    async def verify(self, key: str, sha256: str) -> bool:
        return await verify_stream(self, key, sha256)
