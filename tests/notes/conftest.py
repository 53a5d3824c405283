"""A case with a debtor and a third party, an agent at a seat wrapping up a call, a fixed clock."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialer.agents.models import AgentSession, AgentState
from dialer.auth.models import Role
from dialer.calls.models import Call, CallOutcome, CallState, Direction
from dialer.cases.models import Party, PartyRole, PhoneNumber, Relation
from tests.factories import make_case, make_client, make_party, make_seat, make_user

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)  # a Tuesday morning


@dataclass
class World:
    case_id: int
    client_id: int
    debtor_id: int
    debtor_number_id: int
    friend_id: int
    friend_number_id: int
    agent_id: int
    session_id: int  # the agent's open session at their seat
    call_id: int  # the agent's answered call to the debtor, which they are wrapping up


@pytest.fixture
def clock(app, headers):
    """Requested after ``headers``: tokens are issued on the real clock, requests run on NOW."""
    app.state.container.clock = lambda: NOW
    return NOW


async def add_call(
    s, *, world: World, party: str = "debtor", state: CallState = CallState.COMPLETED,
    outcome: CallOutcome | None = CallOutcome.ANSWERED, agent_id: int | None = None, minutes_ago: int = 5,
    **fields: Any,
) -> Call:
    """A call placed by the world's agent (or ``agent_id``) to the debtor or the friend."""
    party_id, number_id = (
        (world.debtor_id, world.debtor_number_id) if party == "debtor" else (world.friend_id, world.friend_number_id)
    )
    number = await s.get(PhoneNumber, number_id)
    started = NOW - dt.timedelta(minutes=minutes_ago)
    ended = state in (CallState.COMPLETED, CallState.NO_ANSWER, CallState.BUSY, CallState.FAILED)
    call = Call(
        direction=Direction.OUTBOUND, carrier="twilio", state=state, outcome=outcome, client_id=world.client_id,
        case_id=world.case_id, party_id=party_id, number_id=number_id, agent_id=agent_id or world.agent_id,
        to_e164=number.e164, from_e164="+861088886666", requested_at=started,
        carrier_call_id=f"CA{uuid.uuid4().hex}",  # the party's leg was placed
        answered_at=started + dt.timedelta(seconds=20) if outcome is CallOutcome.ANSWERED else None,
        ended_at=started + dt.timedelta(minutes=3) if ended else None,
        **fields,
    )
    s.add(call)
    await s.flush()
    return call


@pytest.fixture
async def world(app, users, clock) -> World:
    agent = users["agent"]
    async with app.state.container.sessions() as s:
        client = await make_client(s, code="CMB")
        case = await make_case(s, client=client, assigned_agent=agent, total_owed=Decimal("15800.00"))
        debtor = (await s.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
        friend = await make_party(s, case=case, name="李四", role=PartyRole.THIRD_PARTY, relation=Relation.FRIEND,
                                  numbers=("+8613900139000",))
        debtor_number = (await s.execute(select(PhoneNumber).where(PhoneNumber.party_id == debtor.id))).scalar_one()
        friend_number = (await s.execute(select(PhoneNumber).where(PhoneNumber.party_id == friend.id))).scalar_one()
        seat = await make_seat(s)
        w = World(case.id, client.id, debtor.id, debtor_number.id, friend.id, friend_number.id, agent.id, 0, 0)
        call = await add_call(s, world=w)
        agent_session = AgentSession(agent_id=agent.id, seat_id=seat.id, state=AgentState.WRAP_UP,
                                     current_call_id=call.id, state_since=NOW - dt.timedelta(minutes=2))
        s.add(agent_session)
        await s.flush()
        w.session_id, w.call_id = agent_session.id, call.id
        await s.commit()
    return w


@pytest.fixture
async def db(app):
    """A fresh session on the app's database, for setting up and looking at rows."""
    async with app.state.container.sessions() as s:
        yield s


async def other_agent_headers(app, *, team: str | None) -> tuple[int, dict[str, str]]:
    container = app.state.container
    async with container.sessions() as s:
        user = await make_user(s, role=Role.AGENT, team=team)
        await s.commit()
    token, _ = container.tokens.issue(user_id=user.id, role=user.role, now=dt.datetime.now(dt.timezone.utc))
    return user.id, {"Authorization": f"Bearer {token}"}
