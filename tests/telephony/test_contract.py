"""One contract, every carrier: the same assertions against the in-memory fake, the Twilio adapter
driving the local emulator through the real SDK, and the SIP carrier with a real media process and
a sipp party behind its trunk (``contract``).
Supervisor modes run against the fake and Twilio only (``supervised_contract``): SIP has them with
SIP part 2 (the media mixer), and until then its carrier refuses them with a reason (``sip_contract``)."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta

import pytest

from dialer.telephony import Carrier, CallStatus, CarrierRejected, SupervisorMode

from .conftest import AGENCY, DEBTOR, OTHER, RECORDED

ROOM = "case-42-call-7"
EXPECTED = {  # mode → (muted, coaching, coaching the agent)
    SupervisorMode.MONITOR: (True, False, False),
    SupervisorMode.WHISPER: (False, True, True),
    SupervisorMode.BARGE: (False, False, False),
}


def test_given_any_carrier_then_it_implements_the_protocol(contract):
    assert isinstance(contract.carrier, Carrier)


async def test_given_answered_call_then_get_call_shows_it_progressing_and_hang_up_ends_it(contract):
    carrier = contract.carrier

    placed = await carrier.place_call(contract.request(DEBTOR))

    assert placed.carrier_call_id.startswith("CA") and placed.status is CallStatus.QUEUED
    assert placed.queue_time_ms >= 0
    await contract.reach(placed.carrier_call_id, CallStatus.IN_PROGRESS)
    live = await carrier.get_call(placed.carrier_call_id)
    assert live.status is CallStatus.IN_PROGRESS and live.started_at is not None and not live.ended
    assert (live.to, live.from_, live.direction) == (DEBTOR, AGENCY, "outbound-api")

    await carrier.hang_up(placed.carrier_call_id)

    ended = await carrier.get_call(placed.carrier_call_id)
    assert ended.status is CallStatus.COMPLETED and ended.ended and ended.duration_s is not None
    await carrier.hang_up(placed.carrier_call_id)  # ending an ended call is harmless
    assert (await carrier.get_call(placed.carrier_call_id)).status is CallStatus.COMPLETED


async def test_given_live_call_then_redirect_is_accepted_and_an_ended_one_is_refused(contract):
    placed = await contract.carrier.place_call(contract.request(DEBTOR))
    await contract.reach(placed.carrier_call_id, CallStatus.IN_PROGRESS)

    await contract.carrier.redirect(placed.carrier_call_id, contract.url("/whisper?call=1"))

    await contract.carrier.hang_up(placed.carrier_call_id)
    with pytest.raises(CarrierRejected) as refused:
        await contract.carrier.redirect(placed.carrier_call_id, contract.url("/whisper?call=1"))
    assert refused.value.carrier_code == 21220


async def test_given_unknown_call_then_rejected_with_20404(contract):
    with pytest.raises(CarrierRejected) as refused:
        await contract.carrier.get_call("CA" + "0" * 32)
    assert refused.value.carrier_code == 20404 and not refused.value.retryable


@pytest.mark.parametrize("first", list(SupervisorMode))
async def test_given_supervisor_added_in_a_mode_then_participant_follows_every_mode_switch(supervised_contract, first):
    contract = supervised_contract
    carrier = contract.carrier
    agent = await contract.agent_in_conference(ROOM)

    supervisor = await carrier.add_supervisor(ROOM, "supervisor-1", first, agent_call_id=agent, caller_id=AGENCY,
                                              status_callback_url=contract.url("/supervisor-status"))

    await contract.in_room(ROOM, supervisor)
    assert supervisor.startswith("CA") and supervisor != agent

    async def state() -> tuple[bool, bool, bool]:
        muted, coaching, coached = await contract.participant(ROOM, supervisor)
        assert coached in (None, agent)
        return muted, coaching, coached == agent

    assert await state() == EXPECTED[first]
    for mode in [m for m in SupervisorMode if m is not first] + [first]:
        await carrier.set_supervisor_mode(ROOM, supervisor, mode, agent_call_id=agent)
        assert await state() == EXPECTED[mode], mode


async def test_given_whisper_to_a_leg_not_in_the_room_then_rejected_16028(supervised_contract):
    contract = supervised_contract
    agent = await contract.agent_in_conference(ROOM)
    supervisor = await contract.carrier.add_supervisor(ROOM, "supervisor-1", SupervisorMode.MONITOR,
                                                       agent_call_id=agent, caller_id=AGENCY,
                                                       status_callback_url=contract.url("/supervisor-status"))
    await contract.in_room(ROOM, supervisor)

    with pytest.raises(CarrierRejected) as refused:
        await contract.carrier.set_supervisor_mode(ROOM, supervisor, SupervisorMode.WHISPER,
                                                   agent_call_id="CA" + "0" * 32)
    assert refused.value.carrier_code == 16028


@pytest.mark.parametrize("mode", list(SupervisorMode))
async def test_given_sip_carrier_when_a_supervisor_is_added_to_a_live_call_then_refused_with_a_reason(
        sip_contract, mode):
    placed = await sip_contract.carrier.place_call(sip_contract.request(DEBTOR))
    await sip_contract.reach(placed.carrier_call_id, CallStatus.IN_PROGRESS)

    with pytest.raises(CarrierRejected) as refused:
        await sip_contract.carrier.add_supervisor(ROOM, "supervisor-1", mode, agent_call_id=placed.carrier_call_id,
                                                  caller_id=AGENCY,
                                                  status_callback_url=sip_contract.url("/supervisor-status"))

    assert refused.value.http_status == 501 and not refused.value.retryable
    assert "SIP part 2" in refused.value.detail and "mixer" in refused.value.detail
    assert (await sip_contract.carrier.get_call(placed.carrier_call_id)).status is CallStatus.IN_PROGRESS


async def test_given_recorded_call_then_fetch_recording_returns_a_dual_channel_wav(contract):
    placed = await contract.carrier.place_call(contract.request(RECORDED, record=True))
    media_url = await contract.recording_of(placed.carrier_call_id)

    audio = await contract.carrier.fetch_recording(media_url)

    with wave.open(io.BytesIO(audio), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getsampwidth() == 2 and wav.getnframes() > 0


async def test_given_calls_to_two_numbers_then_find_calls_finds_them_by_number(contract):
    since = datetime.now(UTC) - timedelta(minutes=1)
    first = await contract.carrier.place_call(contract.request(DEBTOR))
    other = await contract.carrier.place_call(contract.request(OTHER))
    second = await contract.carrier.place_call(contract.request(DEBTOR))

    found = await contract.carrier.find_calls(DEBTOR, since)

    assert {c.carrier_call_id for c in found} == {first.carrier_call_id, second.carrier_call_id}
    assert other.carrier_call_id not in {c.carrier_call_id for c in found}
    assert all(c.to == DEBTOR and c.created_at is not None for c in found)
    assert await contract.carrier.find_calls(DEBTOR, datetime.now(UTC) + timedelta(days=1)) == []
    with pytest.raises(ValueError):
        await contract.carrier.find_calls(DEBTOR, datetime.now())


async def test_given_recorded_call_then_the_carrier_lists_its_recording_as_its_callback_told_it(contract):
    placed = await contract.carrier.place_call(contract.request(RECORDED, record=True))
    media_url = await contract.recording_of(placed.carrier_call_id)

    [listed] = await contract.carrier.recordings_of(placed.carrier_call_id)

    assert listed.status == "completed" and listed.channels == 2
    assert listed.media_url.removesuffix(".wav") == media_url.removesuffix(".wav")
    assert await contract.carrier.fetch_recording(listed.media_url) == await contract.carrier.fetch_recording(
        media_url)
