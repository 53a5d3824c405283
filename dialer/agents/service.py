"""Agents at seats: log in and out, ready / not ready, preview or progressive, the supervisor board.

Every state change is made by the agent state's owner (``dialer.agents.state``): through the state
machine, stamped with its instant and audited (``agent.state``: from, to, reason), in the
request's unit of work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository, wrap_up
from dialer.agents import state as agents
from dialer.agents.errors import (
    AgentBusy,
    AlreadyLoggedIn,
    NotLoggedIn,
    ReasonRequired,
    SeatInactive,
    SeatTaken,
    WrapUpPending,
)
from dialer.agents.models import AgentSession, AgentState
from dialer.agents.states import LIVE
from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import User
from dialer.campaigns.models import DialMode
from dialer.cases import holds
from dialer.kit.db import begin_write, table_of, violated_unique
from dialer.kit.errors import NotFound
from dialer.kit.queries import required
from dialer.live import publish as live
from dialer.seats.models import Seat


SEAT_TAKEN = "uq_agent_sessions_open_seat"
"""The index that keeps one open session per seat (``agents.models.AgentSession``)."""


@dataclass(frozen=True, slots=True)
class SessionView:
    agent: AgentSession
    seat: Seat
    held_case_id: int | None = None


@dataclass(frozen=True, slots=True)
class BoardEntry:
    agent: AgentSession
    user: User
    seat: Seat
    held_case_id: int | None


async def login(
    session: AsyncSession, *, actor: Principal, seat_id: int | None, seat_code: str | None,
    mode: DialMode = DialMode.PREVIEW, now: dt.datetime,
) -> SessionView:
    """Open the agent's session at a registered, active seat; they start not ready. Logging in
    again at the same seat gives back the open session."""
    await begin_write(session)
    seat = await repository.find_seat(session, seat_id=seat_id, code=seat_code)
    if seat is None:
        raise NotFound(f"seat {seat_id if seat_id is not None else seat_code} not found")
    if not seat.active:
        raise SeatInactive(f"seat {seat.code} is retired", seat_id=seat.id)
    mine = await repository.open_session(session, agent_id=actor.user_id, lock=True)
    if mine is not None:
        if mine.seat_id == seat.id:
            return SessionView(mine, seat, await _held(session, mine, now))
        other = await session.get(Seat, mine.seat_id)
        raise AlreadyLoggedIn(f"already logged in at seat {other.code if other else mine.seat_id}; log out first",
                              seat_id=mine.seat_id)
    taken = await repository.open_session_at_seat(session, seat_id=seat.id)
    if taken is not None:
        raise SeatTaken(f"seat {seat.code} is in use by another agent", seat_id=seat.id)
    agent = AgentSession(
        agent_id=actor.user_id, seat_id=seat.id, state=AgentState.OFFLINE, mode=mode.value, started_at=now,
        state_since=now,
    )
    seat_ref, code = seat.id, seat.code  # a failed flush expires every loaded row
    try:
        await agents.start_session(session, agent, now=now, actor=actor, seat_code=code)
    except IntegrityError as exc:  # a concurrent login won the race (partial unique indexes)
        if violated_unique(exc, table_of(AgentSession)) == SEAT_TAKEN:
            raise SeatTaken(f"seat {code} is in use by another agent", seat_id=seat_ref) from exc
        raise AlreadyLoggedIn("already logged in at another seat; log out first") from exc
    return SessionView(agent, seat)


async def logout(session: AsyncSession, *, actor: Principal, now: dt.datetime) -> SessionView:
    """End the agent's session. Refused during a call or a reservation, and in wrap-up until the
    note is saved."""
    await begin_write(session)
    agent = await mine_locked(session, actor)
    if agent.state is AgentState.WRAP_UP:
        await _require_noted(session, agent)
    await agents.end_session(session, agent, now=now, actor=actor)
    await holds.release_all(session, agent_id=agent.agent_id, not_before=now + holds.WORKED_REST)  # worked cases
    await audit.record(session, action="agent.logout", actor=actor, entity="agent_session", entity_id=agent.id,
                       agent_id=agent.agent_id, seat_id=agent.seat_id)
    return SessionView(agent, await required(session, Seat, agent.seat_id))


async def set_state(
    session: AsyncSession, *, actor: Principal, state: str, reason: str | None, now: dt.datetime,
) -> SessionView:
    """Ready or not ready (with a reason code). Leaving wrap-up needs the note saved; leaving a
    reservation gives the held case back. Not ready → not ready changes the reason."""
    target = AgentState(state)
    if target is AgentState.NOT_READY and not reason:
        raise ReasonRequired("not ready needs a reason code", field="reason")
    reason = reason if target is AgentState.NOT_READY else None
    await begin_write(session)
    agent = await mine_locked(session, actor)
    current = AgentState(agent.state)
    if current is target is AgentState.READY:
        return await _view(session, agent, now)
    if current is target is AgentState.NOT_READY:
        assert reason is not None
        await agents.change_reason(session, agent, reason, now=now, actor=actor)
        return await _view(session, agent, now)
    if current is AgentState.WRAP_UP:
        await _require_noted(session, agent)
    before = await agents.leave(session, agent, target, now=now, reason=reason, actor=actor)
    if before is AgentState.RESERVED:
        await holds.release_all(session, agent_id=agent.agent_id)
    return await _view(session, agent, now)


async def set_mode(session: AsyncSession, *, actor: Principal, mode: DialMode, now: dt.datetime) -> SessionView:
    """Preview (the agent picks and dials) or progressive (the engine dials for them when ready);
    not while they hold a case or a call."""
    await begin_write(session)
    agent = await mine_locked(session, actor)
    if agent.mode != mode.value:
        if agent.state in LIVE:
            raise AgentBusy(f"the mode cannot change while the agent is {agent.state.value}", state=agent.state.value)
        before, agent.mode = agent.mode, mode.value
        await audit.record(session, action="agent.mode", actor=actor, entity="agent_session", entity_id=agent.id,
                           agent_id=agent.agent_id, seat_id=agent.seat_id, **{"from": before, "to": mode.value})
        live.publish(session, live.AGENT, {"agent_id": agent.agent_id, "session_id": agent.id, "seat_id": agent.seat_id,
                                           "to": agent.state.value, "mode": mode.value}, at=now)
    return await _view(session, agent, now)


async def current(session: AsyncSession, *, agent_id: int, now: dt.datetime) -> SessionView:
    agent = await repository.open_session(session, agent_id=agent_id)
    if agent is None:
        raise NotLoggedIn("not logged in at a seat")
    return await _view(session, agent, now)


async def board(
    session: AsyncSession, *, team: str | None, state: AgentState | None, limit: int, after: int | None,
) -> list[BoardEntry]:
    rows = await repository.list_open_sessions(session, team=team, state=state, limit=limit, after=after)
    return [BoardEntry(agent, user, seat, held) for agent, user, seat, held in rows]


async def force_logout(
    session: AsyncSession, *, agent_id: int, actor: Principal, reason: str | None, now: dt.datetime,
) -> SessionView:
    """A supervisor ends an agent's session whatever its state (a closed browser, a stuck
    desktop): an override of the state machine, audited with the state it ended. The held case
    is given back, resting (as after any call) when the agent had a call on it. A call in
    progress is left to its own lifecycle."""
    await begin_write(session)
    agent = await repository.open_session(session, agent_id=agent_id, lock=True)
    if agent is None:
        raise NotLoggedIn(f"agent {agent_id} is not logged in")
    call_id = agent.current_call_id
    before = await agents.force_offline(session, agent, now=now, actor=actor)
    await holds.release_all(session, agent_id=agent_id, not_before=now + holds.WORKED_REST if call_id else None)
    await audit.record(session, action="agent.force_logout", actor=actor, entity="agent_session", entity_id=agent.id,
                       agent_id=agent_id, seat_id=agent.seat_id, **{"from": before.value}, reason=reason,
                       call_id=call_id)
    return SessionView(agent, await required(session, Seat, agent.seat_id))


async def mine_locked(session: AsyncSession, actor: Principal) -> AgentSession:
    """The caller's open session, locked: their own concurrent requests take turns."""
    agent = await repository.open_session(session, agent_id=actor.user_id, lock=True)
    if agent is None:
        raise NotLoggedIn("not logged in at a seat")
    return agent


async def _require_noted(session: AsyncSession, agent: AgentSession) -> None:
    call_id = await wrap_up.pending_wrap_up(session, agent_id=agent.agent_id)
    if call_id is not None:
        raise WrapUpPending(f"save the wrap-up note of call {call_id} first", call_id=call_id)


async def _held(session: AsyncSession, agent: AgentSession, now: dt.datetime) -> int | None:
    case = await holds.held_case(session, agent_id=agent.agent_id, now=now, lock=False)
    return case.id if case is not None else None


async def _view(session: AsyncSession, agent: AgentSession, now: dt.datetime) -> SessionView:
    return SessionView(agent, await required(session, Seat, agent.seat_id), await _held(session, agent, now))
