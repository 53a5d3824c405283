"""The call state's owner (``dialer.calls.state``) against a real database: every move it makes is
one the lifecycle allows; what it cannot allow is refused (or ended the nearest legal way) and
audited, never silently applied."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.calls import state
from dialer.calls.lifecycle import Move
from dialer.calls.models import Call, CallOutcome, CallState, Direction

NOW = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)


async def _call(session, current: CallState, *, direction: Direction = Direction.OUTBOUND, **columns) -> Call:
    call = Call(direction=direction, carrier="twilio", state=current, requested_at=NOW - dt.timedelta(minutes=1),
                **columns)
    if current in (CallState.ANSWERED, CallState.BRIDGED):
        call.answered_at = NOW - dt.timedelta(seconds=40)
    session.add(call)
    await session.flush()
    return call


async def _refusals(session, call: Call) -> list[dict]:
    await session.flush()
    rows = await session.execute(select(AuditEntry.detail).where(
        AuditEntry.action == "call.illegal_transition", AuditEntry.entity_id == str(call.id)))
    return [detail for (detail,) in rows]


async def test_given_an_end_the_lifecycle_does_not_lead_to_then_the_call_completes_and_the_refusal_is_audited(session):
    call = await _call(session, CallState.BRIDGED, carrier_call_id="CA1", agent_leg_call_id="CA2")
    effects = await state.end(session, call, CallState.BUSY, at=NOW)
    assert (call.state, call.outcome) == (CallState.COMPLETED, CallOutcome.ANSWERED)
    [refusal] = await _refusals(session, call)
    assert (refusal["current"], refusal["target"], refusal["applied"]) == ("bridged", "busy", "completed")
    assert {e.carrier_call_id for e in effects} == {"CA1", "CA2"}, "both legs still hung up"


async def test_given_a_call_whose_party_was_never_rung_then_its_completed_end_is_canceled_not_answered(session):
    call = await _call(session, CallState.REQUESTED, agent_leg_call_id="CA2")
    await state.end(session, call, CallState.COMPLETED, at=NOW, placed=False, ended_sid="CA2")
    assert (call.state, call.outcome, call.conversation) == (CallState.CANCELED, CallOutcome.CANCELED, False)
    assert call.answered_at is None and await _refusals(session, call) == []


async def test_given_a_bridged_inbound_call_then_missing_it_is_refused_and_audited(session):
    call = await _call(session, CallState.BRIDGED, direction=Direction.INBOUND, carrier_call_id="CA3")
    assert not await state.miss(session, call, at=NOW, reason="agent_no_answer")
    assert call.state is CallState.BRIDGED
    [refusal] = await _refusals(session, call)
    assert (refusal["target"], refusal["reason"]) == ("missed", "agent_no_answer")


async def test_given_a_missed_inbound_call_then_a_late_pick_up_leaves_it_missed(session):
    call = await _call(session, CallState.RINGING, direction=Direction.INBOUND, carrier_call_id="CA4")
    assert await state.miss(session, call, at=NOW, reason="caller_hung_up")
    await state.agent_picked_up(session, call, at=NOW + dt.timedelta(seconds=1))
    assert (call.state, call.answered_at, call.bridged_at) == (CallState.MISSED, None, None)


async def test_given_a_ringing_inbound_call_then_the_pick_up_walks_it_to_bridged(session):
    call = await _call(session, CallState.RINGING, direction=Direction.INBOUND, carrier_call_id="CA5")
    await state.agent_picked_up(session, call, at=NOW)
    assert (call.state, call.answered_at, call.bridged_at) == (CallState.BRIDGED, NOW, NOW)


async def test_given_a_contradicting_move_then_it_is_refused_and_an_end_is_not_a_move(session):
    call = await _call(session, CallState.BRIDGED)
    assert await state.move(session, call, CallState.RINGING, at=NOW, event="ringing") is Move.STALE
    live = await _call(session, CallState.DIALING)
    with pytest.raises(ValueError, match="goes through calls.state.end"):
        await state.move(session, live, CallState.COMPLETED, at=NOW)
    assert live.state is CallState.DIALING
