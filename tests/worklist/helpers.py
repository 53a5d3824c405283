"""Small builders for the agents' tests (they flush, never commit)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession, AgentState
from dialer.auth.models import Role, User
from dialer.cases.models import Case, Party
from dialer.compliance.models import StopContact, StopSource
from dialer.notes.models import PromiseToPay
from tests.factories import make_case, make_seat

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)  # a Tuesday morning, inside every calling window
_numbers = iter(range(10_000_000, 99_999_999))


def mobile() -> str:
    """A fresh, valid Chinese mobile number."""
    return f"+86138{next(_numbers):08d}"


async def agent_at_seat(
    session: AsyncSession, *, team: str | None = "team-a", state: AgentState = AgentState.READY, mode: str = "preview",
) -> AgentSession:
    n = next(_numbers)
    user = User(username=f"agent{n}", display_name=f"Agent {n}", role=Role.AGENT, team=team)  # no password: fast
    session.add(user)
    seat = await make_seat(session, team=team)
    agent = AgentSession(agent_id=user.id, seat_id=seat.id, state=state, mode=mode, state_since=NOW, started_at=NOW)
    session.add(agent)
    await session.flush()
    return agent


async def queued_case(
    session: AsyncSession, *, client=None, owed: str = "10000.00", overdue_days: int = 45, team: str | None = "team-a",
    **fields,
) -> Case:
    return await make_case(session, client=client, total_owed=Decimal(owed), overdue_days=overdue_days, team=team,
                           debtor_numbers=(mobile(),), **fields)


async def promise_due(session: AsyncSession, case: Case, *, due: dt.date | None = None) -> PromiseToPay:
    promise = PromiseToPay(case_id=case.id, amount=Decimal("500.00"), due_date=due or NOW.date())
    session.add(promise)
    await session.flush()
    return promise


async def stop_debtor(session: AsyncSession, case: Case) -> StopContact:
    debtor = (await session.execute(select(Party).where(Party.case_id == case.id))).scalars().first()
    stop = StopContact(client_id=case.client_id, case_id=case.id, party_id=debtor.id, source=StopSource.CLIENT_LIST,
                       reason="client asked")
    session.add(stop)
    await session.flush()
    return stop
