"""Every call that ends is told to the integrations once, in the unit of work that ended it
(``call.completed``), with who, when and how — never a debt amount or a party's name."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from dialer.calls import state
from dialer.calls.models import Call, CallState, Direction
from dialer.cases.models import Party
from dialer.outbox.models import WebhookEvent
from tests.factories import make_case, make_seat, make_user

NOW = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)


async def _told(session) -> list[WebhookEvent]:
    await session.flush()
    return list((await session.execute(
        select(WebhookEvent).where(WebhookEvent.type == "call.completed").order_by(WebhookEvent.id))).scalars())


async def _call(session, current: CallState, *, direction: Direction = Direction.OUTBOUND) -> Call:
    case = await make_case(session, account_ref="ACC-EVT-1", debtor_name="王秘密")
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    agent, seat = await make_user(session, username="agent-evt"), await make_seat(session, code="S-EVT")
    call = Call(direction=direction, carrier="twilio", state=current, carrier_call_id="CA-EVT",
                requested_at=NOW - dt.timedelta(minutes=1), case_id=case.id, client_id=case.client_id,
                party_id=party.id, agent_id=agent.id, seat_id=seat.id)
    if current in (CallState.ANSWERED, CallState.BRIDGED):
        call.answered_at = NOW - dt.timedelta(seconds=40)
    session.add(call)
    await session.flush()
    return call


async def test_given_a_bridged_call_when_it_ends_then_told_once_with_its_context(session):
    call = await _call(session, CallState.BRIDGED)

    await state.end(session, call, CallState.COMPLETED, at=NOW)
    await state.end(session, call, CallState.COMPLETED, at=NOW + dt.timedelta(seconds=5))  # a repeated callback

    [event] = await _told(session)
    data = event.payload
    assert (event.call_id, event.client_id, event.occurred_at) == (call.id, call.client_id, NOW)
    assert event.event_id.startswith("msg_") and event.version == 1
    assert data["call"]["outcome"] == "answered" and data["call"]["talk_s"] == 40
    assert data["case"]["reference"] == "ACC-EVT-1" and data["party"] == {
        "id": call.party_id, "role": "debtor", "relation": "self"}
    assert data["agent"]["username"] == "agent-evt" and data["seat"]["code"] == "S-EVT"
    body = json.dumps(data, ensure_ascii=False)
    assert "王秘密" not in body and "15800" not in body, "no names, no debt amounts"
    assert len(body.encode()) < 20_000


async def test_given_a_call_never_placed_then_told_as_canceled_not_placed(session):
    call = await _call(session, CallState.REQUESTED)
    call.carrier_call_id = None

    await state.end(session, call, CallState.COMPLETED, at=NOW, placed=False)

    [event] = await _told(session)
    assert event.payload["call"]["state"] == "canceled" and event.payload["call"]["placed"] is False


async def test_given_inbound_calls_missed_or_completed_then_each_told(session):
    missed = await _call(session, CallState.RINGING, direction=Direction.INBOUND)
    assert await state.miss(session, missed, at=NOW, reason="caller_hung_up")

    [event] = await _told(session)
    assert event.payload["call"]["outcome"] == "missed" and event.payload["call"]["direction"] == "inbound"


async def test_given_a_refused_end_then_nothing_told(session):
    bridged = await _call(session, CallState.BRIDGED, direction=Direction.INBOUND)

    assert not await state.miss(session, bridged, at=NOW, reason="agent_no_answer")

    assert await _told(session) == []
