"""The scheduled jobs: each a service function ``(session, *, now) -> summary`` that only flushes.

Every job recomputes from the database's state what should exist and writes what is missing
(tasks keyed by ``dedupe_key``, due times that differ), so running it twice, late, after
downtime or after a crash half-way leaves the same result as running it once on time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calendars.service import check_and_warn
from scheduling.follow_ups import refresh_follow_ups
from scheduling.promises import plan_promise_tasks, settle_due_promises
from scheduling.visits import flag_field_visits


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """A run's summary, and what to do once the run has committed (carrier actions its decisions
    call for, say): the runner commits first, then awaits ``then``."""

    summary: dict[str, Any]
    then: Callable[[], Awaitable[None]]


JobFunc = Callable[..., Awaitable[dict[str, Any] | AfterCommit]]
"""``async def job(session: AsyncSession, *, now: datetime) -> dict | AfterCommit`` (a JSON-able
summary, with the work to do after commit if any)."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    func: JobFunc
    every: dt.timedelta


async def promises_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Mark promises whose due date has ended as broken (or kept), then plan reminder and
    due-day call tasks for the pending ones."""
    settled = await settle_due_promises(session, now=now)
    return {**dataclasses.asdict(settled), "tasks_created": await plan_promise_tasks(session, now=now)}


async def follow_ups_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Next due time of every open case; minimum-frequency tasks for cases falling behind."""
    return dataclasses.asdict(await refresh_follow_ups(session, now=now))


async def field_visits_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Flag cases with no contact on consecutive days for a field visit request."""
    return {"flagged": await flag_field_visits(session, now=now)}


async def calendars_check_job(session: AsyncSession, *, now: dt.datetime) -> dict[str, Any]:
    """Warn (log) of each calendar year missing: this year, or next year from 1 December. Runs at
    start and daily; ``GET /v1/calendars/status`` answers the same question at any time."""
    return await check_and_warn(session, now=now)


JOBS: tuple[JobSpec, ...] = (
    JobSpec("promises", promises_job, dt.timedelta(minutes=10)),
    JobSpec("follow_ups", follow_ups_job, dt.timedelta(minutes=15)),
    JobSpec("field_visits", field_visits_job, dt.timedelta(hours=1)),
    JobSpec("calendars_check", calendars_check_job, dt.timedelta(hours=24)),
)
