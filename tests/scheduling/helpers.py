"""Factories for what the scheduler reads (promises, attempts, calls, stops). They flush, never commit."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, CallOutcome, CallState, Direction
from dialer.cases.models import Case, Party, PartyRole
from dialer.compliance.models import Attempt, StopContact, StopSource
from dialer.notes.models import PromiseToPay
from dialer.tasks.models import Task

SH = ZoneInfo("Asia/Shanghai")


def sh(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SH)


async def debtor_of(session: AsyncSession, case: Case) -> Party:
    query = select(Party).where(Party.case_id == case.id, Party.role == PartyRole.DEBTOR)
    return (await session.execute(query)).scalar_one()


async def make_promise(
    session: AsyncSession, *, case: Case, due_date: dt.date, amount: str = "1000.00", created_at: dt.datetime,
    created_by_id: int | None = None, **fields: Any,
) -> PromiseToPay:
    promise = PromiseToPay(
        case_id=case.id, amount=Decimal(amount), due_date=due_date, created_at=created_at, created_by_id=created_by_id,
        **fields,
    )
    session.add(promise)
    await session.flush()
    return promise


async def make_attempt(
    session: AsyncSession, *, case: Case, at: dt.datetime, conversation: bool = False, party: Party | None = None,
) -> Attempt:
    party = party or await debtor_of(session, case)
    attempt = Attempt(
        client_id=case.client_id, case_id=case.id, party_id=party.id, started_at=at,
        outcome="answered" if conversation else "no_answer", conversation=conversation,
    )
    session.add(attempt)
    await session.flush()
    return attempt


async def make_call(
    session: AsyncSession, *, case: Case, agent_id: int, at: dt.datetime, answered: bool = False, talk_s: int = 0,
    state: CallState | None = None,
) -> Call:
    call = Call(
        direction=Direction.OUTBOUND, carrier="twilio", client_id=case.client_id, case_id=case.id, agent_id=agent_id,
        state=state or (CallState.COMPLETED if answered else CallState.NO_ANSWER),
        outcome=CallOutcome.ANSWERED if answered else CallOutcome.NO_ANSWER, requested_at=at,
        answered_at=at + dt.timedelta(seconds=10) if answered else None, talk_s=talk_s if answered else None,
        conversation=answered, carrier_call_id=f"CA{uuid.uuid4().hex}",
    )
    session.add(call)
    await session.flush()
    return call


async def make_stop(session: AsyncSession, *, case: Case, party: Party, reason: str = "客户要求停催") -> StopContact:
    stop = StopContact(client_id=case.client_id, case_id=case.id, party_id=party.id, source=StopSource.CLIENT_LIST, reason=reason)
    session.add(stop)
    await session.flush()
    return stop


async def tasks(session: AsyncSession, **filters: Any) -> list[Task]:
    query = select(Task).order_by(Task.due_at, Task.id)
    for name, value in filters.items():
        query = query.where(getattr(Task, name) == value)
    return list((await session.execute(query)).scalars())


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()
