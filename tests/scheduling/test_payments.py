"""Payment imports mark promises kept or broken (both databases)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from dialer.cases.models import Case
from dialer.imports.models import ImportBatch, ImportKind
from dialer.kit.errors import ImportRejected
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay
from dialer.tasks.models import Task, TaskStatus
from scheduling.jobs import promises_job
from scheduling.payment_rows import PaymentRow
from scheduling.payments import import_payment_file, import_payments
from scheduling.runner import run_job
from tests.factories import make_case, make_client
from tests.clocks import DrivenClock
from tests.scheduling.helpers import count, make_promise, sh

D = dt.date


async def _setup(session, *, amount: str = "1000.00", due: dt.date = D(2026, 11, 25)):
    client = await make_client(session)
    case = await make_case(session, client=client, account_ref="ACC-1")
    promise = await make_promise(session, case=case, due_date=due, amount=amount, created_at=sh(2026, 11, 20, 10))
    await session.commit()
    return client, case, promise


def row(line: int, amount: str, paid_at: dt.datetime, reference: str, account: str = "ACC-1", promise_id=None) -> PaymentRow:
    return PaymentRow(line, account, Decimal(amount), paid_at, reference, promise_id)


async def _import(sessions, client, rows, now):
    async with sessions() as s:
        result = await import_payments(s, client_id=client.id, rows=rows, filename="api", content=b"x", actor=None, now=now)
        await s.commit()
    return result


async def _promise(sessions, promise_id) -> PromiseToPay:
    async with sessions() as s:
        return await s.get(PromiseToPay, promise_id)


async def test_given_payments_covering_the_promise_by_its_due_date_then_kept_and_its_calls_cancelled(session, sessions):
    client, case, promise = await _setup(session)
    await run_job(sessions, "promises", promises_job, clock=DrivenClock(sh(2026, 11, 24, 10)))

    first = await _import(sessions, client, [row(1, "400.00", sh(2026, 11, 24, 11), "TX1")], sh(2026, 11, 24, 12))
    assert first.promises == {"kept": 0, "broken": 0, "reopened": 0}
    assert (await _promise(sessions, promise.id)).paid_amount == Decimal("400.00")

    second = await _import(sessions, client, [row(1, "600.00", sh(2026, 11, 25, 9), "TX2")], sh(2026, 11, 25, 10))

    stored = await _promise(sessions, promise.id)
    assert second.promises["kept"] == 1 and second.created == {"payments": 1, "duplicates": 0, "matched_to_promise": 1}
    assert (stored.status, stored.paid_amount, stored.settled_at) == (PromiseStatus.KEPT, Decimal("1000.00"), sh(2026, 11, 25, 9))
    async with sessions() as s:
        assert set((await s.execute(select(Task.status))).scalars()) == {TaskStatus.CANCELLED}
        batch = (await s.execute(select(ImportBatch).order_by(ImportBatch.id.desc()))).scalars().first()
        assert batch.kind is ImportKind.PAYMENTS


async def test_given_short_payment_then_broken_after_the_due_date_and_the_case_goes_back_to_daily(session, sessions):
    client, case, promise = await _setup(session)
    await _import(sessions, client, [row(1, "300.00", sh(2026, 11, 25, 20), "TX1")], sh(2026, 11, 25, 21))
    assert (await _promise(sessions, promise.id)).status is PromiseStatus.PENDING

    late = await _import(sessions, client, [row(1, "100.00", sh(2026, 11, 26, 9), "TX2")], sh(2026, 11, 26, 10))

    stored = await _promise(sessions, promise.id)
    assert late.promises["broken"] == 1
    assert (stored.status, stored.paid_amount) == (PromiseStatus.BROKEN, Decimal("400.00"))
    async with sessions() as s:
        assert (await s.get(Case, case.id)).next_follow_up_at == sh(2026, 11, 26, 10)  # due again, now


async def test_given_on_time_payment_arriving_after_the_promise_was_marked_broken_then_kept_after_all(session, sessions):
    client, _, promise = await _setup(session)
    await run_job(sessions, "promises", promises_job, clock=DrivenClock(sh(2026, 11, 26, 1)))
    assert (await _promise(sessions, promise.id)).status is PromiseStatus.BROKEN

    result = await _import(sessions, client, [row(1, "1000.00", sh(2026, 11, 25, 18), "TX9")], sh(2026, 11, 26, 9))

    assert result.promises == {"kept": 1, "broken": 0, "reopened": 1}
    assert (await _promise(sessions, promise.id)).status is PromiseStatus.KEPT


async def test_given_the_same_file_twice_then_payments_recorded_once(session, sessions):
    client, _, promise = await _setup(session)
    rows = [row(1, "500.00", sh(2026, 11, 24, 9), "TX1"), row(2, "500.00", sh(2026, 11, 24, 10), "TX2")]

    await _import(sessions, client, rows, sh(2026, 11, 24, 12))
    again = await _import(sessions, client, rows, sh(2026, 11, 24, 13))

    assert again.created == {"payments": 0, "duplicates": 2, "matched_to_promise": 0}
    async with sessions() as s:
        assert await count(s, Payment) == 2
    assert (await _promise(sessions, promise.id)).paid_amount == Decimal("1000.00")


async def test_given_bad_rows_then_import_rejected_with_every_error_and_nothing_recorded(session, sessions):
    client, _, promise = await _setup(session)
    await _import(sessions, client, [row(1, "10.00", sh(2026, 11, 24, 9), "TX1")], sh(2026, 11, 24, 12))
    rows = [
        row(1, "20.00", sh(2026, 11, 24, 9), "TX1"),  # same reference, different payment
        row(2, "5.00", sh(2026, 11, 24, 9), "TX2", account="NOPE"),
        row(3, "5.00", sh(2026, 11, 24, 9), "TX3"), row(4, "5.00", sh(2026, 11, 24, 9), "TX3"),
        row(5, "5.00", sh(2026, 11, 30, 9), "TX5"),
        row(6, "5.00", sh(2026, 11, 24, 9), "TX6", promise_id=promise.id + 100),
    ]

    with pytest.raises(ImportRejected) as caught:
        await _import(sessions, client, rows, sh(2026, 11, 24, 12))

    assert [(e["line"], e["column"]) for e in caught.value.extra["errors"]] == [
        (1, "reference"), (2, "account_ref"), (4, "reference"), (5, "paid_at"), (6, "promise_id"),
    ]
    async with sessions() as s:
        assert await count(s, Payment) == 1


async def test_given_two_promises_then_each_payment_goes_to_the_one_it_can_still_keep(session, sessions):
    client, case, first = await _setup(session, amount="500.00", due=D(2026, 11, 25))
    async with sessions() as s:
        second = await make_promise(s, case=await s.get(Case, case.id), due_date=D(2026, 12, 5), amount="500.00",
                                    created_at=sh(2026, 11, 20, 10))
        await s.commit()
    rows = [row(1, "500.00", sh(2026, 11, 25, 9), "A"), row(2, "200.00", sh(2026, 11, 28, 9), "B")]

    await _import(sessions, client, rows, sh(2026, 11, 28, 10))

    assert (await _promise(sessions, first.id)).status is PromiseStatus.KEPT
    later = await _promise(sessions, second.id)
    assert (later.status, later.paid_amount) == (PromiseStatus.PENDING, Decimal("200.00"))


async def test_given_a_bank_csv_file_with_chinese_headers_and_local_times_then_imported(session, sessions):
    client, _, promise = await _setup(session)
    content = "账号,还款金额,还款时间,流水号\nACC-1,\"1,000.00\",2026-11-25 14:03:00,BANK-77\n".encode("gb18030")

    async with sessions() as s:
        result = await import_payment_file(s, client_id=client.id, filename="还款.csv", content=content, actor=None,
                                           now=sh(2026, 11, 26, 9))
        await s.commit()

    assert result.promises["kept"] == 1
    async with sessions() as s:
        payment = (await s.execute(select(Payment))).scalar_one()
    assert (payment.paid_at, payment.amount, payment.promise_id) == (sh(2026, 11, 25, 14, 3), Decimal("1000.00"), promise.id)
