"""Apply a Twilio call-status event to the call it concerns (once: the event store dedupes)."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.calls.lifecycle import ENDS, TWILIO_STATUS, Move, advance, outcome_of, path
from dialer.calls.models import Call, CallOutcome, CallState
from dialer.compliance.models import Attempt
from webhooks import events

log = logging.getLogger("dialer.webhooks")

_STAMP = {
    CallState.DIALING: "dialing_at", CallState.RINGING: "ringing_at", CallState.ANSWERED: "answered_at",
    CallState.BRIDGED: "bridged_at",
}


def _event_time(params: Mapping[str, str], now: dt.datetime) -> dt.datetime:
    try:
        stamped = email.utils.parsedate_to_datetime(params["Timestamp"])
    except (KeyError, TypeError, ValueError):
        return now
    return stamped if stamped.tzinfo else now


async def receive_call_status(
    session: AsyncSession, *, params: Mapping[str, str], call_id: int | None, now: dt.datetime
) -> str:
    """Store the raw event, then move the call. Returns what happened (for logs and tests):
    ``duplicate``, ``unknown_call``, ``unknown_status`` or a :class:`Move` value."""
    call_sid = params.get("CallSid")
    stored = await events.store(session, carrier="twilio", key=events.call_status_key(params), kind="call_status",
                                params=params, call_sid=call_sid)
    if stored is None:
        return "duplicate"
    call = await _find_call(session, call_id=call_id, call_sid=call_sid)
    if call is None:
        log.warning("status callback for an unknown call (call_id=%s, CallSid=%s)", call_id, call_sid)
        return "unknown_call"
    if call.carrier_call_id is None and call_sid:
        call.carrier_call_id = call_sid  # the callback arrived before the dialer recorded the sid
    target = TWILIO_STATUS.get(params.get("CallStatus", ""))
    if target is None:
        return "unknown_status"
    steps = path(call.state, target)  # states skipped by lost or late callbacks are walked through
    if not steps:
        move = advance(call.state, target)
        if move is Move.ILLEGAL:
            await audit.record(session, action="call.illegal_transition", entity="call", entity_id=call.id,
                               current=call.state.value, event=params.get("CallStatus"), call_sid=call_sid)
            log.warning("call %s: refused %s -> %s", call.id, call.state.value, target.value)
        return move.value
    at = _event_time(params, now)
    for step in steps:
        _enter(call, step, at, params)
    if call.state in ENDS:
        await _settle_attempt(session, call)
    return Move.APPLIED.value


async def _find_call(session: AsyncSession, *, call_id: int | None, call_sid: str | None) -> Call | None:
    if call_id is not None:
        call = await session.get(Call, call_id, with_for_update=True)
        if call is not None and (call.carrier_call_id in (None, call_sid) or call.agent_leg_call_id == call_sid):
            return call
        return None
    if not call_sid:
        return None
    query = select(Call).where(Call.carrier == "twilio", Call.carrier_call_id == call_sid).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _enter(call: Call, state: CallState, at: dt.datetime, params: Mapping[str, str]) -> None:
    call.state = state
    if state in _STAMP and getattr(call, _STAMP[state]) is None:
        setattr(call, _STAMP[state], at)
    if state in ENDS:
        call.ended_at = call.ended_at or at
        call.outcome = outcome_of(state, answered_by=params.get("AnsweredBy"))
        duration = params.get("CallDuration")
        call.duration_s = int(duration) if duration and duration.isdigit() else call.duration_s
        if call.answered_at is not None:
            call.talk_s = max(0, int((call.ended_at - call.answered_at).total_seconds()))
        call.conversation = call.outcome is CallOutcome.ANSWERED
        call.error_code = params.get("ErrorCode") or call.error_code


async def _settle_attempt(session: AsyncSession, call: Call) -> None:
    """The attempt reserved for this call gets its outcome (caps count it either way)."""
    await session.execute(
        update(Attempt).where(Attempt.call_id == call.id)
        .values(outcome=call.outcome.value if call.outcome else None, conversation=call.conversation)
    )
