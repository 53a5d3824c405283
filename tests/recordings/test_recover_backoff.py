"""A call the carrier has no recording for is asked again at growing intervals (30 s up to an
hour), not at every capture run; asked again for a week, and a call never asked is asked whatever
its age. A recording that turns up later, even for a flagged call, is still recovered and stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.outbox.models import WebhookEvent
from dialer.telephony.carrier import CallStatus, PlaceCall
from dialer.telephony.fake import FakeCarrier
from recordings import capture
from recordings.capture import ASK_AGAIN_WITHIN, RECOVER_AFTER, next_ask
from recordings.jobs import capture_job
from recordings.storage import LocalStorage
from tests.factories import make_case

NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.timezone.utc)
RUN = dt.timedelta(seconds=30)  # the capture job's period
MIN = dt.timedelta(minutes=1)


async def _answered_call(session, carrier: FakeCarrier, *, ended_at: dt.datetime) -> Call:
    """An answered call that ended at ``ended_at``, for which the carrier holds no recording."""
    placed = await carrier.place_call(PlaceCall(
        call_ref="1", to_e164="+8613800138000", from_e164="+862100000000", twiml_url="http://x/t",
        status_callback_url="http://x/s", recording_callback_url="http://x/r"))
    carrier.advance(placed.carrier_call_id, CallStatus.IN_PROGRESS)
    carrier.advance(placed.carrier_call_id, CallStatus.COMPLETED)
    case = await make_case(session)
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=placed.carrier_call_id,
                state=CallState.COMPLETED, outcome=CallOutcome.ANSWERED, case_id=case.id, client_id=case.client_id,
                answered_at=ended_at - MIN, ended_at=ended_at)
    session.add(call)
    await session.flush()
    return call


def _asked(carrier: FakeCarrier, call: Call) -> int:
    return sum(1 for args in carrier.requested("recordings_of") if args["carrier_call_id"] == call.carrier_call_id)


def test_next_ask_doubles_the_wait_from_thirty_seconds_to_an_hour():
    askable = NOW + RECOVER_AFTER
    at, waits = askable, []
    for _ in range(11):
        following = next_ask(ended_at=NOW, now=at)
        waits.append(following - at)
        at = following

    assert waits == [RUN, RUN, MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN] + [60 * MIN] * 3
    assert next_ask(ended_at=NOW, now=NOW + dt.timedelta(days=2)) == NOW + dt.timedelta(days=2, hours=1)


async def test_given_the_carrier_has_nothing_then_asked_at_growing_intervals_not_every_run(session):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=NOW)

    asked_at = []
    for run in range(4 * 120 + 1):  # four hours of capture runs, 30 s apart
        now = NOW + run * RUN
        before = _asked(carrier, call)
        assert await capture.recover_unreported(session, now=now, index=carrier) == 0
        if _asked(carrier, call) > before:
            asked_at.append(now)

    assert asked_at[0] == NOW + RECOVER_AFTER
    gaps = [later - earlier for earlier, later in zip(asked_at, asked_at[1:])]
    assert gaps == [RUN, RUN, MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, 60 * MIN, 60 * MIN]
    assert call.recording_next_ask_at == asked_at[-1] + 60 * MIN


async def test_given_a_flagged_call_whose_recording_turns_up_later_then_recovered_stored_and_unflagged(
    session, tmp_path,
):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=NOW)
    storage = LocalStorage(tmp_path)

    summaries = {}
    for run in range(70 * 2 + 1):  # 70 minutes of capture runs
        now = NOW + run * RUN
        if now == NOW + 40 * MIN:  # the carrier's own backlog clears: the recording exists from now on
            carrier.complete_with_recording(call.carrier_call_id)
        summaries[now] = await capture_job(session, now=now, source=carrier, storage=storage, index=carrier)

    assert summaries[NOW + 15 * MIN]["flagged"] == 1  # no recording 15 minutes after the call: flagged
    recovered = [now for now, summary in summaries.items() if summary["recovered"]]
    assert recovered == [NOW + 66 * MIN]  # asked at 34 min (nothing), next at 66: not at each run between
    assert summaries[NOW + 66 * MIN]["stored"] == 1
    recording = (await session.execute(select(Recording).where(Recording.call_id == call.id))).scalar_one()
    assert recording.status is RecordingStatus.STORED and recording.stored_at == NOW + 66 * MIN
    await session.refresh(call)
    assert call.recording_missing is False
    told = (await session.execute(
        select(WebhookEvent.type).where(WebhookEvent.call_id == call.id).order_by(WebhookEvent.id))).scalars().all()
    assert told == ["recording.missing", "recording.stored"]


async def test_given_a_week_of_asking_then_the_call_is_left_alone(session):
    carrier = FakeCarrier()
    call = await _answered_call(session, carrier, ended_at=NOW - ASK_AGAIN_WITHIN + 10 * MIN)
    await capture.recover_unreported(session, now=NOW, index=carrier)
    due = call.recording_next_ask_at
    assert due is not None and due - NOW == 60 * MIN

    await capture.recover_unreported(session, now=due, index=carrier)

    assert _asked(carrier, call) == 1, "due an hour later, but by then a week past its end"


async def test_given_a_call_never_asked_then_it_is_asked_once_whatever_its_age(session):
    carrier = FakeCarrier()
    old = await _answered_call(session, carrier, ended_at=NOW - dt.timedelta(days=90))  # the service was down
    carrier.complete_with_recording(old.carrier_call_id)
    forgotten = await _answered_call(session, carrier, ended_at=NOW - dt.timedelta(days=90))

    assert await capture.recover_unreported(session, now=NOW, index=carrier) == 1
    for run in range(1, 5):
        await capture.recover_unreported(session, now=NOW + run * dt.timedelta(hours=1), index=carrier)

    assert (_asked(carrier, old), _asked(carrier, forgotten)) == (1, 1)
    noted = (await session.execute(select(Recording.call_id))).scalars().all()
    assert noted == [old.id]


async def test_given_calls_waiting_their_turn_then_they_leave_the_run_to_the_calls_that_are_due(session):
    carrier = FakeCarrier()
    waiting = [await _answered_call(session, carrier, ended_at=NOW - n * MIN) for n in range(10, 13)]
    for call in waiting:
        call.recording_next_ask_at = NOW + 20 * MIN
    due = await _answered_call(session, carrier, ended_at=NOW - 3 * dt.timedelta(days=1))
    due.recording_next_ask_at = NOW - MIN
    await session.flush()

    await capture.recover_unreported(session, now=NOW, index=carrier, limit=1)

    assert [args["carrier_call_id"] for args in carrier.requested("recordings_of")] == [due.carrier_call_id]
