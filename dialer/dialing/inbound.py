"""Inbound calls: who the caller is, which agent gets the call, and what a missed one leaves.

Routing: the case's own agent if ready, else the longest-ready agent of the case's team, else
voicemail. The chosen agent is held (dialing, with this call as theirs) while their seat rings.
Every inbound call is recorded; one nobody answered is ``missed`` and leaves a callback task for
the case, due at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import state as agents
from dialer.agents.models import AgentSession, AgentState
from dialer.calls import state
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.kit.phones import PhoneNumberError, parse_phone
from dialer.seats.models import Seat
from dialer.tasks.models import TaskKind
from dialer.tasks.repository import NewTask, add_tasks


@dataclass(frozen=True, slots=True)
class Caller:
    number: PhoneNumber | None
    party: Party | None
    case: Case | None


@dataclass(frozen=True, slots=True)
class Route:
    call: Call
    seat: Seat | None  # None: voicemail


async def identify(session: AsyncSession, from_number: str) -> Caller:
    """The party whose number is calling (the most recently worked case when several share it)."""
    try:
        e164 = parse_phone(from_number).e164
    except PhoneNumberError:  # withheld or malformed caller id: an unknown caller
        return Caller(None, None, None)
    row = (await session.execute(
        select(PhoneNumber, Party, Case).join(Party, Party.id == PhoneNumber.party_id).join(Case, Case.id == Party.case_id)
        .where(PhoneNumber.e164 == e164).order_by(Case.last_contact_at.desc().nulls_last(), Case.id.desc()).limit(1)
    )).first()
    return Caller(*row) if row else Caller(None, None, None)


async def _ready_agent(session: AsyncSession, *, agent_id: int | None = None, team: str | None = None) -> AgentSession | None:
    query = (
        select(AgentSession).join(Seat, Seat.id == AgentSession.seat_id)
        .where(AgentSession.ended_at.is_(None), AgentSession.state == AgentState.READY)
        .order_by(AgentSession.state_since).limit(1).with_for_update(skip_locked=True)
    )
    if agent_id is not None:
        query = query.where(AgentSession.agent_id == agent_id)
    elif team is not None:
        query = query.where(Seat.team == team)
    else:
        return None
    return (await session.execute(query)).scalar_one_or_none()


async def route(session: AsyncSession, *, call_sid: str, from_number: str, to_number: str, now: dt.datetime) -> Route:
    """Create the inbound call's row and pick its agent (held while their seat rings)."""
    existing = (await session.execute(
        select(Call).where(Call.carrier == "twilio", Call.carrier_call_id == call_sid))).scalar_one_or_none()
    if existing is not None:  # a repeated voice request: same answer
        seat = await session.get(Seat, existing.seat_id) if existing.seat_id else None
        return Route(existing, seat)
    caller = await identify(session, from_number)
    call = Call(direction=Direction.INBOUND, carrier="twilio", carrier_call_id=call_sid, state=CallState.REQUESTED,
                from_e164=from_number, to_e164=to_number, requested_at=now)
    if caller.case is not None and caller.party is not None and caller.number is not None:  # found together
        call.client_id, call.case_id = caller.case.client_id, caller.case.id
        call.party_id, call.number_id = caller.party.id, caller.number.id
    state.start_ringing(call, now)
    agent = None
    if caller.case is not None:
        agent = (await _ready_agent(session, agent_id=caller.case.assigned_agent_id)
                 if caller.case.assigned_agent_id else None) or await _ready_agent(session, team=caller.case.team)
    session.add(call)
    await session.flush()
    if agent is None:
        return Route(call, None)
    call.agent_id, call.seat_id = agent.agent_id, agent.seat_id
    await agents.dial(session, agent, call.id, now=now, reason="inbound")
    return Route(call, await session.get(Seat, agent.seat_id))


async def agent_answered(session: AsyncSession, call: Call, *, now: dt.datetime) -> None:
    """The agent picked up (their whisper is being fetched): answered and bridged."""
    await state.agent_picked_up(session, call, at=now)


async def finish(session: AsyncSession, call: Call, *, now: dt.datetime, talked_s: int | None = None) -> None:
    """The agent's conversation ended: completed, counted as a conversation with the party."""
    if not await state.complete_inbound(session, call, at=now, talked_s=talked_s):
        return
    if call.party_id is not None:
        case = await session.get(Case, call.case_id)
        if case is not None:
            case.last_contact_at = now


async def miss(session: AsyncSession, call: Call, *, now: dt.datetime, reason: str) -> None:
    """Nobody took the call: ``missed``, the held agent freed, and a callback task for the case."""
    if not await state.miss(session, call, at=now, reason=reason):
        return
    if call.case_id is not None:
        case = await session.get(Case, call.case_id)
        await add_tasks(session, [NewTask(
            case_id=call.case_id, party_id=call.party_id, kind=TaskKind.CALLBACK, dedupe_key=f"callback:call:{call.id}",
            due_at=now, priority=90, reason=f"missed inbound call from {call.from_e164} ({reason})",
            assigned_agent_id=case.assigned_agent_id if case else None,
        )], now=now)
