"""The purge: recordings past their retention lose their media; their rows stay as tombstones.

A recording is purged when its ``retain_until`` day has passed, no legal hold covers it, and no
other recording of the same content (storage is content-addressed: two rows may share one file)
is held or kept longer — then the whole group is purged together, once the last of them runs out.
The rows are marked (``purged``, when, by which retention rule) and ``recording.purged`` is told
in the job's unit of work; the files are deleted only after that commits (:class:`Purged.keys`),
so a failure can leave a file behind (found by the completeness audit) but never a row that says
"stored" with its media gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.outbox import events, payloads
from dialer.outbox.models import EventType
from recordings import retention
from recordings.storage import RecordingStorage, key_of


@dataclass(slots=True)
class Purged:
    purged: int = 0
    kept_shared: int = 0
    keys: list[str] = field(default_factory=list)
    """The media to delete once the purge has committed."""

    @property
    def summary(self) -> dict[str, Any]:
        return {"purged": self.purged, "kept_shared": self.kept_shared, "files": len(self.keys)}


async def purge_due(session: AsyncSession, *, now: dt.datetime, limit: int = 200) -> Purged:
    """Mark up to ``limit`` recordings past retention purged (rows locked, SKIP LOCKED on
    PostgreSQL); the caller deletes ``keys`` after commit (:func:`delete_media`)."""
    today = now.date()
    due = (await session.execute(
        select(Recording).where(Recording.status == RecordingStatus.STORED, Recording.retain_until < today,
                                Recording.legal_hold.is_(False))
        .order_by(Recording.retain_until, Recording.id).limit(limit).with_for_update(skip_locked=True)
    )).scalars().all()
    result = Purged()
    for recording in due:
        if recording.status is RecordingStatus.PURGED:  # purged with an earlier one of its group
            continue
        if await _kept_by_another(session, recording, today=today):
            result.kept_shared += 1
            continue
        group = (await session.execute(
            select(Recording).where(Recording.sha256 == recording.sha256, Recording.status == RecordingStatus.STORED)
            .with_for_update()
        )).scalars().all() if recording.sha256 else [recording]
        for member in group:
            await _tombstone(session, member, now=now)
            result.purged += 1
        if recording.sha256:
            result.keys.append(key_of(recording.sha256))
    await session.flush()
    return result


async def _kept_by_another(session: AsyncSession, recording: Recording, *, today: dt.date) -> bool:
    """Another stored recording of the same content that is held, or kept past today."""
    if not recording.sha256:
        return False
    other = await session.execute(
        select(Recording.id).where(
            Recording.sha256 == recording.sha256, Recording.id != recording.id,
            Recording.status == RecordingStatus.STORED,
            or_(Recording.legal_hold.is_(True), Recording.retain_until >= today, Recording.retain_until.is_(None)),
        ).limit(1)
    )
    return other.first() is not None


async def _tombstone(session: AsyncSession, recording: Recording, *, now: dt.datetime) -> None:
    call = await session.get(Call, recording.call_id)
    rule = "retention ran out"
    if call is not None:
        _, rule = await retention.retention_of(session, call)
    recording.status = RecordingStatus.PURGED
    recording.purged_at = now
    recording.purge_rule = f"{rule}; kept until {recording.retain_until.isoformat() if recording.retain_until else '?'}"[:200]
    if call is not None:
        data = payloads.recording_data(recording, call)
        data["recording"]["purged_at"] = now.isoformat()
        data["recording"]["purge_rule"] = recording.purge_rule
        await events.emit(session, EventType.RECORDING_PURGED, data, at=now, client_id=call.client_id,
                          call_id=call.id, recording_id=recording.id)


async def delete_media(storage: RecordingStorage, keys: list[str]) -> int:
    """After the purge committed: delete the files. Returns how many were there to delete."""
    deleted = 0
    for key in keys:
        if await storage.delete(key):
            deleted += 1
    return deleted
