"""Which call, and which of its legs, a carrier callback is about.

An outbound call has two legs: the agent's (the seat's softphone, ``Call.agent_leg_call_id``)
and the party's (``Call.carrier_call_id``). Only the party's leg moves the call's state; the
agent's leg is noted (and, when it ends before the party is connected, ends the call). Our
callback URLs carry ``call_id`` and ``leg``; a callback whose ``CallSid`` is neither leg of that
call is refused as unknown rather than guessed at.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call


class Leg(enum.StrEnum):
    PARTY = "party"
    AGENT = "agent"
    SUPERVISOR = "supervisor"  # a supervisor's leg in the call's conference: noted, never moves the call


LOCKED_CALLS = "webhooks.locked_calls"
"""``session.info`` key: the calls this unit of work has already locked, by id (the inbox locks a
batch's calls up front, in id order, in one statement); their rows are not read again. Held here,
too, because the session's identity map keeps its objects only while something else does."""


async def locked_call(session: AsyncSession, call_id: int, *, lock: bool = True) -> Call | None:
    """The call, its row locked for the rest of the transaction (unless ``lock`` is False): taken
    from those the unit of work locked already, or read with ``FOR UPDATE``."""
    locked = session.info.get(LOCKED_CALLS)
    if locked is not None and call_id in locked:
        return locked[call_id]
    return await session.get(Call, call_id, with_for_update=lock)


@dataclass(frozen=True, slots=True)
class Found:
    call: Call
    leg: Leg


async def find_leg(
    session: AsyncSession, *, call_id: int | None, leg: Leg | None, call_sid: str | None, lock: bool = True,
) -> Found | None:
    """The call and leg of a callback. With ``call_id`` (our URLs), the sid must be that leg's (or
    the leg's sid is not known yet: the callback came before the dialer recorded it, and the sid is
    not the other leg's). Without it, the sid is looked up on either leg."""
    if call_id is not None:
        call = await locked_call(session, call_id, lock=lock)
        if call is None:
            return None
        wanted = leg or Leg.PARTY
        if wanted is Leg.SUPERVISOR:
            return Found(call, wanted)
        own, other = ((call.agent_leg_call_id, call.carrier_call_id) if wanted is Leg.AGENT
                      else (call.carrier_call_id, call.agent_leg_call_id))
        if call_sid and own == call_sid:
            return Found(call, wanted)
        if own is None and call_sid and call_sid != other:
            if wanted is Leg.AGENT:
                call.agent_leg_call_id = call_sid
            else:
                call.carrier_call_id = call_sid
            return Found(call, wanted)
        return None
    if not call_sid:
        return None
    query = select(Call).where(
        Call.carrier == "twilio", or_(Call.carrier_call_id == call_sid, Call.agent_leg_call_id == call_sid)
    )
    if lock:
        query = query.with_for_update()
    call = (await session.execute(query)).scalars().first()
    if call is None:
        return None
    return Found(call, Leg.PARTY if call.carrier_call_id == call_sid else Leg.AGENT)
