"""Recordings whose callbacks never came (the service was down when the carrier told them) are
asked of the carrier and captured like any other: nothing the carrier recorded is lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.kit.db import insert_once
from dialer.outbox.models import WebhookEvent
from dialer.telephony.carrier import CallStatus, CarrierUnavailable, PlaceCall
from dialer.telephony.fake import FakeCarrier
from recordings import capture
from recordings.jobs import capture_job
from recordings.storage import LocalStorage
from tests.factories import make_case

NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.timezone.utc)


async def _answered_call_the_carrier_recorded(session, carrier: FakeCarrier, *, ended_ago: dt.timedelta) -> Call:
    placed = await carrier.place_call(PlaceCall(
        call_ref="1", to_e164="+8613800138000", from_e164="+862100000000", twiml_url="http://x/t",
        status_callback_url="http://x/s", recording_callback_url="http://x/r"))
    carrier.advance(placed.carrier_call_id, CallStatus.IN_PROGRESS)
    carrier.complete_with_recording(placed.carrier_call_id, seconds=0.5)
    case = await make_case(session)
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=placed.carrier_call_id,
                state=CallState.COMPLETED, outcome=CallOutcome.ANSWERED, case_id=case.id, client_id=case.client_id,
                answered_at=NOW - ended_ago - dt.timedelta(minutes=1), ended_at=NOW - ended_ago)
    session.add(call)
    await session.flush()
    return call


async def test_given_a_lost_callback_then_the_recording_is_recovered_stored_and_told(session, tmp_path):
    carrier = FakeCarrier()
    call = await _answered_call_the_carrier_recorded(session, carrier, ended_ago=dt.timedelta(minutes=5))

    summary = await capture_job(session, now=NOW, source=carrier, storage=LocalStorage(tmp_path), index=carrier)
    await session.commit()

    assert summary == {"recovered": 1, "stored": 1, "failed": 0, "flagged": 0}
    recording = (await session.execute(select(Recording).where(Recording.call_id == call.id))).scalar_one()
    assert recording.status is RecordingStatus.STORED and recording.channels == 2
    assert recording.carrier_recording_id == carrier.recordings_by_call[call.carrier_call_id][0].rsplit("/", 1)[1]
    told = (await session.execute(select(WebhookEvent.type).where(WebhookEvent.call_id == call.id))).scalars().all()
    assert told == ["recording.stored"]


async def test_given_the_callback_arrives_after_the_recovery_then_it_is_a_duplicate(session, tmp_path):
    carrier = FakeCarrier()
    call = await _answered_call_the_carrier_recorded(session, carrier, ended_ago=dt.timedelta(minutes=5))
    await capture.recover_unreported(session, now=NOW, index=carrier)
    [info] = await carrier.recordings_of(call.carrier_call_id)

    late = await insert_once(session, Recording, {
        "call_id": call.id, "carrier": "twilio", "carrier_recording_id": info.carrier_recording_id,
        "status": RecordingStatus.PENDING, "media_url": info.media_url}, ["carrier", "carrier_recording_id"])

    assert late is None
    assert len((await session.execute(select(Recording))).scalars().all()) == 1


async def test_given_a_call_just_ended_or_the_carrier_down_then_nothing_noted_and_tried_again_later(session):
    carrier = FakeCarrier()
    fresh = await _answered_call_the_carrier_recorded(session, carrier, ended_ago=dt.timedelta(seconds=30))
    assert await capture.recover_unreported(session, now=NOW, index=carrier) == 0
    assert carrier.requested("recordings_of") == [], "its callback may still be on its way"

    carrier.fail_next("recordings_of", CarrierUnavailable("carrier down"))
    later = NOW + dt.timedelta(minutes=5)
    assert await capture.recover_unreported(session, now=later, index=carrier) == 0
    assert await capture.recover_unreported(session, now=later, index=carrier) == 1
    assert (await session.execute(select(Recording.call_id))).scalars().all() == [fresh.id]


async def test_given_a_recording_still_processing_at_the_carrier_then_not_noted_yet(session):
    from dialer.telephony.carrier import RecordingInfo

    class Processing:
        async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]:
            return [RecordingInfo(carrier_recording_id="RE1", media_url="x", status="processing")]

    await _answered_call_the_carrier_recorded(session, FakeCarrier(), ended_ago=dt.timedelta(minutes=5))

    assert await capture.recover_unreported(session, now=NOW, index=Processing()) == 0
