"""Running the jobs: one unit of work per run, once across replicas, on APScheduler 3.

Every replica (``dialer serve`` or ``dialer worker``) schedules every job. A run opens its own
transaction and, on PostgreSQL, first takes ``pg_try_advisory_xact_lock`` on a key derived
from the job's name: the replica that gets it does the work and commits (which releases the
lock); any other replica running the same job at that moment skips its run. On SQLite (a
single process) the run simply begins as a writer. Jobs are idempotent, so a run that comes
later (the next tick, or a replica whose clock fired after the first committed) finds nothing
left to do; after downtime the first run catches up, because jobs compute from state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.kit.clock import Clock
from dialer.kit.locks import hold_lock
from scheduling.jobs import JOBS, AfterCommit, JobFunc, JobSpec

log = logging.getLogger("dialer.scheduling")


@dataclass(frozen=True, slots=True)
class JobRun:
    name: str
    ran: bool
    """False when another replica held the job's lock (this run did nothing)."""
    started_at: dt.datetime
    summary: dict[str, Any] = field(default_factory=dict)


async def run_job(
    sessions: async_sessionmaker[AsyncSession], name: str, job: JobFunc, *, clock: Clock,
) -> JobRun:
    """One run of one job: lock, work, commit — or skip when another replica is running it.
    An exception rolls the whole run back (nothing half-done is kept) and propagates."""
    async with sessions() as session:
        if not await hold_lock(session, name, wait=False):
            await session.rollback()
            log.info("job %s skipped: another replica is running it", name)
            return JobRun(name, False, clock())
        now = clock()
        result = await job(session, now=now)
        await session.commit()
    summary = result.summary if isinstance(result, AfterCommit) else result
    if isinstance(result, AfterCommit):
        await _follow_up(name, result)
    log.info("job %s done: %s", name, summary)
    return JobRun(name, True, now, summary)


AFTER_COMMIT_GRACE_S = 5.0
"""How long a cancelled run (a shutdown) still gives what follows its commit to finish."""


async def _follow_up(name: str, result: AfterCommit) -> None:
    """What follows a committed run (carrier actions its decisions call for). It runs to its end
    even when the run is cancelled (within :data:`AFTER_COMMIT_GRACE_S`): the facts it follows from
    are saved, so nothing would do it again. Its failure is logged; the run's own work stands."""
    follow = asyncio.ensure_future(result.then())
    try:
        await asyncio.shield(follow)
    except asyncio.CancelledError:
        await asyncio.wait({follow}, timeout=AFTER_COMMIT_GRACE_S)
        raise
    except Exception:
        log.exception("job %s: its work is committed, but what follows the commit failed", name)


async def run_all(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, jobs: Sequence[JobSpec] = JOBS,
) -> list[JobRun]:
    """Run every job once, in order (for a CLI command, a test, or catching up by hand)."""
    return [await run_job(sessions, spec.name, spec.func, clock=clock) for spec in jobs]


def build_scheduler(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, jobs: Sequence[JobSpec] = JOBS,
    run_at_start: bool = True, running: set[asyncio.Task[Any]] | None = None,
    current: Callable[[str], JobSpec | None] | None = None,
) -> AsyncIOScheduler:
    """An (unstarted) scheduler with every job on its interval. ``run_at_start`` fires each job
    as soon as the scheduler starts, which is how a replica catches up after downtime. ``current``
    gives a job's definition as it is when it runs (the service's, rebuilt when its carrier is
    swapped), by name; without it, a job runs as it was given.
    Call ``start()`` inside the running event loop; on the way out, :func:`stop_scheduler` with the
    same ``running`` set (the job runs in progress) so none outlives the database engine."""
    scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
    first = dt.datetime.now(dt.timezone.utc) if run_at_start else None
    for spec in jobs:
        scheduler.add_job(
            _scheduled, trigger=IntervalTrigger(seconds=spec.every.total_seconds(), timezone=dt.timezone.utc),
            args=(sessions, spec, clock, running if running is not None else set(), current), id=spec.name, name=spec.name, replace_existing=True,
            coalesce=True, max_instances=1, misfire_grace_time=None,
            **({"next_run_time": first} if first is not None else {}),
        )
    return scheduler


async def _scheduled(
    sessions: async_sessionmaker[AsyncSession], spec: JobSpec, clock: Clock, running: set[asyncio.Task[Any]],
    current: Callable[[str], JobSpec | None] | None = None,
) -> JobRun:
    spec = (current(spec.name) if current is not None else None) or spec
    task = asyncio.current_task()
    if task is not None:
        running.add(task)
    try:
        return await run_job(sessions, spec.name, spec.func, clock=clock)
    except Exception:
        log.exception("job %s failed; its work was rolled back and the next run retries it", spec.name)
        raise
    finally:
        running.discard(task)


async def stop_scheduler(scheduler: AsyncIOScheduler, running: set[asyncio.Task[Any]], timeout_s: float = 10.0) -> None:
    """Stop scheduling, cancel the runs in progress and wait for them to roll back, so no job is
    left holding a connection when the engine is disposed."""
    scheduler.shutdown(wait=False)
    for task in list(running):
        task.cancel()
    if running:
        done, pending = await asyncio.wait(set(running), timeout=timeout_s)
        if pending:
            log.error("%d job run(s) did not stop within %.0f s", len(pending), timeout_s)


async def run_worker(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, stop: asyncio.Event,
    jobs: Sequence[JobSpec] = JOBS,
) -> None:
    """The ``dialer worker`` loop: run the scheduler until ``stop`` is set, then shut it down.
    A run still in progress is cancelled and rolled back; the next start redoes it."""
    running: set[asyncio.Task[Any]] = set()
    scheduler = build_scheduler(sessions, clock=clock, jobs=jobs, running=running)
    scheduler.start()
    try:
        await stop.wait()
    finally:
        await stop_scheduler(scheduler, running)
