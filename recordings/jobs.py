"""The scheduled recording capture: fetch what the carrier reported, flag calls without one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from recordings.capture import MediaSource, capture_one, due, flag_missing
from recordings.storage import RecordingStorage


async def capture_job(
    session: AsyncSession, *, now: dt.datetime, source: MediaSource, storage: RecordingStorage, limit: int = 20,
) -> dict[str, Any]:
    """Up to ``limit`` due recordings per run (rows locked with SKIP LOCKED: replicas share the
    work); each stored or rescheduled with its error. Then flag answered calls left without one."""
    stored = failed = 0
    for recording in await due(session, now=now, limit=limit):
        if await capture_one(session, recording, source=source, storage=storage, now=now):
            stored += 1
        else:
            failed += 1
    return {"stored": stored, "failed": failed, "flagged": await flag_missing(session, now=now)}
