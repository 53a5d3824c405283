"""The fake carrier records what it was asked and fails the way it is told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.telephony import CallStatus, CarrierRejected, CarrierUnavailable, PlaceCall, SupervisorMode
from dialer.telephony.fake import FakeCarrier

from .conftest import AGENCY, DEBTOR


def request(**overrides) -> PlaceCall:
    fields = {"call_ref": "call-1", "to_e164": DEBTOR, "from_e164": AGENCY, "twiml_url": "https://d.test/voice",
              "status_callback_url": "https://d.test/status", "record": False}
    return PlaceCall(**{**fields, **overrides})


async def test_given_requests_then_each_is_recorded_with_its_arguments():
    fake = FakeCarrier()
    placed = await fake.place_call(request())
    await fake.hang_up(placed.carrier_call_id)

    assert [name for name, _ in fake.requests] == ["place_call", "hang_up"]
    assert fake.requested("place_call")[0]["request"].call_ref == "call-1"
    assert fake.placed[placed.carrier_call_id].to_e164 == DEBTOR
    assert fake.calls[placed.carrier_call_id].status is CallStatus.CANCELED  # hung up before answer


async def test_given_programmed_outage_then_next_place_call_fails_without_a_call_and_the_one_after_works():
    fake = FakeCarrier()
    fake.fail_next("place_call", CarrierUnavailable("down", uncertain=False))

    with pytest.raises(CarrierUnavailable):
        await fake.place_call(request())

    assert fake.calls == {} and len(fake.requested("place_call")) == 1
    assert (await fake.place_call(request())).status is CallStatus.QUEUED


async def test_given_outage_after_effect_then_the_call_exists_for_reconciliation():
    fake = FakeCarrier()
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.fail_next("place_call", CarrierUnavailable("timed out"), after_effect=True)

    with pytest.raises(CarrierUnavailable) as err:
        await fake.place_call(request())

    assert err.value.uncertain
    [found] = await fake.find_calls(DEBTOR, since)
    assert fake.placed[found.carrier_call_id].call_ref == "call-1"


async def test_given_call_advanced_then_times_and_duration_follow():
    fake = FakeCarrier()
    placed = await fake.place_call(request())

    fake.advance(placed.carrier_call_id, "ringing")
    fake.advance(placed.carrier_call_id, CallStatus.IN_PROGRESS)
    ended = fake.advance(placed.carrier_call_id, CallStatus.COMPLETED)

    assert ended.ended and ended.started_at and ended.ended_at and ended.duration_s == 0
    with pytest.raises(ValueError):
        fake.advance(placed.carrier_call_id, "answered-ish")


async def test_given_supervisor_then_modes_and_requests_are_recorded():
    fake = FakeCarrier()
    fake.join_conference("room", "CA-agent")

    leg = await fake.add_supervisor("room", "client:sup", SupervisorMode.WHISPER, agent_call_id="CA-agent",
                                    caller_id=AGENCY, status_callback_url="https://d.test/s")
    await fake.set_supervisor_mode("room", leg, SupervisorMode.MONITOR, agent_call_id="CA-agent")

    assert fake.participant("room", leg).muted and not fake.participant("room", leg).coaching
    assert [a["mode"] for a in fake.requested("add_supervisor") + fake.requested("set_supervisor_mode")] == [
        SupervisorMode.WHISPER, SupervisorMode.MONITOR]
    with pytest.raises(CarrierRejected):
        await fake.set_supervisor_mode("room", "CA-nobody", SupervisorMode.BARGE, agent_call_id="CA-agent")


async def test_given_unknown_recording_then_rejected_and_close_is_recorded():
    fake = FakeCarrier()
    with pytest.raises(CarrierRejected):
        await fake.fetch_recording("https://fake-carrier.invalid/recordings/RE0")
    await fake.aclose()
    assert fake.closed


def test_given_bad_place_call_then_refused_at_construction():
    with pytest.raises(ValueError):
        request(timeout_s=1)
    with pytest.raises(ValueError):
        request(record=True)  # no recording callback
