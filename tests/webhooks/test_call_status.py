"""Twilio call-status callbacks: verified, stored once, and moving the call only forward."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from dialer.audit.models import AuditEntry
from dialer.calls.models import Call, CallOutcome, CallState, Direction
from dialer.cases.models import Party, PhoneNumber
from dialer.compliance.models import Attempt
from tests.factories import make_case
from tests.webhooks.conftest import PUBLIC, TWILIO_TOKEN
from webhooks.models import CarrierEvent

SID = "CA" + "0" * 31 + "1"
_seq = itertools.count()


async def _call(app) -> Call:
    async with app.state.container.sessions() as s:
        case = await make_case(s)
        party = (await s.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
        number = (await s.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id))).scalar_one()
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=None, state=CallState.REQUESTED,
                    client_id=case.client_id, case_id=case.id, party_id=party.id, number_id=number.id,
                    to_e164=number.e164)
        s.add(call)
        await s.flush()
        s.add(Attempt(client_id=case.client_id, case_id=case.id, party_id=party.id, number_id=number.id,
                      call_id=call.id, started_at=call.requested_at))
        await s.commit()
        return call


async def _post(api, call_id, status, *, sequence=None, token=TWILIO_TOKEN, signed=True, **extra):
    path = f"/webhooks/twilio/call-status?call_id={call_id}"
    params = {"CallSid": SID, "CallStatus": status, "SequenceNumber": str(next(_seq) if sequence is None else sequence),
              "AccountSid": "AC" + "0" * 32, **extra}
    headers = {}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return await api.post(path, data=params, headers=headers)


async def _load(app, call_id) -> tuple[Call, Attempt]:
    """The call and its attempt once the inbox has applied every stored callback."""
    await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        call = await s.get(Call, call_id)
        attempt = (await s.execute(select(Attempt).where(Attempt.call_id == call_id))).scalar_one()
        return call, attempt


async def test_given_signed_callbacks_in_order_then_call_answered_and_completed_with_times(app, api):
    call = await _call(app)
    for n, status in enumerate(["initiated", "ringing", "in-progress"]):
        assert (await _post(api, call.id, status, sequence=n)).status_code == 204
    response = await _post(api, call.id, "completed", sequence=3, CallDuration="42")
    assert response.status_code == 204

    loaded, attempt = await _load(app, call.id)
    assert loaded.state is CallState.COMPLETED and loaded.outcome is CallOutcome.ANSWERED
    assert loaded.carrier_call_id == SID
    assert loaded.dialing_at and loaded.ringing_at and loaded.answered_at and loaded.ended_at
    assert loaded.duration_s == 42 and loaded.conversation is True
    assert (attempt.outcome, attempt.conversation) == ("answered", True)


async def test_given_same_callback_delivered_twice_then_stored_and_applied_once(app, api):
    call = await _call(app)
    for _ in range(2):
        assert (await _post(api, call.id, "ringing", sequence=7)).status_code == 204
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(CarrierEvent))).scalar_one() == 1


async def test_given_callbacks_out_of_order_then_call_ends_completed_and_late_ones_are_harmless(app, api):
    call = await _call(app)
    await _post(api, call.id, "completed", sequence=3, CallDuration="5")
    await _post(api, call.id, "ringing", sequence=1)
    await _post(api, call.id, "in-progress", sequence=2)

    loaded, attempt = await _load(app, call.id)
    assert loaded.state is CallState.COMPLETED and loaded.outcome is CallOutcome.ANSWERED
    assert attempt.outcome == "answered"


async def test_given_no_answer_then_outcome_recorded_on_call_and_attempt(app, api):
    call = await _call(app)
    await _post(api, call.id, "ringing")
    await _post(api, call.id, "no-answer")
    loaded, attempt = await _load(app, call.id)
    assert loaded.state is CallState.NO_ANSWER and loaded.answered_at is None
    assert (attempt.outcome, attempt.conversation) == ("no_answer", False)


async def test_given_contradicting_end_then_refused_and_audited(app, api):
    call = await _call(app)
    await _post(api, call.id, "busy")
    await _post(api, call.id, "completed")
    loaded, _ = await _load(app, call.id)
    assert loaded.state is CallState.BUSY
    async with app.state.container.sessions() as s:
        actions = (await s.execute(select(AuditEntry.action))).scalars().all()
    assert "call.illegal_transition" in actions


@pytest.mark.parametrize("how", ["wrong_token", "unsigned"])
async def test_given_bad_signature_then_403_audited_and_nothing_stored(app, api, how):
    call = await _call(app)
    response = await _post(api, call.id, "ringing", token="someone-else", signed=how == "wrong_token")
    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(CarrierEvent))).scalar_one() == 0
        audited = (await s.execute(select(AuditEntry).where(AuditEntry.action == "webhook.bad_signature"))).scalars().all()
        loaded = await s.get(Call, call.id)
    assert len(audited) == 1 and audited[0].detail["signed"] is (how == "wrong_token")
    assert loaded.state is CallState.REQUESTED


async def test_given_signature_for_another_url_then_refused(app, api):
    call = await _call(app)
    params = {"CallSid": SID, "CallStatus": "ringing", "SequenceNumber": "0"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/elsewhere", params)
    response = await api.post(f"/webhooks/twilio/call-status?call_id={call.id}", data=params,
                              headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


async def test_given_encoded_values_then_signature_checks_and_raw_event_keeps_them_decoded(app, api):
    call = await _call(app)
    extra = {"CallerName": "张 三+&=?", "Blank": "", "ForwardedFrom": "+8613800138000"}
    assert (await _post(api, call.id, "ringing", sequence=0, **extra)).status_code == 204
    async with app.state.container.sessions() as s:
        event = (await s.execute(select(CarrierEvent))).scalar_one()
    assert {key: event.payload[key] for key in extra} == extra
    assert event.event_key == f"call:{SID}:0" and event.kind == "call_status" and event.carrier_call_id == SID


async def test_given_repeated_parameter_then_the_last_value_is_the_one_signed_and_stored(app, api):
    call = await _call(app)
    path = f"/webhooks/twilio/call-status?call_id={call.id}"
    params = {"CallSid": SID, "CallStatus": "ringing", "SequenceNumber": "0"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    body = f"CallSid={SID}&CallStatus=busy&SequenceNumber=0&CallStatus=ringing"
    response = await api.post(path, content=body, headers={"X-Twilio-Signature": signature,
                                                           "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 204
    loaded, _ = await _load(app, call.id)
    assert loaded.state is CallState.RINGING


async def test_given_body_changed_after_signing_then_refused_and_nothing_stored(app, api):
    call = await _call(app)
    path = f"/webhooks/twilio/call-status?call_id={call.id}"
    params = {"CallSid": SID, "CallStatus": "ringing", "SequenceNumber": "0"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    response = await api.post(path, data={**params, "CallStatus": "completed"}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(CarrierEvent))).scalar_one() == 0
