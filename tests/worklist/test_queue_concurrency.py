"""Concurrent hand-outs never give one case to two agents: separate sessions and connections, and
separate engines standing in for two replicas. PostgreSQL is the real test (row locks, SKIP
LOCKED); on SQLite the write transaction serialises the same code."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from dialer.cases.models import Case
from dialer.kit.db import create_engine, session_factory
from dialer.worklist import queue
from tests.worklist.helpers import NOW, agent_at_seat, queued_case
from tests.factories import make_client

AGENTS = 20


async def _hand_out(sessions, agent):
    async with sessions() as s:
        item = await queue.next_case(s, agent_session=agent, now=NOW)
        await s.commit()
        return None if item is None else item.case.id


async def _setup(session, *, cases: int):
    client = await make_client(session)
    agents = [await agent_at_seat(session) for _ in range(AGENTS)]
    for n in range(cases):
        await queued_case(session, client=client, owed=f"{1000 + n}.00")
    await session.commit()
    return agents


async def _holders(engine) -> dict[int, int]:
    async with session_factory(engine)() as s:
        rows = (await s.execute(select(Case.id, Case.held_by_agent_id).where(Case.held_by_agent_id.is_not(None)))).all()
    return dict(rows)


async def test_given_twenty_agents_asking_at_once_then_twenty_distinct_cases(engine, session):
    agents = await _setup(session, cases=AGENTS + 5)
    sessions = session_factory(engine)

    got = await asyncio.gather(*(_hand_out(sessions, agent) for agent in agents))

    assert None not in got and len(set(got)) == AGENTS
    holders = await _holders(engine)
    assert len(holders) == AGENTS and sorted(holders.values()) == sorted(a.agent_id for a in agents)


async def test_given_more_agents_than_cases_then_each_case_goes_to_one_agent_and_the_rest_get_none(engine, session):
    agents = await _setup(session, cases=7)
    sessions = session_factory(engine)

    got = await asyncio.gather(*(_hand_out(sessions, agent) for agent in agents))

    handed = [case_id for case_id in got if case_id is not None]
    assert len(handed) == 7 == len(set(handed)) and got.count(None) == AGENTS - 7


async def test_given_two_engine_instances_then_their_agents_never_share_a_case(db_url, engine, session):
    agents = await _setup(session, cases=AGENTS + 5)
    other = create_engine(db_url)
    try:
        pools = [session_factory(engine), session_factory(other)]
        got = await asyncio.gather(*(_hand_out(pools[n % 2], agent) for n, agent in enumerate(agents)))
    finally:
        await other.dispose()

    assert None not in got and len(set(got)) == AGENTS


@pytest.mark.postgres_only
async def test_given_a_hand_out_in_flight_then_another_passes_over_its_rows_without_waiting(engine, session):
    first, second = await agent_at_seat(session), await agent_at_seat(session)
    client = await make_client(session)
    top = await queued_case(session, client=client, owed="90000.00", overdue_days=100)
    runner_up = await queued_case(session, client=client, owed="10.00")
    await session.commit()
    sessions = session_factory(engine)

    async with sessions() as holding:
        item = await queue.next_case(holding, agent_session=first, now=NOW)  # not committed: rows stay locked
        assert item.case.id == top.id
        async with sessions() as other:
            passed = await asyncio.wait_for(queue.next_case(other, agent_session=second, now=NOW), timeout=5)
            assert passed.case.id == runner_up.id
            await other.commit()
        await holding.commit()
