"""The wrap-up rule's one owner: which call an agent still owes a note for.

An agent's last *placed* call — its party's leg placed (``carrier_call_id``) and the call past
``requested``/``blocked`` — needs its wrap-up note before the agent may dial again (the policy
rule ``wrap_up_first``, read inside every reservation) or leave wrap-up (the agents' and the
notes' services). A call that never rang the party (the seat did not answer, the carrier refused
a leg) needs none.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, ScalarSelect, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dialer.agents.models import AgentSession, AgentState
from dialer.calls.models import Call, CallState
from dialer.kit.sql import constant, integer
from dialer.notes.models import WrapUpNote

UNPLACED = (CallState.REQUESTED, CallState.BLOCKED)
"""Calls that never reached the carrier: nobody was called, nothing to note before dialing again."""


def _placed_by(agent_id: ColumnElement[int] | int) -> tuple[ColumnElement[bool], ...]:
    # The states are written into the SQL, not bound: the reservation's prepared statement keeps
    # one generic plan on PostgreSQL (``dialer.kit.sql``).
    return (Call.agent_id == agent_id, Call.carrier_call_id.is_not(None),
            *(Call.state != constant(state.value) for state in UNPLACED))


def last_placed_call(agent_id: ColumnElement[int]) -> ScalarSelect[int]:
    """HOT PATH (bench/policy.py, bench/dialer.py: inside every reservation's one read). The id of
    the agent's last placed call, as a scalar subquery on ``agent_id``."""
    return (
        select(Call.id).where(*_placed_by(agent_id))
        .order_by(Call.requested_at.desc(), Call.id.desc()).limit(integer(1)).scalar_subquery()
    )


def noted(call_id: ColumnElement[int] | InstrumentedAttribute[int]) -> Exists:
    """Whether the call ``call_id`` has its wrap-up note."""
    return exists().where(WrapUpNote.call_id == call_id)


async def pending_wrap_up(session: AsyncSession, *, agent_id: int) -> int | None:
    """The id of the agent's call that still needs its wrap-up note, or None: the call their open
    session is wrapping up, else their last placed call, when it has no note. Saving that note is
    the only way out of wrap-up."""
    wrapping = (
        select(Call.id)
        .join(AgentSession, AgentSession.current_call_id == Call.id)
        .where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None),
               AgentSession.state == AgentState.WRAP_UP, ~noted(Call.id))
    )
    found = (await session.execute(wrapping)).scalar_one_or_none()
    if found is not None:
        return found
    last = (
        await session.execute(
            select(Call.id, noted(Call.id).label("noted")).where(*_placed_by(agent_id))
            .order_by(Call.requested_at.desc(), Call.id.desc()).limit(1)
        )
    ).first()
    return last.id if last is not None and not last.noted else None
