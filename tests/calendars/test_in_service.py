"""The service uses what an admin entered, on both databases: the promise reminders, the compliance
windows, another replica after its refresh, and the warning of a missing year."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select

from dialer.calendars.store import CalendarStore, attach, calendars_of
from dialer.cases.models import Party
from dialer.container import build_container
from dialer.kit.db import create_engine, session_factory
from dialer.policy.presets import build_policy
from dialer.tasks.models import Task, TaskKind
from scheduling.jobs import calendars_check_job, promises_job
from scheduling.reminders import plan_promise_tasks
from scheduling.runner import run_job
from tests.calendars.conftest import SH, SPRING_FESTIVAL_2027, D
from tests.clocks import DrivenClock
from tests.factories import make_case, make_client, make_user
from tests.scheduling.helpers import make_promise

HOLIDAY_HOURS = {"calling_window": {"on_calendar_holidays": [{"start": "10:00", "end": "18:00"}]}}


def sh(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SH)


async def _enter_2027(api, headers) -> None:
    answer = await api.put("/v1/calendars/cn/2027", json={"days": SPRING_FESTIVAL_2027}, headers=headers["admin"])
    assert answer.status_code == 200, answer.text


async def _promise(app, *, due: dt.date):
    async with app.state.container.sessions() as s:
        agent = await make_user(s)
        case = await make_case(s, client=await make_client(s), assigned_agent=agent)
        promise = await make_promise(s, case=case, due_date=due, created_at=sh(2027, 1, 20, 15), created_by_id=agent.id)
        await s.commit()
    return promise


async def _reminder_at(app, promise_id: int) -> dt.datetime:
    async with app.state.container.sessions() as s:
        task = (await s.execute(select(Task).where(Task.kind == TaskKind.PTP_REMINDER,
                                                    Task.dedupe_key == f"ptp_reminder:{promise_id}"))).scalar_one()
    return task.due_at


async def test_given_2027_spring_festival_entered_then_a_reminder_that_fell_on_the_holiday_moves_to_a_working_day(
        app, api, headers):
    promise = await _promise(app, due=D(2027, 2, 9))  # Tuesday, inside the holiday
    shipped = plan_promise_tasks(promise_id=promise.id, due_date=promise.due_date, amount=Decimal("1000.00"),
                                 policy=build_policy("agency-default", {}), tz=SH, calendar="cn")
    await _enter_2027(api, headers)

    run = await run_job(app.state.container.write_sessions, "promises", promises_job,
                        clock=DrivenClock(sh(2027, 2, 1, 10)))

    assert shipped[0].kind is TaskKind.PTP_REMINDER and shipped[0].due_at == sh(2027, 2, 8, 9)  # a holiday, unknown
    assert run.ran and run.summary["tasks_created"] == 4
    assert await _reminder_at(app, promise.id) == sh(2027, 2, 5, 9)  # Friday, the last working day before


async def test_given_an_adjusted_working_sunday_entered_then_it_counts_as_the_working_day_before_a_due_date(
        app, api, headers):
    promise = await _promise(app, due=D(2027, 2, 15))  # Monday after the holiday
    await _enter_2027(api, headers)

    await run_job(app.state.container.write_sessions, "promises", promises_job, clock=DrivenClock(sh(2027, 2, 1, 10)))

    assert await _reminder_at(app, promise.id) == sh(2027, 2, 14, 9)  # Sunday 14 February, worked (调休)


async def test_given_2027_holiday_entered_then_a_compliance_check_on_it_uses_the_holiday_window(app, api, headers):
    async with app.state.container.sessions() as s:
        case = await make_case(s, client=await make_client(s, overrides=HOLIDAY_HOURS))
        party_id = (await s.execute(select(Party.id).where(Party.case_id == case.id))).scalar_one()
        await s.commit()

    async def check(at: dt.datetime) -> dict:
        answer = await api.post("/v1/compliance/check", json={"party_id": party_id, "at": at.isoformat()},
                                headers=headers["admin"])
        assert answer.status_code == 200, answer.text
        return answer.json()

    before = await check(sh(2027, 2, 8, 9))  # Monday 09:00: an ordinary weekday while 2027 is unknown
    await _enter_2027(api, headers)
    early, inside = await check(sh(2027, 2, 8, 9)), await check(sh(2027, 2, 8, 11))
    sunday_worked = await check(sh(2027, 2, 14, 9))  # adjusted working day: the Sunday's own window

    assert before["allowed"] is True
    assert early["allowed"] is False
    [violation] = early["violations"]
    assert violation["rule"] == "calling_window"
    assert dt.datetime.fromisoformat(violation["retry_at"]) == sh(2027, 2, 8, 10)  # the holiday window opens
    assert inside["allowed"] is True and sunday_worked["allowed"] is True


async def test_given_another_replica_on_the_same_database_then_it_sees_the_edit_after_its_refresh(
        app, api, headers, settings):
    other = build_container(settings, clock=DrivenClock(sh(2026, 12, 5, 10)), engine=create_engine(settings.database_url))
    try:
        async with other.sessions() as s:
            first = await calendars_of(s)
        await _enter_2027(api, headers)
        async with other.sessions() as s:
            cached = await calendars_of(s)  # within its 30 s: what it held
            refreshed = await other.calendars.refresh(s)  # what its next check (at most 30 s on) does

        assert not first.get("cn").knows(2027) and cached is first
        assert refreshed.get("cn").knows(2027) and refreshed.revision == first.revision + 1
        assert refreshed.get("cn").is_public_holiday(D(2027, 2, 8))
        assert refreshed.get("cn").is_working_day(D(2027, 2, 14))
    finally:
        await other.engine.dispose()


async def test_given_a_store_then_it_checks_the_revision_at_most_once_per_interval(app, api, headers, engine):
    ticks = [1000.0]
    store = CalendarStore(check_every=dt.timedelta(seconds=30), monotonic=lambda: ticks[0])
    sessions = session_factory(engine)
    attach(store, sessions)
    async with sessions() as s:
        held = await calendars_of(s)
    await _enter_2027(api, headers)

    ticks[0] += 29.9
    async with sessions() as s:
        within = await calendars_of(s)
    ticks[0] += 0.2
    async with sessions() as s:
        after = await calendars_of(s)

    assert within is held and not within.get("cn").knows(2027)
    assert after is not held and after.get("cn").knows(2027)


async def test_given_an_edit_through_this_process_then_its_next_decision_uses_it_at_once(app, api, headers):
    async with app.state.container.sessions() as s:
        before = await calendars_of(s)
    await _enter_2027(api, headers)
    async with app.state.container.sessions() as s:
        after = await calendars_of(s)

    assert not before.get("cn").knows(2027) and after.get("cn").is_public_holiday(D(2027, 2, 8))


async def test_given_december_without_next_year_then_the_daily_job_warns_in_the_log(app, api, headers, caplog):
    sessions = app.state.container.write_sessions
    with caplog.at_level(logging.WARNING, logger="dialer.calendars"):
        missing = await run_job(sessions, "calendars_check", calendars_check_job, clock=DrivenClock(sh(2026, 12, 5, 10)))
    warned = [r.getMessage() for r in caplog.records if r.name == "dialer.calendars"]
    await _enter_2027(api, headers)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dialer.calendars"):
        entered = await run_job(sessions, "calendars_check", calendars_check_job, clock=DrivenClock(sh(2026, 12, 6, 10)))
    november = await run_job(sessions, "calendars_check", calendars_check_job, clock=DrivenClock(sh(2026, 11, 30, 10)))

    assert missing.summary == {"today": "2026-12-05", "missing": ["cn/2027"]}
    assert len(warned) == 1 and "'cn' has no data for 2027" in warned[0]
    assert entered.summary["missing"] == [] and not [r for r in caplog.records if r.name == "dialer.calendars"]
    assert november.summary["missing"] == []  # before 1 December next year is not yet a warning
