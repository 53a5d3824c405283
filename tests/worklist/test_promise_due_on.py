"""``cases.promise_due_on`` is kept by the database (triggers on promises, migration 0004): the
due date of the case's earliest pending promise, whatever writes the promises."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from dialer.cases.models import Case
from dialer.notes.models import PromiseStatus, PromiseToPay
from tests.worklist.helpers import NOW, promise_due, queued_case

MONDAY, FRIDAY = NOW.date() - dt.timedelta(days=1), NOW.date() + dt.timedelta(days=3)


async def _due_on(session, case: Case) -> dt.date | None:
    return (await session.execute(select(Case.promise_due_on).where(Case.id == case.id))).scalar_one()


async def test_given_pending_promises_then_the_case_carries_the_earliest_due_date(session):
    case = await queued_case(session)
    assert await _due_on(session, case) is None

    await promise_due(session, case, due=FRIDAY)
    assert await _due_on(session, case) == FRIDAY

    await promise_due(session, case, due=MONDAY)
    assert await _due_on(session, case) == MONDAY


async def test_given_the_earliest_promise_kept_then_the_next_pending_one_counts(session):
    case = await queued_case(session)
    early = await promise_due(session, case, due=MONDAY)
    await promise_due(session, case, due=FRIDAY)

    await session.execute(update(PromiseToPay).where(PromiseToPay.id == early.id).values(status=PromiseStatus.KEPT))

    assert await _due_on(session, case) == FRIDAY


async def test_given_a_due_date_moved_then_the_case_follows(session):
    case = await queued_case(session)
    promise = await promise_due(session, case, due=FRIDAY)

    await session.execute(update(PromiseToPay).where(PromiseToPay.id == promise.id).values(due_date=MONDAY))

    assert await _due_on(session, case) == MONDAY


async def test_given_a_promise_moved_to_another_case_then_both_cases_follow(session):
    first, second = await queued_case(session), await queued_case(session)
    promise = await promise_due(session, first, due=MONDAY)

    await session.execute(update(PromiseToPay).where(PromiseToPay.id == promise.id).values(case_id=second.id))

    assert (await _due_on(session, first), await _due_on(session, second)) == (None, MONDAY)


async def test_given_the_last_pending_promise_deleted_then_none_is_due(session):
    case = await queued_case(session)
    await promise_due(session, case, due=MONDAY)

    await session.execute(delete(PromiseToPay).where(PromiseToPay.case_id == case.id))

    assert await _due_on(session, case) is None
