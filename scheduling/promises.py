"""Promises to pay in the database: settle them (kept / broken) and plan their call tasks.

Used by the scheduled job and by the payment import. Both only flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calendars.store import calendars_of
from dialer.cases.models import Case, CaseStatus, Party, PartyRole
from dialer.compliance.localtime import next_opening
from dialer.notes.models import Payment, PromiseStatus, PromiseToPay
from dialer.tasks.models import TaskStatus
from dialer.tasks.repository import NewTask, add_tasks, close_open_tasks
from scheduling import repository
from scheduling.reminders import due_key_prefix, reminder_key, settle
from scheduling.reminders import plan_promise_tasks as plan
from scheduling.repository import ClientPolicy

PLAN_AHEAD = dt.timedelta(days=14)
"""Tasks are planned for promises due within this horizon; later ones in a later run."""


@dataclass(frozen=True, slots=True)
class PromiseContext:
    promise: PromiseToPay
    case: Case
    debtor_zone: str | None


@dataclass(slots=True)
class SettleCounts:
    kept: int = 0
    broken: int = 0
    reopened: int = 0  # broken promises found kept after all (a payment made in time, imported late)
    tasks_closed: int = 0


async def _contexts(session: AsyncSession, *conditions: Any, lock: bool = False) -> list[PromiseContext]:
    """Promises with their case and the debtor's zone. ``lock`` takes the promises' row locks
    (PostgreSQL), so a payment import and the job settling the same promise take turns, and
    the second sees the first's payments and verdict."""
    query = (
        select(PromiseToPay, Case, Party.time_zone)
        .join(Case, Case.id == PromiseToPay.case_id)
        .outerjoin(Party, and_(Party.case_id == Case.id, Party.role == PartyRole.DEBTOR))
        .where(*conditions).order_by(PromiseToPay.id)
    )
    if lock:
        query = query.with_for_update(of=PromiseToPay)
    rows = await session.execute(query)
    seen: dict[int, PromiseContext] = {}
    for promise, case, tz in rows:
        seen.setdefault(promise.id, PromiseContext(promise, case, tz))
    return list(seen.values())


async def settle_promises(
    session: AsyncSession, *, promise_ids: Sequence[int], now: dt.datetime,
    policies: dict[int, ClientPolicy] | None = None,
) -> SettleCounts:
    """Re-decide kept / broken / pending for pending or broken promises from their payments.

    A promise that becomes kept or broken has its open call tasks cancelled; a broken promise
    puts its case back on the daily cadence and makes it due at the next opening."""
    counts = SettleCounts()
    if not promise_ids:
        return counts
    policies = policies if policies is not None else await repository.client_policies(session)
    contexts = await _contexts(
        session, PromiseToPay.id.in_(list(promise_ids)),
        PromiseToPay.status.in_((PromiseStatus.PENDING, PromiseStatus.BROKEN)), lock=True,
    )
    paid: dict[int | None, list[tuple[Any, ...]]] = defaultdict(list)
    for promise_id, amount, paid_at in await session.execute(
        select(Payment.promise_id, Payment.amount, Payment.paid_at)
        .where(Payment.promise_id.in_([c.promise.id for c in contexts]))
    ):
        paid[promise_id].append((amount, paid_at))
    closing: list[int] = []
    for ctx in contexts:
        promise, client = ctx.promise, policies[ctx.case.client_id]
        tz = client.zone_of(ctx.debtor_zone)
        result = settle(amount=promise.amount, due_date=promise.due_date, payments=paid[promise.id], now=now, tz=tz)
        promise.paid_amount = result.paid_amount
        if result.status is promise.status:
            continue
        if promise.status is PromiseStatus.BROKEN:
            counts.reopened += 1
        promise.status, promise.settled_at = result.status, result.settled_at
        if result.status is PromiseStatus.KEPT:
            counts.kept += 1
        elif result.status is PromiseStatus.BROKEN:
            counts.broken += 1
            due = next_opening(client.policy, now, tz,
                               calendar=(await calendars_of(session)).get(client.policy.holiday_calendar))
            if due is not None and (ctx.case.next_follow_up_at is None or ctx.case.next_follow_up_at > due):
                ctx.case.next_follow_up_at = due
        if result.status is not PromiseStatus.PENDING:
            closing.append(promise.id)
    await session.flush()
    counts.tasks_closed = await close_open_tasks(
        session, keys=[reminder_key(i) for i in closing], prefixes=[due_key_prefix(i) for i in closing],
        status=TaskStatus.CANCELLED, now=now,
    )
    return counts


async def settle_due_promises(session: AsyncSession, *, now: dt.datetime) -> SettleCounts:
    """Settle every pending promise whose due date may have ended in some zone (UTC+14 at most)."""
    latest_due = (now + dt.timedelta(hours=14)).date()
    ids = (
        await session.execute(
            select(PromiseToPay.id)
            .where(PromiseToPay.status == PromiseStatus.PENDING, PromiseToPay.due_date < latest_due)
        )
    ).scalars().all()
    return await settle_promises(session, promise_ids=ids, now=now)


async def plan_promise_tasks(session: AsyncSession, *, now: dt.datetime) -> int:
    """Create the reminder and due-day call tasks of pending promises due soon; returns how many
    were new. Tasks already over (``due_until`` passed, e.g. after downtime) are not created."""
    policies = await repository.client_policies(session)
    contexts = await _contexts(
        session, PromiseToPay.status == PromiseStatus.PENDING, Case.status == CaseStatus.OPEN,
        PromiseToPay.due_date >= (now - dt.timedelta(days=1)).date(),
        PromiseToPay.due_date <= (now + PLAN_AHEAD).date(),
    )
    calendars = await calendars_of(session)  # as shipped and as the agency entered them
    wanted: list[NewTask] = []
    for ctx in contexts:
        promise, client = ctx.promise, policies[ctx.case.client_id]
        planned = plan(
            promise_id=promise.id, due_date=promise.due_date, amount=promise.amount, policy=client.policy,
            tz=client.zone_of(ctx.debtor_zone), calendar=calendars.get(client.calendar),
            holidays=calendars.get(client.policy.holiday_calendar),
        )
        wanted += [
            NewTask(
                case_id=promise.case_id, kind=p.kind, dedupe_key=p.dedupe_key, due_at=p.due_at, due_until=p.due_until,
                priority=p.priority, reason=p.reason, party_id=promise.party_id,
                assigned_agent_id=ctx.case.assigned_agent_id or promise.created_by_id,
            )
            for p in planned if p.due_until > now
        ]
    return await add_tasks(session, wanted, now=now)
