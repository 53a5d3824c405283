"""Apply a stored Twilio call-status event to the call it concerns (once: the inbox dedupes and
marks it processed).

The party's leg moves the call; the agent's leg only matters when it ends while the call is live:
before the party was rung the call ends as not placed, after it the party's leg is hung up (its own
callback then ends the call). Carrier actions that follow are returned, to run after commit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls import state
from dialer.calls.effects import Effect, HangUp
from dialer.calls.lifecycle import ENDS, Move, twilio_state
from dialer.calls.models import Call, CallState, Direction
from dialer.dialing import inbound, supervision
from webhooks.events import Handled, NotYet, StoredEvent
from webhooks.legs import Leg, find_leg

log = logging.getLogger("dialer.webhooks")

_SEAT_UNANSWERED = {"no-answer", "busy", "failed", "canceled"}


def _event_time(params: Mapping[str, str], now: dt.datetime) -> dt.datetime:
    try:
        stamped = email.utils.parsedate_to_datetime(params["Timestamp"])
    except (KeyError, TypeError, ValueError):
        return now
    return stamped if stamped.tzinfo else now


async def apply(session: AsyncSession, event: StoredEvent) -> Handled:
    """Move the call (or note the leg) the event is about."""
    params, call_id, leg = event.params, event.call_id, Leg(event.leg) if event.leg else None
    call_sid = params.get("CallSid")
    found = await find_leg(session, call_id=call_id, leg=leg, call_sid=call_sid)
    if found is None:
        log.warning("status callback for an unknown call leg (call_id=%s, leg=%s, CallSid=%s)", call_id, leg, call_sid)
        return Handled("unknown_call")
    status = params.get("CallStatus", "")
    target = twilio_state(status, sip_response_code=params.get("SipResponseCode"))
    if target is None:
        return Handled("unknown_status")
    at = _event_time(params, event.received_at)
    if found.leg is Leg.SUPERVISOR:  # its end ends the supervisor's time on the call
        ended = target in ENDS and await supervision.leg_ended(session, found.call, call_sid, at=at)
        return Handled("supervisor_left" if ended else "supervisor_leg")
    if found.leg is Leg.AGENT:
        return Handled("agent_leg", await _agent_leg(session, found.call, status, target, at, call_sid))
    if found.call.direction is Direction.INBOUND:
        return Handled(await _inbound(session, found.call, target, at, params))
    return await _party_leg(session, found.call, target, at, params, call_sid)


async def _party_leg(
    session: AsyncSession, call: Call, target: CallState, at: dt.datetime, params: Mapping[str, str],
    call_sid: str | None,
) -> Handled:
    if target not in ENDS or not state.reachable(call, target):
        # Forward (states skipped by lost or late callbacks walked through), stale, or refused.
        move = await state.move(session, call, target, at=at, event=params.get("CallStatus"), call_sid=call_sid)
        return Handled(move.value)
    duration = params.get("CallDuration")
    call.duration_s = int(duration) if duration and duration.isdigit() else call.duration_s
    if call.bridged_at is not None and call.hangup_by is None:
        call.hangup_by = "party"  # until the conference's leave events say otherwise
    # Ended the one way every end goes: attempt settled, agent to wrap-up, the agent's leg hung up
    # (nobody is left in an empty room).
    effects = await state.end(session, call, target, at=at, error=params.get("ErrorCode"), ended_sid=call_sid,
                              answered_by=params.get("AnsweredBy"))
    return Handled(Move.APPLIED.value, effects)


async def _inbound(
    session: AsyncSession, call: Call, target: CallState, at: dt.datetime, params: Mapping[str, str],
) -> str:
    """The caller's leg of an inbound call: our TwiML moves it; its end settles it (a talk that
    ended, or a caller who hung up before anyone answered: missed, with a callback task)."""
    if target not in ENDS:
        return Move.STALE.value
    if call.state in ENDS:
        return Move.SAME.value
    duration = params.get("CallDuration")
    call.duration_s = int(duration) if duration and duration.isdigit() else call.duration_s
    if call.state is CallState.BRIDGED:
        await inbound.finish(session, call, now=at)
    else:
        await inbound.miss(session, call, now=at, reason="caller_hung_up")
    return Move.APPLIED.value


async def _agent_leg(
    session: AsyncSession, call: Call, status: str, target: CallState, at: dt.datetime, call_sid: str | None,
) -> list[Effect]:
    if target not in ENDS or call.state in ENDS:
        return []
    if call.carrier_call_id is None and call.state is not CallState.REQUESTED:
        # The party's leg is being placed (the agent's TwiML claimed it) and its id comes with the
        # carrier's answer, which a short call can outlive: decide once it is known.
        raise NotYet(f"call {call.id}: the agent's leg ended while the party's leg was being placed")
    if call.carrier_call_id is None:  # the party was never rung: nothing to note, the agent is free
        unanswered = status in _SEAT_UNANSWERED
        return await state.end(
            session, call, CallState.CANCELED if not unanswered else CallState.FAILED, at=at, placed=False,
            seat_answered=not unanswered, ended_sid=call_sid, error="seat_" + status.replace("-", "_"),
            detail=f"the agent's leg ended ({status}) before the party was rung",
        )
    return [HangUp(call.id, call.carrier_call_id)]  # the party's own callback then ends the call
