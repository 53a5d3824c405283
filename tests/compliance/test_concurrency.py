"""Many simultaneous reservations for one party never pass a cap (each in its own connection)."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dialer.agents.models import AgentSession
from dialer.cases.models import PartyRole, PhoneNumber, Relation
from dialer.compliance import service
from dialer.compliance.models import Attempt, Decision
from dialer.kit.db import create_engine, session_factory
from dialer.kit.errors import PolicyBlocked
from tests.factories import make_case, make_client, make_party, make_seat, make_user

SH = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)


async def _race(db_url: str, number_id: int, agents: list[tuple[int, int]], *, tasks: int, spread: dt.timedelta) -> list[bool]:
    # A dedicated engine with room for every task to hold its own connection at once.
    engine = create_engine(db_url, **({} if db_url.startswith("sqlite") else {"pool_size": tasks, "max_overflow": 0}))
    sessions = session_factory(engine)
    start = asyncio.Event()

    async def one(i: int) -> bool:
        agent_id, seat_id = agents[i % len(agents)]
        await start.wait()
        async with sessions() as s:
            try:
                await service.reserve(s, number_id=number_id, at=NOON + spread * i / tasks,
                                      agent_id=agent_id, seat_id=seat_id, mode="progressive")
            except PolicyBlocked:
                await s.commit()
                return False
            await s.commit()
            return True

    try:
        runners = [asyncio.create_task(one(i)) for i in range(tasks)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*runners)
    finally:
        await engine.dispose()


async def _setup(session, *, role: PartyRole, agents: int = 10):
    client = await make_client(session)
    case = await make_case(session, client=client)
    if role is PartyRole.THIRD_PARTY:
        party = await make_party(session, case=case, role=role, relation=Relation.FRIEND, numbers=("+8613900139000",))
        number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
    else:
        number = (await session.execute(select(PhoneNumber))).scalars().first()
    pairs = []
    for _ in range(agents):
        agent, seat = await make_user(session), await make_seat(session)
        session.add(AgentSession(agent_id=agent.id, seat_id=seat.id))
        pairs.append((agent.id, seat.id))
    await session.commit()
    return number, pairs


async def test_given_50_simultaneous_reservations_for_a_third_party_then_exactly_two_pass(db_url, session):
    number, agents = await _setup(session, role=PartyRole.THIRD_PARTY)

    results = await _race(db_url, number.id, agents, tasks=50, spread=dt.timedelta(minutes=5))

    assert sum(results) == 2, "the hourly cap of 2 must hold under concurrency"
    assert (await session.execute(select(func.count()).select_from(Attempt))).scalar_one() == 2
    assert (await session.execute(select(func.count()).select_from(Decision))).scalar_one() == 50


async def test_given_many_reservations_for_a_debtor_number_across_the_day_then_never_over_daily_cap(db_url, session):
    number, agents = await _setup(session, role=PartyRole.DEBTOR)

    results = await _race(db_url, number.id, agents, tasks=40, spread=dt.timedelta(hours=8))

    assert sum(results) == 6, "the debtor per-number daily cap of 6 must hold under concurrency"
    assert (await session.execute(select(func.count()).select_from(Attempt))).scalar_one() == 6
