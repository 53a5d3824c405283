"""The one owner of every write to an agent's state (``agent_sessions.state``, its reason, since
and the call the agent holds). Everything else asks this module.

Each move goes through the state machine (``dialer.agents.states``: an illegal move is refused
with ``IllegalTransition``, 409), is stamped with its instant, audited (``agent.state``: from,
to, reason, and the call it was for) and told to the live pages (:mod:`dialer.live`) in the
caller's unit of work. The agent's state follows
their call: dialing when a call is placed for them, on-call when it is bridged, wrap-up when it
ends (or ready / not ready when it never reached the party). The one override is a supervisor's
forced logout (:func:`force_offline`), audited as such.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository
from dialer.agents.models import AgentSession, AgentState
from dialer.agents.states import can_move, move
from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.calls.models import Call
from dialer.live import publish as live


async def transition(
    session: AsyncSession, agent: AgentSession, target: AgentState, *, now: dt.datetime, reason: str | None = None,
    actor: Principal | None = None, **detail: object,
) -> AgentState:
    """Move the agent (``IllegalTransition`` 409 when the machine refuses) and audit it; returns
    the state it left."""
    before = move(agent, target, now=now, reason=reason)
    await audit_move(session, agent, before, target, reason=reason, actor=actor, **detail)
    return before


async def start_session(session: AsyncSession, agent: AgentSession, *, now: dt.datetime,
                        actor: Principal | None, seat_code: str) -> None:
    """A new session (offline) at a seat becomes not ready: the login, then the move, audited
    once the row has its id (a lost race for the seat or the agent raises ``IntegrityError`` at
    the flush, before anything is audited)."""
    before = move(agent, AgentState.NOT_READY, now=now)
    session.add(agent)
    await session.flush()
    await audit.record(session, action="agent.login", actor=actor, entity="agent_session", entity_id=agent.id,
                       agent_id=agent.agent_id, seat_id=agent.seat_id, seat_code=seat_code, mode=agent.mode)
    await audit_move(session, agent, before, AgentState.NOT_READY, reason=None, actor=actor)


async def change_reason(session: AsyncSession, agent: AgentSession, reason: str, *, now: dt.datetime,
                        actor: Principal | None) -> None:
    """Not ready → not ready with another reason code."""
    before_reason, agent.state_reason, agent.state_since = agent.state_reason, reason, now
    await audit_move(session, agent, AgentState.NOT_READY, AgentState.NOT_READY, reason=reason, actor=actor,
                     previous_reason=before_reason)


async def dial(session: AsyncSession, agent: AgentSession, call_id: int, *, now: dt.datetime,
               reason: str | None = None) -> None:
    """A call is placed for the agent (outbound) or rings their seat (inbound): dialing, holding it."""
    await transition(session, agent, AgentState.DIALING, now=now, reason=reason, call_id=call_id)
    agent.current_call_id = call_id


async def end_session(session: AsyncSession, agent: AgentSession, *, now: dt.datetime,
                      actor: Principal | None) -> None:
    """Log out: offline, holding no call."""
    await transition(session, agent, AgentState.OFFLINE, now=now, actor=actor)
    agent.ended_at, agent.current_call_id = now, None


async def leave(session: AsyncSession, agent: AgentSession, target: AgentState, *, now: dt.datetime,
                reason: str | None, actor: Principal | None, **detail: object) -> AgentState:
    """Ready or not ready by the agent's choice; leaving wrap-up lets go of the noted call."""
    before = await transition(session, agent, target, now=now, reason=reason, actor=actor, **detail)
    if before is AgentState.WRAP_UP:
        agent.current_call_id = None
    return before


NOTED_FROM = frozenset({AgentState.WRAP_UP, AgentState.ON_CALL, AgentState.DIALING})
"""The states a saved note takes an agent out of (through wrap-up when the call's end has not been
reported yet): the note is the only way out of wrap-up."""


async def note_saved(
    session: AsyncSession, agent: AgentSession, target: AgentState, *, reason: str | None, now: dt.datetime,
    actor: Principal | None, call_id: int,
) -> None:
    """The note of the call the agent holds is saved: ready or not ready (with ``reason``), through
    wrap-up when they were still on it; the agent holds no call any more."""
    steps = [target] if agent.state is AgentState.WRAP_UP else [AgentState.WRAP_UP, target]
    for step in steps:
        await transition(session, agent, step, now=now, reason=reason if step is target else None, actor=actor,
                         call_id=call_id, cause="wrap_up_saved")
    agent.current_call_id = None


async def force_offline(session: AsyncSession, agent: AgentSession, *, now: dt.datetime, actor: Principal) -> AgentState:
    """A supervisor's forced logout: the machine's one override, from any state (a closed browser,
    a stuck desktop); audited with the state it ended. Returns that state."""
    before, call_id = AgentState(agent.state), agent.current_call_id
    agent.state, agent.state_reason, agent.state_since = AgentState.OFFLINE, "forced_logout", now
    agent.ended_at, agent.current_call_id = now, None
    await audit_move(session, agent, before, AgentState.OFFLINE, reason="forced_logout", actor=actor, call_id=call_id)
    return before


# --- following the agent's call ---------------------------------------------------------------

async def session_on_call(session: AsyncSession, call: Call) -> AgentSession | None:
    """The open agent session that holds ``call``, locked (None when the agent has moved on)."""
    if call.agent_id is None:
        return None
    agent = await repository.open_session(session, agent_id=call.agent_id, lock=True)
    return agent if agent is not None and agent.current_call_id == call.id else None


async def call_bridged(session: AsyncSession, call: Call, *, now: dt.datetime) -> None:
    """The agent is talking to the party: on call."""
    agent = await session_on_call(session, call)
    if agent is not None and can_move(AgentState(agent.state), AgentState.ON_CALL):
        await transition(session, agent, AgentState.ON_CALL, now=now, call_id=call.id)


async def call_ended(
    session: AsyncSession, call: Call, *, now: dt.datetime, placed: bool = True, seat_answered: bool = True,
) -> None:
    """The call ended. A call that was placed needs its wrap-up note; one that never reached the
    party frees the agent (not ready when their own seat did not answer, so the engine does not
    keep ringing an empty seat)."""
    agent = await session_on_call(session, call)
    if agent is None:
        return
    state = AgentState(agent.state)
    if placed:
        target, reason = AgentState.WRAP_UP, None
    elif seat_answered:
        target, reason = AgentState.READY, "call_not_placed"
    else:
        target, reason = AgentState.NOT_READY, "seat_unreachable"
    if state is AgentState.WRAP_UP or not can_move(state, target):
        return
    await transition(session, agent, target, now=now, reason=reason, call_id=call.id)
    if target is not AgentState.WRAP_UP:
        agent.current_call_id = None


async def inbound_missed(session: AsyncSession, call: Call, *, now: dt.datetime, seat_answered: bool) -> None:
    """Nobody took the inbound call: the agent whose seat rang is ready again, or not ready when
    their seat did not answer."""
    agent = await session_on_call(session, call)
    if agent is None:
        return
    target = AgentState.READY if seat_answered else AgentState.NOT_READY
    await transition(session, agent, target, now=now, reason="missed_inbound", call_id=call.id)
    agent.current_call_id = None


async def audit_move(
    session: AsyncSession, agent: AgentSession, before: AgentState, target: AgentState, *, reason: str | None,
    actor: Principal | None, **detail: object,
) -> None:
    await audit.record(session, action="agent.state", actor=actor, entity="agent_session", entity_id=agent.id,
                       agent_id=agent.agent_id, seat_id=agent.seat_id, **{"from": before.value, "to": target.value},
                       reason=reason, at=agent.state_since.isoformat(), **detail)
    live.publish(session, live.AGENT, {
        "agent_id": agent.agent_id, "session_id": agent.id, "seat_id": agent.seat_id, "from": before.value,
        "to": target.value, "reason": reason, "since": agent.state_since.isoformat(),
        "call_id": detail.get("call_id", agent.current_call_id)}, at=agent.state_since)
