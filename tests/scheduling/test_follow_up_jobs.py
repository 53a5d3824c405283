"""The follow-ups and field-visits jobs on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from dialer.cases.models import Case, CaseStatus, Contactability, PhoneNumber
from dialer.notes.models import PromiseStatus
from dialer.tasks.models import TaskKind, TaskStatus
from scheduling.jobs import field_visits_job, follow_ups_job, promises_job
from scheduling.runner import run_job
from scheduling.service import under_minimum
from tests.factories import make_case, make_client, make_user
from tests.clocks import DrivenClock
from tests.scheduling.helpers import debtor_of, make_attempt, make_promise, make_stop, sh, tasks

D = dt.date
THURSDAY = sh(2026, 11, 26, 12)  # week 2026-W48 (Mon 23rd - Sun 29th): 1 call expected by now


async def _case(session, **fields):
    agent = await make_user(session)
    case = await make_case(session, client=await make_client(session), assigned_agent=agent, **fields)
    return case, agent


async def _cases(sessions):
    async with sessions() as s:
        return {c.account_ref: c for c in (await s.execute(select(Case))).scalars()}


async def test_given_cases_in_different_states_then_each_gets_its_cadence_due_time_and_a_rerun_changes_nothing(
    session, sessions,
):
    effective, _ = await _case(session, account_ref="EFFECTIVE")
    await make_promise(session, case=effective, due_date=D(2026, 11, 30), created_at=sh(2026, 11, 25, 10))
    other, _ = await _case(session, account_ref="OTHER")
    young, _ = await _case(session, account_ref="YOUNG", overdue_days=2)  # overdue day 8 on Nov 30th
    for case in (effective, other):
        await make_attempt(session, case=case, at=sh(2026, 11, 25, 21, 30))
        await make_attempt(session, case=case, at=sh(2026, 11, 26, 9))
    await make_attempt(session, case=young, at=sh(2026, 11, 26, 11))
    await session.commit()
    clock = DrivenClock(THURSDAY)

    first = await run_job(sessions, "follow_ups", follow_ups_job, clock=clock)
    second = await run_job(sessions, "follow_ups", follow_ups_job, clock=clock)

    due = {ref: c.next_follow_up_at for ref, c in (await _cases(sessions)).items()}
    assert due == {"EFFECTIVE": sh(2026, 11, 27, 8), "OTHER": sh(2026, 11, 28, 8), "YOUNG": sh(2026, 11, 30, 8)}
    assert first.summary["rescheduled"] == 3 and second.summary["rescheduled"] == 0


async def test_given_case_behind_minimum_then_raised_task_for_its_agent_and_due_today_then_closed_when_caught_up(
    session, sessions,
):
    case, agent = await _case(session, account_ref="BEHIND")
    await make_attempt(session, case=case, at=sh(2026, 11, 20, 10))  # last week's call counts for nothing
    await make_attempt(session, case=case, at=sh(2026, 11, 27, 10))
    await session.commit()
    saturday = sh(2026, 11, 28, 12)  # 2 calls expected by now; Saturday and Sunday left

    run = await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(saturday))

    async with sessions() as s:
        [task] = await tasks(s, kind=TaskKind.MIN_FREQUENCY)
    assert run.summary["behind"] == 1 and run.summary["tasks_created"] == 1
    assert (task.dedupe_key, task.assigned_agent_id, task.priority) == (f"min_frequency:{case.id}:2026-W48", agent.id, 60)
    assert task.reason == "behind the minimum (1 of 3 calls in 2026-W48, 2 expected by now)"
    assert task.due_until == sh(2026, 11, 30)
    # The every-second-day cadence says Sunday; falling behind makes the case due today.
    assert (await _cases(sessions))["BEHIND"].next_follow_up_at == sh(2026, 11, 28, 8)

    async with sessions() as s:
        await make_attempt(s, case=case, at=sh(2026, 11, 28, 13))
        await s.commit()
    later = await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(sh(2026, 11, 28, 14)))

    async with sessions() as s:
        [task] = await tasks(s, kind=TaskKind.MIN_FREQUENCY)
    assert later.summary["tasks_closed"] == 1 and task.status is TaskStatus.DONE
    assert (await _cases(sessions))["BEHIND"].next_follow_up_at == sh(2026, 11, 30, 8)


async def test_given_cases_that_cannot_be_called_then_listed_for_supervisors_with_the_reason(session, sessions):
    stopped, _ = await _case(session, account_ref="STOPPED", debtor_name="王五")
    await make_stop(session, case=stopped, party=await debtor_of(session, stopped))
    invalid, _ = await _case(session, account_ref="INVALID", debtor_name="赵六", debtor_numbers=("+8613900139000",))
    await session.execute(update(PhoneNumber).where(PhoneNumber.e164 == "+8613900139000").values(valid=False))
    lost, _ = await _case(session, account_ref="LOST", contactability=Contactability.LOST)
    await session.commit()

    run = await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(sh(2026, 11, 20, 12)))

    async with sessions() as s:
        listed = {u.account_ref: u for u in await under_minimum(s, now=sh(2026, 11, 20, 12))}
        found = {t.case_id: t for t in await tasks(s, kind=TaskKind.MIN_FREQUENCY)}
    assert run.summary["will_miss"] == 2
    assert [r.code for r in listed["STOPPED"].reasons] == ["stop_contact"]
    assert listed["STOPPED"].reasons[0].message == "blocked by stop-contact: 王五 (client list: 客户要求停催)"
    assert [r.code for r in listed["INVALID"].reasons] == ["numbers_invalid"]
    assert listed["LOST"].behind and listed["LOST"].period == "2026-11" and listed["LOST"].reasons == []
    assert list(listed) == ["STOPPED", "INVALID", "LOST"]  # those that will miss first
    assert found[stopped.id].assigned_agent_id is None  # only a supervisor can lift a stop
    assert found[stopped.id].reason.startswith("will miss the minimum (0 of 3 calls in 2026-W47): blocked by stop-contact")
    assert found[lost.id].reason == "behind the minimum (0 of 4 calls in 2026-11, 2 expected by now)"


async def test_given_broken_promise_then_case_back_to_daily_cadence(session, sessions):
    case, _ = await _case(session, account_ref="BROKE", contactability=Contactability.PARTLY_LOST)
    await make_promise(session, case=case, due_date=D(2026, 11, 24), created_at=sh(2026, 11, 20, 10),
                       status=PromiseStatus.BROKEN)
    await make_attempt(session, case=case, at=sh(2026, 11, 25, 10))
    for day in (23, 24):
        await make_attempt(session, case=case, at=sh(2026, 11, day, 10))
    await session.commit()

    await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(sh(2026, 11, 25, 12)))

    assert (await _cases(sessions))["BROKE"].next_follow_up_at == sh(2026, 11, 26, 8)


async def test_given_three_days_without_contact_then_one_field_visit_request_however_often_the_job_runs(session, sessions):
    case, agent = await _case(session, account_ref="GONE")
    for day in (22, 23, 24):
        await make_attempt(session, case=case, at=sh(2026, 11, day, 10))
        await make_attempt(session, case=case, at=sh(2026, 11, day, 19))
    reached, _ = await _case(session, account_ref="REACHED")
    for day in (22, 23, 24):
        await make_attempt(session, case=reached, at=sh(2026, 11, day, 10), conversation=(day == 23))
    await session.commit()

    runs = [
        await run_job(sessions, "field_visits", field_visits_job, clock=DrivenClock(now))
        for now in (sh(2026, 11, 24, 20), sh(2026, 11, 25, 9), sh(2026, 11, 25, 15), sh(2026, 11, 26, 9))
    ]

    assert [r.summary["flagged"] for r in runs] == [0, 1, 0, 0]  # the 24th counts once it is over
    async with sessions() as s:
        [visit] = await tasks(s, kind=TaskKind.FIELD_VISIT)
    assert (visit.case_id, visit.assigned_agent_id, visit.dedupe_key) == (case.id, agent.id, f"field_visit:{case.id}:2026-11-22")
    assert visit.reason == "no contact on 3 consecutive days (2026-11-22 to 2026-11-24): request a field visit"


async def test_given_case_paid_in_full_then_no_longer_due_and_its_open_tasks_cancelled(session, sessions):
    case, _ = await _case(session, account_ref="PAID")
    await make_promise(session, case=case, due_date=D(2026, 11, 27), created_at=sh(2026, 11, 25, 10))
    await session.commit()
    await run_job(sessions, "promises", promises_job, clock=DrivenClock(THURSDAY))
    await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(THURSDAY))
    async with sessions() as s:
        await s.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.PAID))
        await s.commit()

    run = await run_job(sessions, "follow_ups", follow_ups_job, clock=DrivenClock(THURSDAY))

    assert run.summary["tasks_closed"] == 5  # the reminder, three due-day calls, the minimum-frequency task
    assert (await _cases(sessions))["PAID"].next_follow_up_at is None
    async with sessions() as s:
        assert {t.status for t in await tasks(s)} == {TaskStatus.CANCELLED}
