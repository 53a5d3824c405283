"""The one owner of every write to a call's state: entering a state (with its time stamp), ending
a call (outcome, the reserved attempt settled, the agent to wrap-up, the case's hold), the party's
leg claimed once, a leg's carrier id recorded. Everything else asks this module; the machine
itself is ``dialer.calls.lifecycle`` (pure).

Carrier events only move a call forward. States skipped by a lost or late event are walked
through; an event for a state the call has passed is stale (not applied); a move the machine
does not allow is refused, logged and audited (``call.illegal_transition``), never applied.
Carrier actions that follow (hang up the other leg) are returned as values, to run after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dialer.agents import state as agents
from dialer.audit import service as audit
from dialer.calls.effects import Effect, HangUp
from dialer.calls.lifecycle import ENDS, Move, advance, outcome_of, path
from dialer.calls.models import Call, CallOutcome, CallState
from dialer.cases import holds
from dialer.compliance.models import Attempt, AttemptSource
from dialer.kit.db import rowcount, table_of
from dialer.live import publish as live
from dialer.outbox import events, payloads
from dialer.outbox.models import EventType

log = logging.getLogger("dialer.calls")

NOT_PLACED = "not_placed"
"""An attempt whose party was never rung (the seat did not answer, the carrier refused the leg):
not an outcome any policy counts."""

_STAMP = {
    CallState.DIALING: "dialing_at", CallState.RINGING: "ringing_at", CallState.ANSWERED: "answered_at",
    CallState.BRIDGED: "bridged_at",
}


def _enter(call: Call, state: CallState, at: dt.datetime, *, answered_by: str | None = None) -> None:
    """Put the call in ``state`` (one step the lifecycle allows), stamping its time."""
    call.state = state
    if state in _STAMP and getattr(call, _STAMP[state]) is None:
        setattr(call, _STAMP[state], at)
    if state in ENDS:
        call.ended_at = call.ended_at or at
        call.outcome = outcome_of(state, answered_by=answered_by)
        if call.answered_at is not None:
            call.talk_s = max(0, int((call.ended_at - call.answered_at).total_seconds()))
        call.conversation = call.outcome is CallOutcome.ANSWERED


def _told(session: AsyncSession, call: Call, at: dt.datetime) -> None:
    """The call's new state, to the live pages (in the unit of work that moved it)."""
    live.publish(session, live.CALL, {"call_id": call.id, "agent_id": call.agent_id, "state": call.state.value,
                                      "direction": call.direction.value, "client_id": call.client_id}, at=at)


async def _report_end(session: AsyncSession, call: Call, at: dt.datetime) -> None:
    """Every call that ends — outbound or inbound, answered, missed or never placed — is told to
    the integrations (``call.completed``), in the unit of work that ended it."""
    await events.emit(session, EventType.CALL_COMPLETED, await payloads.call_data(session, call), at=at,
                      client_id=call.client_id, call_id=call.id)


def reachable(call: Call, target: CallState) -> bool:
    """Whether the lifecycle leads from where the call is to ``target``."""
    return bool(path(call.state, target))


async def move(session: AsyncSession, call: Call, target: CallState, *, at: dt.datetime, **cause: object) -> Move:
    """Move a live call forward to ``target``, walking any states skipped; an end the call can
    reach goes through :func:`end` instead (``ValueError``). A move the lifecycle does not allow is
    refused, logged and audited with ``cause`` (the event's details); a stale one is not applied."""
    steps = path(call.state, target)
    if steps and target in ENDS:
        raise ValueError(f"call {call.id}: ending in {target.value} goes through calls.state.end")
    if steps:
        for step in steps:
            _enter(call, step, at)
        _told(session, call, at)
        return Move.APPLIED
    verdict = advance(call.state, target)
    if verdict is Move.ILLEGAL:
        await _refused(session, call, target, **cause)
    return verdict


async def _refused(session: AsyncSession, call: Call, target: CallState, **detail: object) -> None:
    await audit.record(session, action="call.illegal_transition", entity="call", entity_id=call.id,
                       current=call.state.value, target=target.value, **detail)
    log.warning("call %s: refused %s -> %s", call.id, call.state.value, target.value)


def start_ringing(call: Call, at: dt.datetime) -> None:
    """A new inbound call: the caller's leg is ringing us."""
    _enter(call, CallState.RINGING, at)


async def bridge(session: AsyncSession, call: Call, *, at: dt.datetime) -> bool:
    """The agent and the party are both in the conference: bridged (walking what was skipped), and
    the agent on call. False when the call is past bridging (its end reported first: the bridge is
    still stamped)."""
    steps = path(call.state, CallState.BRIDGED)
    if steps:
        for step in steps:
            _enter(call, step, at)
        _told(session, call, at)
        await agents.call_bridged(session, call, now=at)
        return True
    if call.bridged_at is None and call.answered_at is not None:
        call.bridged_at = at
    return False


async def agent_picked_up(session: AsyncSession, call: Call, *, at: dt.datetime) -> None:
    """An inbound call's agent picked up (their whisper is being fetched): answered and bridged,
    the agent on call. A call that has ended (the caller hung up first) stays ended."""
    if await move(session, call, CallState.BRIDGED, at=at, event="agent_picked_up") in (Move.APPLIED, Move.SAME):
        await agents.call_bridged(session, call, now=at)


_SETTLE = (
    update(Attempt).where(Attempt.call_id == bindparam("settled_call"))
    .values(outcome=bindparam("settled_outcome"), conversation=bindparam("settled_conversation"))
    .execution_options(synchronize_session=False)
)


async def settle_attempt(session: AsyncSession, call: Call, *, placed: bool = True) -> None:
    """The attempt reserved for this call gets its outcome (caps count it either way)."""
    outcome = (call.outcome.value if call.outcome else None) if placed else NOT_PLACED
    await session.execute(_SETTLE, {"settled_call": call.id, "settled_outcome": outcome,
                                    "settled_conversation": call.conversation})


async def end(
    session: AsyncSession, call: Call, end: CallState, *, at: dt.datetime, placed: bool = True,
    seat_answered: bool = True, error: str | None = None, detail: str | None = None, ended_sid: str | None = None,
    answered_by: str | None = None,
) -> list[Effect]:
    """End a live call in ``end`` (walking any skipped states), the one way every outbound call
    ends whoever notices first (a callback, the API, the reconciler): outcome, the reserved attempt
    settled, the agent to wrap-up (or freed when the party was never rung, their case's hold back
    to the card's), and the legs still up to hang up (not ``ended_sid``, the leg whose end is
    being reported)."""
    if call.state in ENDS:
        return []
    if not placed and end is CallState.COMPLETED:  # the agent's leg completed, the party never rung:
        end = CallState.CANCELED  # not an answered call (no outcome, no conversation to count)
    steps = path(call.state, end)
    if not steps:  # an end the lifecycle does not lead to from here (busy after an answer, say)
        fallback = CallState.COMPLETED if call.state in (CallState.ANSWERED, CallState.BRIDGED) else CallState.FAILED
        await _refused(session, call, end, applied=fallback.value, error=error)
        steps = path(call.state, fallback)
    for step in steps:
        _enter(call, step, at, answered_by=answered_by)
    _told(session, call, at)
    call.error_code = error or call.error_code
    call.error_detail = detail or call.error_detail
    await settle_attempt(session, call, placed=placed)
    await agents.call_ended(session, call, now=at, placed=placed, seat_answered=seat_answered)
    if not placed and call.case_id is not None and call.agent_id is not None:  # no call, no note: the card's hold
        await holds.renew_hold(session, case_id=call.case_id, agent_id=call.agent_id, now=at)
    await _report_end(session, call, at)
    return [HangUp(call.id, sid) for sid in (call.agent_leg_call_id, call.carrier_call_id) if sid and sid != ended_sid]


async def complete_inbound(session: AsyncSession, call: Call, *, at: dt.datetime, talked_s: int | None = None) -> bool:
    """An inbound conversation ended: completed, and counted as a conversation with the caller
    (an inbound attempt, never one the caps count as placed). False when it was not bridged."""
    if call.state is not CallState.BRIDGED:
        return False
    _enter(call, CallState.COMPLETED, at)
    _told(session, call, at)
    if talked_s is not None:
        call.talk_s = talked_s
    call.hangup_by = call.hangup_by or "party"
    if call.party_id is not None:
        session.add(Attempt(client_id=call.client_id, case_id=call.case_id, party_id=call.party_id,
                            number_id=call.number_id, call_id=call.id, started_at=call.requested_at,
                            outcome="answered", conversation=True, direction="inbound", source=AttemptSource.DIALER))
    await agents.call_ended(session, call, now=at)
    await _report_end(session, call, at)
    return True


async def miss(session: AsyncSession, call: Call, *, at: dt.datetime, reason: str) -> bool:
    """Nobody took the inbound call: ``missed``, the agent whose seat rang freed. False when it had
    ended already, or was bridged (a conversation is not missed: refused and audited; its own end
    completes it)."""
    if call.state in ENDS:
        return False
    if not reachable(call, CallState.MISSED):
        await _refused(session, call, CallState.MISSED, reason=reason)
        return False
    for step in path(call.state, CallState.MISSED):
        _enter(call, step, at)
    _told(session, call, at)
    call.error_detail = reason
    await agents.inbound_missed(session, call, now=at, seat_answered=reason != "agent_no_answer")
    await _report_end(session, call, at)
    return True


async def claim_party_leg(session: AsyncSession, call: Call, *, now: dt.datetime) -> bool:
    """The agent's leg is up: move the call requested → dialing, once (a repeated TwiML fetch does
    not ring the party twice). True when this request should place the party's leg."""
    result = await session.execute(
        update(Call).where(Call.id == call.id, Call.state == CallState.REQUESTED)
        .values(state=CallState.DIALING, dialing_at=now).execution_options(synchronize_session=False)
    )
    claimed = bool(rowcount(result))
    if claimed:
        call.state, call.dialing_at = CallState.DIALING, now
        _told(session, call, now)
    return claimed


_CALLS = table_of(Call)


@functools.cache
def _record_sid(leg: str) -> Update:
    column = _CALLS.c.agent_leg_call_id if leg == "agent" else _CALLS.c.carrier_call_id
    return (
        update(_CALLS).where(_CALLS.c.id == bindparam("call_id"), column.is_(None))
        .values({column: bindparam("sid")}).returning(_CALLS.c.state)
    )


_STATE = select(_CALLS.c.state).where(_CALLS.c.id == bindparam("call_id"))


async def record_leg_id(connection: AsyncConnection, call_id: int, *, leg: str, sid: str) -> CallState | None:
    """HOT PATH (bench/dialer.py): every progressive dial passes here twice. A leg was placed: its
    carrier id is written once, in one statement (the call is not loaded); returns the call's state
    (None for a call that is gone), so a call that ended meanwhile has the leg hung up."""
    parameters = {"call_id": call_id, "sid": sid}
    state = (await connection.execute(_record_sid(leg), parameters)).scalar_one_or_none()
    if state is None:  # gone, or the leg's id was written already: only its state matters
        state = (await connection.execute(_STATE, parameters)).scalar_one_or_none()
    return None if state is None else CallState(state)
