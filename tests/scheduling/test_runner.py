"""Once per job across replicas: advisory locks, concurrent runs, two live schedulers."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import select

from dialer.kit.db import create_engine, session_factory
from dialer.kit.locks import lock_key
from dialer.tasks.models import Task, TaskKind
from dialer.tasks.repository import NewTask, add_tasks
from scheduling.jobs import JOBS, AfterCommit, JobSpec, promises_job
from scheduling.runner import JobRun, build_scheduler, run_all, run_job
from tests.factories import make_case, make_client
from tests.clocks import DrivenClock
from tests.scheduling.helpers import count, make_promise, sh

NOW = sh(2026, 11, 24, 10)
_runs = itertools.count(1)


def test_lock_keys_are_stable_signed_64_bit_and_distinct_per_job() -> None:
    keys = [lock_key(job.name) for job in JOBS]
    assert len(set(keys)) == len(keys)
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert lock_key("promises") == lock_key("promises")


async def _replicas(db_url: str, n: int = 2):
    """``n`` independent engines on one database, as ``n`` replicas would have."""
    engines = [create_engine(db_url) for _ in range(n)]
    return engines, [session_factory(engine) for engine in engines]


def _slow_job(case_id: int, *, hold: float):
    """A job whose every run leaves one task of its own, and holds the job's lock for ``hold`` s."""

    async def job(session, *, now):
        await asyncio.sleep(hold)
        await add_tasks(session, [NewTask(case_id=case_id, kind=TaskKind.FOLLOW_UP, dedupe_key=f"run:{next(_runs)}",
                                          due_at=now)], now=now)
        return {"done": 1}

    return job


async def _case_with_promise(session):
    case = await make_case(session, client=await make_client(session))
    await make_promise(session, case=case, due_date=dt.date(2026, 11, 25), created_at=sh(2026, 11, 23, 9))
    await session.commit()
    return case


@pytest.mark.postgres_only
async def test_given_two_replicas_running_one_job_at_once_then_exactly_one_runs(db_url, session):
    case = await _case_with_promise(session)
    engines, factories = await _replicas(db_url)
    try:
        runs = await asyncio.gather(*(
            run_job(f, "slow", _slow_job(case.id, hold=0.5), clock=DrivenClock(NOW)) for f in factories
        ))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sorted(r.ran for r in runs) == [False, True]
    assert await count(session, Task) == 1


async def test_given_two_replicas_running_the_promises_job_at_once_then_its_effects_happen_once(db_url, session):
    await _case_with_promise(session)
    engines, factories = await _replicas(db_url, 3)
    try:
        runs = await asyncio.gather(*(run_job(f, "promises", promises_job, clock=DrivenClock(NOW)) for f in factories))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sum(r.summary.get("tasks_created", 0) for r in runs) == 4
    assert await count(session, Task) == 4


@pytest.mark.postgres_only
async def test_given_two_live_schedulers_on_one_postgres_database_then_each_job_runs_once(db_url, session):
    case = await _case_with_promise(session)
    engines, factories = await _replicas(db_url)
    jobs = [JobSpec("slow", _slow_job(case.id, hold=0.5), dt.timedelta(hours=1)),
            JobSpec("promises", promises_job, dt.timedelta(hours=1))]
    schedulers = [build_scheduler(f, clock=DrivenClock(NOW), jobs=jobs) for f in factories]
    runs: list[JobRun] = []
    errors: list[BaseException] = []
    done = asyncio.Event()

    def listener(event) -> None:
        if event.exception is not None:
            errors.append(event.exception)
        else:
            runs.append(event.retval)
        if len(runs) + len(errors) == len(schedulers) * len(jobs):
            done.set()

    try:
        for scheduler in schedulers:  # both start at once and fire every job at start (catch-up)
            scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        for engine in engines:
            await engine.dispose()

    assert errors == []
    assert sorted(r.name for r in runs) == ["promises", "promises", "slow", "slow"]  # both replicas fired both
    assert sorted(r.ran for r in runs if r.name == "slow") == [False, True]  # one held the lock, one skipped
    kinds = (await session.execute(select(Task.kind))).scalars().all()
    # One task from the single slow run; the promise's 4 tasks once, however many replicas ran the job.
    assert sorted(kinds) == sorted([TaskKind.FOLLOW_UP, TaskKind.PTP_REMINDER] + [TaskKind.PTP_DUE] * 3)


async def test_run_all_runs_every_job_once_and_commits(session, sessions):
    await _case_with_promise(session)

    runs = await run_all(sessions, clock=DrivenClock(NOW))

    assert [r.name for r in runs] == [job.name for job in JOBS] and all(r.ran for r in runs)
    assert await count(session, Task) == 4


def _committing_then(case_id: int, seen: list, *, fail: bool = False):
    """A job that writes a task and, after its commit, reads it from a fresh session (what a carrier
    action following a reconcile sees) — then fails if told to."""

    async def job(session, *, now):
        await add_tasks(session, [NewTask(case_id=case_id, kind=TaskKind.FOLLOW_UP, dedupe_key="after-commit",
                                          due_at=now)], now=now)

        async def then() -> None:
            seen.append(await count_in(session_factory(session.bind), Task))
            if fail:
                raise RuntimeError("the carrier said no")

        return AfterCommit({"written": 1}, then)

    return job


async def count_in(sessions, model) -> int:
    async with sessions() as s:
        return await count(s, model)


@pytest.mark.parametrize("fail", [False, True])
async def test_given_a_job_with_work_after_its_commit_then_that_work_sees_the_commit_and_its_failure_stands_apart(
        session, sessions, fail: bool):
    case = await make_case(session, client=await make_client(session))
    await session.commit()
    seen: list[int] = []

    run = await run_job(sessions, "after_commit", _committing_then(case.id, seen, fail=fail), clock=DrivenClock(NOW))

    assert run.ran and run.summary == {"written": 1}
    assert seen == [1], "what follows the commit runs after it, and sees the run's work"
    assert await count(session, Task) == 1, "a failure after the commit does not undo the run"


async def test_given_a_job_redefined_after_the_scheduler_started_then_the_current_definition_runs(sessions):
    ran: list[str] = []

    def job(label: str):
        async def run(session, *, now):
            ran.append(label)
            return {"label": label}
        return run

    defined = {"carrier_job": JobSpec("carrier_job", job("built at start"), dt.timedelta(hours=1))}
    scheduler = build_scheduler(sessions, clock=DrivenClock(NOW), jobs=list(defined.values()),
                                current=defined.get)  # as the service passes Container.job
    defined["carrier_job"] = JobSpec("carrier_job", job("after the carrier was swapped"), dt.timedelta(hours=1))
    done = asyncio.Event()
    scheduler.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        scheduler.shutdown(wait=False)

    assert ran == ["after the carrier was swapped"]
