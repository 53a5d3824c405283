"""The promises job on both databases: reminder and due-day tasks once, catch-up, broken promises."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from dialer.cases.models import Case
from dialer.notes.models import PromiseStatus, PromiseToPay
from dialer.tasks.models import Task, TaskKind, TaskStatus
from dialer.tasks.repository import NewTask, add_tasks
from scheduling.jobs import promises_job
from scheduling.promises import plan_promise_tasks
from scheduling.runner import run_job
from tests.factories import make_case, make_client, make_user
from tests.clocks import DrivenClock
from tests.scheduling.helpers import count, make_promise, sh, tasks

D = dt.date
TUESDAY = sh(2026, 11, 24, 10)


async def _promise(session, *, due: dt.date = D(2026, 11, 25), amount: str = "1000.00"):
    agent = await make_user(session)
    case = await make_case(session, client=await make_client(session), assigned_agent=agent)
    promise = await make_promise(session, case=case, due_date=due, amount=amount, created_at=sh(2026, 11, 23, 15),
                                 created_by_id=agent.id)
    await session.commit()
    return case, promise, agent


async def test_given_pending_promise_when_job_runs_twice_then_reminder_and_three_due_calls_exist_once(session, sessions):
    case, promise, agent = await _promise(session)
    clock = DrivenClock(TUESDAY)

    first = await run_job(sessions, "promises", promises_job, clock=clock)
    second = await run_job(sessions, "promises", promises_job, clock=clock)

    assert first.ran and first.summary["tasks_created"] == 4
    assert second.ran and second.summary["tasks_created"] == 0
    async with sessions() as s:
        found = await tasks(s)
    assert [(t.kind, t.dedupe_key, t.due_at) for t in found] == [
        (TaskKind.PTP_REMINDER, f"ptp_reminder:{promise.id}", sh(2026, 11, 24, 9)),
        (TaskKind.PTP_DUE, f"ptp_due:{promise.id}:09:00", sh(2026, 11, 25, 9)),
        (TaskKind.PTP_DUE, f"ptp_due:{promise.id}:12:30", sh(2026, 11, 25, 12, 30)),
        (TaskKind.PTP_DUE, f"ptp_due:{promise.id}:18:30", sh(2026, 11, 25, 18, 30)),
    ]
    assert {(t.case_id, t.assigned_agent_id, t.status) for t in found} == {(case.id, agent.id, TaskStatus.OPEN)}


async def test_given_scheduler_down_through_the_reminder_day_when_it_catches_up_then_only_useful_tasks(session, sessions):
    _, promise, _ = await _promise(session)

    run = await run_job(sessions, "promises", promises_job, clock=DrivenClock(sh(2026, 11, 25, 12)))

    async with sessions() as s:
        keys = [t.dedupe_key for t in await tasks(s)]
    assert run.summary["tasks_created"] == 3
    # The reminder day is over; the morning call is late but its slot (until 12:30) is still open.
    assert keys == [f"ptp_due:{promise.id}:09:00", f"ptp_due:{promise.id}:12:30", f"ptp_due:{promise.id}:18:30"]


async def test_given_job_interrupted_midway_then_nothing_half_done_and_rerun_completes_without_duplicates(session, sessions):
    for _ in range(3):
        await _promise(session)
    clock = DrivenClock(TUESDAY)

    async def crashes_after_planning(s, *, now):
        await plan_promise_tasks(s, now=now)  # writes (flushes) every task ...
        raise RuntimeError("worker killed")  # ... then dies before the commit

    with pytest.raises(RuntimeError):
        await run_job(sessions, "promises", crashes_after_planning, clock=clock)
    async with sessions() as s:
        assert await count(s, Task) == 0

    rerun = await run_job(sessions, "promises", promises_job, clock=clock)
    assert rerun.summary["tasks_created"] == 12
    async with sessions() as s:
        assert await count(s, Task) == 12


async def test_given_some_tasks_committed_before_a_crash_then_resumed_run_adds_only_the_rest(session, sessions):
    case, promise, _ = await _promise(session)
    async with sessions() as s:  # what an earlier, partly finished run left behind
        await add_tasks(s, [NewTask(case_id=case.id, kind=TaskKind.PTP_REMINDER, dedupe_key=f"ptp_reminder:{promise.id}",
                                    due_at=sh(2026, 11, 24, 9), priority=50)], now=TUESDAY)
        await s.commit()

    run = await run_job(sessions, "promises", promises_job, clock=DrivenClock(TUESDAY))

    assert run.summary["tasks_created"] == 3
    async with sessions() as s:
        assert await count(s, Task) == 4


async def test_given_due_day_over_without_full_payment_then_broken_case_due_now_and_its_calls_cancelled(session, sessions):
    case, promise, _ = await _promise(session)
    await run_job(sessions, "promises", promises_job, clock=DrivenClock(TUESDAY))

    before_midnight = await run_job(sessions, "promises", promises_job, clock=DrivenClock(sh(2026, 11, 25, 23, 59)))
    after = await run_job(sessions, "promises", promises_job, clock=DrivenClock(sh(2026, 11, 26, 7)))

    assert before_midnight.summary["broken"] == 0
    assert after.summary["broken"] == 1 and after.summary["tasks_closed"] == 4
    async with sessions() as s:
        stored = await s.get(PromiseToPay, promise.id)
        assert (stored.status, stored.settled_at, stored.paid_amount) == (PromiseStatus.BROKEN, sh(2026, 11, 26), Decimal("0"))
        assert (await s.get(Case, case.id)).next_follow_up_at == sh(2026, 11, 26, 8)  # next opening: daily again
        statuses = (await s.execute(select(Task.status))).scalars().all()
        assert set(statuses) == {TaskStatus.CANCELLED}


async def test_given_kept_or_cancelled_promise_then_no_tasks_planned(session, sessions):
    _, kept, _ = await _promise(session)
    kept.status = PromiseStatus.KEPT
    await session.commit()

    run = await run_job(sessions, "promises", promises_job, clock=DrivenClock(TUESDAY))

    assert run.summary["tasks_created"] == 0
