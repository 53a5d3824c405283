"""After a restart, a call that ended before the process started is asked of the carrier at the
first capture run, not ``RECOVER_AFTER`` later: its recording's callback went to the process that
died, and the floor is clean within a minute of a restart with every recording fetched (#18)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.calls.models import Recording, RecordingStatus
from dialer.telephony.fake import FakeCarrier
from recordings.jobs import capture_job
from recordings.storage import LocalStorage
from tests.recordings.test_recover_backoff import NOW, _answered_call, _asked

STARTED = NOW + dt.timedelta(seconds=20)  # the process came back 20 s after the call ended
FIRST_RUN = STARTED + dt.timedelta(seconds=5)


async def test_given_a_call_that_ended_before_the_restart_when_the_first_run_comes_then_its_recording_is_stored(
        session, tmp_path):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=NOW)
    carrier.complete_with_recording(call.carrier_call_id)

    summary = await capture_job(session, now=FIRST_RUN, source=carrier, storage=LocalStorage(tmp_path),
                                index=carrier, started_at=STARTED)

    assert (summary["recovered"], summary["stored"]) == (1, 1)
    recording = (await session.execute(select(Recording).where(Recording.call_id == call.id))).scalar_one()
    assert recording.status is RecordingStatus.STORED


async def test_given_a_call_that_ended_after_the_restart_then_it_waits_for_its_callback_as_usual(session, tmp_path):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=STARTED + dt.timedelta(seconds=1))
    carrier.complete_with_recording(call.carrier_call_id)

    summary = await capture_job(session, now=FIRST_RUN, source=carrier, storage=LocalStorage(tmp_path),
                                index=carrier, started_at=STARTED)

    assert summary["recovered"] == 0 and _asked(carrier, call) == 0


async def test_given_an_unfinished_recording_at_the_restart_then_asked_again_thirty_seconds_later(session, tmp_path):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=NOW)
    storage = LocalStorage(tmp_path)

    first = await capture_job(session, now=FIRST_RUN, source=carrier, storage=storage, index=carrier,
                              started_at=STARTED)
    carrier.complete_with_recording(call.carrier_call_id)  # the carrier finishes processing it
    early = await capture_job(session, now=FIRST_RUN + dt.timedelta(seconds=10), source=carrier, storage=storage,
                              index=carrier, started_at=STARTED)
    second = await capture_job(session, now=FIRST_RUN + dt.timedelta(seconds=30), source=carrier, storage=storage,
                               index=carrier, started_at=STARTED)

    assert (first["recovered"], early["recovered"], second["recovered"], second["stored"]) == (0, 0, 1, 1)
    assert _asked(carrier, call) == 2
