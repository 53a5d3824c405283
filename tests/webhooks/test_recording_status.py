"""Twilio recording-status callbacks note the recording once for the capture job."""

from __future__ import annotations

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dialer.calls.models import Call, CallState, Direction, Recording, RecordingStatus
from tests.factories import make_case
from tests.webhooks.conftest import PUBLIC, TWILIO_TOKEN


async def _post(api, call_id, **params):
    path = f"/webhooks/twilio/recording-status?call_id={call_id}"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    return await api.post(path, data=params, headers={"X-Twilio-Signature": signature})


async def _call(app) -> int:
    async with app.state.container.sessions() as s:
        case = await make_case(s)
        call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id="CA9", state=CallState.COMPLETED,
                    case_id=case.id, client_id=case.client_id)
        s.add(call)
        await s.commit()
        return call.id


async def test_given_completed_recording_then_pending_row_with_media_url_once(app, api):
    call_id = await _call(app)
    params = {"CallSid": "CA9", "RecordingSid": "RE" + "a" * 32, "RecordingStatus": "completed",
              "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "a" * 32,
              "RecordingDuration": "37", "RecordingChannels": "2"}
    for _ in range(2):
        assert (await _post(api, call_id, **params)).status_code == 204
        await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        rows = (await s.execute(select(Recording))).scalars().all()
    assert len(rows) == 1
    assert rows[0].status is RecordingStatus.PENDING and rows[0].media_url.endswith(".wav")
    assert (rows[0].duration_s, rows[0].channels, rows[0].call_id) == (37, 2, call_id)


async def test_given_failed_recording_then_call_flagged(app, api):
    call_id = await _call(app)
    await _post(api, call_id, CallSid="CA9", RecordingSid="RE1", RecordingStatus="failed")
    await app.state.container.inbox.drain()
    async with app.state.container.sessions() as s:
        assert (await s.get(Call, call_id)).recording_missing is True
