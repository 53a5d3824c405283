"""The completeness audit finds every kind of gap for a day, and calls a clean day complete."""

from __future__ import annotations

import datetime as dt

from dialer.calls.models import Call, CallOutcome, CallState, Recording, RecordingStatus
from dialer.outbox import events, payloads
from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from recordings.completeness import audit_day
from recordings.storage import LocalStorage
from tests.archive.records import NOW, answered_call, events_of, stored_recording, wav

DAY = dt.date(2026, 11, 24)  # NOW is 12:00 that day in Shanghai
ZONE = "Asia/Shanghai"


async def _told(session, recording: Recording | None, call) -> None:
    """What the service writes when a call ends and its recording is stored."""
    await events.emit(session, EventType.CALL_COMPLETED, await payloads.call_data(session, call), at=NOW,
                      call_id=call.id, client_id=call.client_id)
    if recording is not None:
        await events.emit(session, EventType.RECORDING_STORED, payloads.recording_data(recording, call), at=NOW,
                          call_id=call.id, client_id=call.client_id, recording_id=recording.id)
    await session.flush()


async def _audit(session, storage):
    return await audit_day(session, day=DAY, zone=ZONE, storage=storage, now=NOW + dt.timedelta(days=1))


async def test_given_a_clean_day_then_complete_with_its_figures(session, tmp_path):
    storage = LocalStorage(tmp_path)
    recording = await stored_recording(session, storage)
    await _told(session, recording, await _call(session, recording))
    unanswered = await answered_call(session, outcome=CallOutcome.NO_ANSWER)
    await _told(session, None, unanswered)

    report = await _audit(session, storage)

    assert report.complete, report.gaps
    assert report.as_dict()["calls"] == 2 and report.answered == 1 and report.recordings_verified == 1


async def _call(session, recording):
    return await session.get(Call, recording.call_id)


async def test_given_a_deleted_file_and_a_corrupted_one_then_both_found(session, tmp_path):
    storage = LocalStorage(tmp_path)
    deleted = await stored_recording(session, storage, content=wav(tone=2))
    corrupted = await stored_recording(session, storage, content=wav(tone=3))
    for recording in (deleted, corrupted):
        await _told(session, recording, await _call(session, recording))
    path = tmp_path / deleted.sha256[:2] / deleted.sha256[2:4] / deleted.sha256
    path.unlink()
    path = tmp_path / corrupted.sha256[:2] / corrupted.sha256[2:4] / corrupted.sha256
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))

    report = await _audit(session, storage)

    found = {(gap.kind, gap.recording_id) for gap in report.gaps}
    assert found == {("file_missing", deleted.id), ("file_corrupt", corrupted.id)}
    assert report.recordings_verified == 0


async def test_given_answered_calls_without_a_stored_recording_then_each_reason_listed(session, tmp_path):
    storage = LocalStorage(tmp_path)
    never = await answered_call(session)
    fetching = await answered_call(session)
    failed = await answered_call(session)
    session.add_all([
        Recording(call_id=fetching.id, carrier="twilio", carrier_recording_id="RE-f", status=RecordingStatus.PENDING,
                  attempts=2, last_error="ConnectionError: carrier unreachable"),
        Recording(call_id=failed.id, carrier="twilio", carrier_recording_id="RE-x", status=RecordingStatus.FAILED,
                  attempts=8, last_error="HTTP 404"),
    ])
    for call in (never, fetching, failed):
        await _told(session, None, call)

    report = await _audit(session, storage)

    by_call = {gap.call_id: (gap.kind, gap.reason) for gap in report.gaps}
    assert by_call[never.id] == ("recording_missing", "answered, but the carrier never reported a recording")
    assert by_call[fetching.id][0] == "recording_pending" and "carrier unreachable" in by_call[fetching.id][1]
    assert by_call[failed.id] == ("recording_failed", "fetch failed 8 times: HTTP 404")


async def test_given_an_endpoint_taking_recordings_then_undelivered_ones_are_gaps(session, tmp_path):
    storage = LocalStorage(tmp_path)
    endpoint = WebhookEndpoint(url="https://archive.example/hooks", secret="whsec_x", event_types=["recording.stored"])
    session.add(endpoint)
    delivered = await stored_recording(session, storage, content=wav(tone=4))
    dead = await stored_recording(session, storage, content=wav(tone=5))
    queued_not = await stored_recording(session, storage, content=wav(tone=6))
    for recording in (delivered, dead, queued_not):
        await _told(session, recording, await _call(session, recording))
    stored_events = {e.recording_id: e for e in await _events(session)}
    session.add_all([
        Delivery(event_pk=stored_events[delivered.id].id, endpoint_id=endpoint.id, status=DeliveryStatus.DELIVERED,
                 next_attempt_at=NOW),
        Delivery(event_pk=stored_events[dead.id].id, endpoint_id=endpoint.id, status=DeliveryStatus.DEAD,
                 next_attempt_at=NOW),
    ])
    await session.flush()

    report = await _audit(session, storage)

    assert report.as_dict()["deliveries"] == {str(endpoint.id): {"delivered": 1, "dead": 1, "not_queued": 1}}
    assert {(gap.recording_id, gap.reason) for gap in report.gaps} == {
        (dead.id, "delivery dead"), (queued_not.id, "not queued for this endpoint yet")}


async def test_given_a_call_never_told_and_one_left_open_then_both_gaps(session, tmp_path):
    storage = LocalStorage(tmp_path)
    untold = await answered_call(session, outcome=CallOutcome.NO_ANSWER)
    stuck = await answered_call(session, outcome=CallOutcome.NO_ANSWER)
    stuck.state, stuck.outcome, stuck.ended_at = CallState.BRIDGED, None, None
    await session.flush()

    report = await _audit(session, storage)

    assert {(gap.kind, gap.call_id) for gap in report.gaps} == {("call_not_told", untold.id), ("call_open", stuck.id)}


async def _events(session):
    return await events_of(session, "recording.stored")


async def test_given_a_voicemail_whose_recording_failed_then_a_gap_though_nobody_answered(session, tmp_path):
    storage = LocalStorage(tmp_path)
    voicemail = await answered_call(session, outcome=CallOutcome.MISSED)
    session.add(Recording(call_id=voicemail.id, carrier="twilio", carrier_recording_id="RE-vm",
                          status=RecordingStatus.FAILED, attempts=8, last_error="HTTP 500", channels=1))
    await _told(session, None, voicemail)

    report = await _audit(session, storage)

    assert [(gap.kind, gap.call_id) for gap in report.gaps] == [("recording_failed", voicemail.id)]
    assert report.answered == 0
