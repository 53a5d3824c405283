"""The agent's state follows their call: dialing → on-call when bridged → wrap-up when it ends.

Called inside the unit of work that moves the call (a webhook, the dial service), so the call and
the agent never disagree after a commit. Every move is audited with the call it was for.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents import repository
from dialer.agents.service import transition
from dialer.agents.states import can_move
from dialer.calls.models import Call
from dialer.seats.models import AgentSession, AgentState


async def session_on_call(session: AsyncSession, call: Call) -> AgentSession | None:
    """The open agent session that holds ``call`` (None when the agent has moved on)."""
    if call.agent_id is None:
        return None
    agent = await repository.open_session(session, agent_id=call.agent_id, lock=True)
    return agent if agent is not None and agent.current_call_id == call.id else None


async def on_bridged(session: AsyncSession, call: Call, *, now: dt.datetime) -> None:
    agent = await session_on_call(session, call)
    if agent is not None and can_move(AgentState(agent.state), AgentState.ON_CALL):
        await transition(session, agent, AgentState.ON_CALL, now=now, call_id=call.id)


async def on_ended(
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
