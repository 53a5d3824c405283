"""The live events' table keeps a day: long enough for any page to resume, short enough to stay small."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.db import rowcount
from dialer.live.models import LiveEvent

KEEP = dt.timedelta(days=1)


async def purge_job(session: AsyncSession, *, now: dt.datetime, keep: dt.timedelta = KEEP) -> dict[str, Any]:
    """Delete the events older than ``keep`` (a scheduled job: ``(session, *, now) -> summary``)."""
    result = await session.execute(delete(LiveEvent).where(LiveEvent.at < now - keep))
    return {"deleted": rowcount(result)}
