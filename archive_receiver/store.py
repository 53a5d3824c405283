"""What the receiver holds: one SQLite file listing the events received, keyed by their
``webhook-id`` (the de-duplication key: a retry carries the same one), and the recordings' files,
addressed by their SHA-256 and written atomically (a temporary file beside the final place, synced,
then renamed), so a file under ``media/`` is always whole and a row exists only for a file on disk.

Everything here blocks (sqlite3, file I/O): the app calls it from a worker thread."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    webhook_id  TEXT PRIMARY KEY,   -- the webhook-id header: the same on every retry of an event
    type        TEXT NOT NULL,      -- call.completed, recording.stored, ...
    event_id    TEXT,               -- the body's id
    version     INTEGER,
    occurred_at TEXT,               -- the body's timestamp (when the fact happened)
    received_at TEXT NOT NULL,      -- when this receiver stored it (UTC, ISO 8601)
    data        TEXT NOT NULL,      -- the body's data, as JSON (recording.stored: without media_url)
    sha256      TEXT,               -- recording.stored: the file's checksum, verified
    file        TEXT                -- recording.stored: the file's path under the store directory
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type);
"""

SUFFIXES = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
            "audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/flac": ".flac"}


class Incoming:
    """A file being received: written to a temporary file in the store's ``tmp/`` (the same file
    system as ``media/``, so the final rename is atomic), counted and hashed as it is written."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory, suffix=".part")
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def place(self, target: Path) -> None:
        """Make the file durable at ``target``: flush, fsync, rename over, fsync the directory."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        _sync_directory(target.parent)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """The events and files under one directory: ``receiver.sqlite3``, ``media/``, ``tmp/``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.database = directory / "receiver.sqlite3"
        self._media = directory / "media"
        self._tmp = directory / "tmp"
        for path in (directory, self._media, self._tmp):
            path.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work: committed when the block ends, rolled back on error."""
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before the 2xx is sent
            with db:
                yield db

    def incoming(self) -> Incoming:
        return Incoming(self._tmp)

    def keep(self, incoming: Incoming, *, content_type: str | None) -> str:
        """Place a verified file under ``media/<2 hex>/<sha256><suffix>``; return that path relative to
        the store. The same content twice is one file (the second copy is dropped)."""
        suffix = SUFFIXES.get((content_type or "").split(";")[0].strip().lower(), ".bin")
        relative = Path("media") / incoming.sha256[:2] / f"{incoming.sha256}{suffix}"
        target = self.directory / relative
        if target.exists():
            incoming.discard()
        else:
            incoming.place(target)
        return relative.as_posix()

    def seen(self, webhook_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM events WHERE webhook_id = ?", (webhook_id,)).fetchone() is not None

    def record(self, *, webhook_id: str, event: dict[str, Any], received_at: datetime,
               sha256: str | None = None, file: str | None = None) -> bool:
        """Record an event once; ``False`` when its ``webhook_id`` was already recorded (nothing changes)."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (webhook_id, type, event_id, version, occurred_at, received_at,"
                " data, sha256, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (webhook_id, event["type"], _text(event.get("id")), _integer(event.get("version")),
                 _text(event.get("timestamp")), received_at.isoformat(),
                 json.dumps(event["data"], ensure_ascii=False, sort_keys=True), sha256, file))
            return cursor.rowcount == 1

    def received(self, *, type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """What the receiver holds, oldest first (``type``: one event type only)."""
        query = "SELECT * FROM events" + (" WHERE type = ?" if type else "") + " ORDER BY rowid LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (type, limit) if type else (limit,)).fetchall()
        return [{**dict(row), "data": json.loads(row["data"])} for row in rows]

    def check(self) -> None:
        """Raise when the database cannot be read (the health check)."""
        with self._connect() as db:
            db.execute("SELECT count(*) FROM events").fetchone()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
