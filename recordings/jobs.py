"""The recordings' scheduled jobs: capture what the carrier reported (flagging calls without one),
purge what ran past its retention, and audit yesterday's completeness."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from recordings.capture import MediaSource, RecordingIndex, capture_one, due, flag_missing, recover_unreported
from recordings.completeness import audit_day
from recordings.purge import Purged, purge_due
from recordings.storage import RecordingStorage

log = logging.getLogger("dialer.recordings")


async def capture_job(
    session: AsyncSession, *, now: dt.datetime, source: MediaSource, storage: RecordingStorage, limit: int = 20,
    index: RecordingIndex | None = None, started_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Recordings whose callbacks never came are asked of the carrier (``index``; at once for calls
    that ended before this process started at ``started_at``: their callbacks are lost); then up to
    ``limit`` due recordings per run (rows locked with SKIP LOCKED: replicas share the work), each
    stored or rescheduled with its error. Then flag answered calls left without one."""
    recovered = await recover_unreported(session, now=now, index=index, started_at=started_at) if index is not None else 0
    stored = failed = 0
    for recording in await due(session, now=now, limit=limit):
        if await capture_one(session, recording, source=source, storage=storage, now=now):
            stored += 1
        else:
            failed += 1
    return {"recovered": recovered, "stored": stored, "failed": failed,
            "flagged": await flag_missing(session, now=now)}


async def purge_job(session: AsyncSession, *, now: dt.datetime, limit: int = 200) -> Purged:
    """Recordings past retention become tombstones in this run; their files go after it commits
    (the composition root runs :func:`recordings.purge.delete_media` then)."""
    return await purge_due(session, now=now, limit=limit)


async def completeness_job(session: AsyncSession, *, now: dt.datetime, storage: RecordingStorage,
                           zone: str) -> dict[str, Any]:
    """Yesterday's completeness audit (in ``zone``); its figures are kept in the audit log (the
    board and auditors read them there) and every gap is logged as an error."""
    day = now.astimezone(ZoneInfo(zone)).date() - dt.timedelta(days=1)
    report = await audit_day(session, day=day, zone=zone, storage=storage, now=now)
    figures = report.as_dict()
    figures["gaps"] = figures["gaps"][:200]  # the kinds' counts are all there; the list is capped
    await audit.record(session, action="recordings.completeness", entity="day", entity_id=day.isoformat(), **figures)
    for gap in report.gaps[:200]:
        log.error("completeness %s: %s %s (call %s, recording %s, endpoint %s)", day, gap.kind, gap.reason,
                  gap.call_id, gap.recording_id, gap.endpoint_id)
    return {"day": day.isoformat(), "complete": report.complete, "calls": report.calls,
            "gaps": len(report.gaps)}
