"""The agent service against a real database: races the API tests cannot force."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError

from dialer.agents import service
from dialer.agents.errors import SeatTaken
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.agents.models import AgentSession, AgentState
from dialer.kit.db import session_factory, violated_unique
from tests.worklist.helpers import NOW
from tests.factories import make_seat, make_user


@pytest.mark.postgres_only
async def test_given_a_login_in_flight_at_the_seat_then_the_other_waits_and_gets_seat_taken(engine, session):
    seat = await make_seat(session)
    first, second = await make_user(session, username="a1"), await make_user(session, username="a2")
    await session.commit()
    sessions = session_factory(engine)
    as_ = [Principal(u.id, u.username, Role.AGENT, u.team, "token") for u in (first, second)]

    async with sessions() as winner, sessions() as loser:
        await service.login(winner, actor=as_[0], seat_id=seat.id, seat_code=None, now=NOW)  # flushed, not committed
        racing = asyncio.create_task(service.login(loser, actor=as_[1], seat_id=seat.id, seat_code=None, now=NOW))
        await asyncio.sleep(0.3)  # the second insert now waits on the partial unique index
        assert not racing.done()
        await winner.commit()
        with pytest.raises(SeatTaken):
            await asyncio.wait_for(racing, timeout=10)


@pytest.mark.parametrize("same", ["seat", "agent"])
async def test_given_a_second_open_session_then_the_violated_index_is_named(session, same: str) -> None:
    """A lost login race is told apart by the index it broke, by name on both databases
    (``kit.db.violated_unique``), not by the wording of the driver's message."""
    seat, other_seat = await make_seat(session), await make_seat(session)
    agent, other_agent = await make_user(session, username="b1"), await make_user(session, username="b2")
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id, state=AgentState.NOT_READY, mode="preview"))
    await session.flush()
    session.add(AgentSession(agent_id=other_agent.id if same == "seat" else agent.id,
                             seat_id=seat.id if same == "seat" else other_seat.id,
                             state=AgentState.NOT_READY, mode="preview"))
    with pytest.raises(IntegrityError) as raised:
        await session.flush()
    expected = service.SEAT_TAKEN if same == "seat" else "uq_agent_sessions_open_agent"
    assert violated_unique(raised.value, AgentSession.__table__) == expected
    await session.rollback()
