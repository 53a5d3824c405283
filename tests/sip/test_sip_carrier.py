"""``SipCarrier`` end to end below the service: a real media process, baresip as the agent's
softphone (600 Hz) and baresip as the party behind the "trunk" (1000 Hz), and our webhooks played
by a recording HTTP handler that serves the same TwiML the service serves and checks every
signature. The call follows the Twilio flow: the seat rings first, hears the whisper, starts the
room; the party is rung then, joins, and the two are bridged and recorded in two channels."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialer.telephony.sip.carrier import SipCarrier
from tests.sip.baresip import LOOPBACK, Account, Baresip
from dialer.telephony.carrier import PlaceCall
from tests.sip.test_baresip_harness import sipp, write_alaw_tone
from tests.sip.carrier_harness import (
    AGENT_LEG, BASE, PARTY_NUMBER, carrier_with_webhooks, media_process_in, until,
)
from tests.sip.tones import AGENT_HZ, PARTY_HZ, segments_with, speech_end

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def media_process(tmp_path: Path) -> AsyncIterator[Path]:
    async for run_dir in media_process_in(tmp_path):
        yield run_dir


async def test_given_a_seat_and_a_party_then_whispered_bridged_and_recorded_in_two_channels(
        tmp_path: Path, media_process: Path) -> None:
    async with Baresip(tmp_path / "seat", accounts=[Account("seat-a07", "dialer.local")], tone_hz=AGENT_HZ) as seat, \
            Baresip(tmp_path / "party", accounts=[Account(PARTY_NUMBER, LOOPBACK)], tone_hz=PARTY_HZ) as party:
        async with carrier_with_webhooks(tmp_path, media_process, seat_port=seat.sip_port,
                                         party_port=party.sip_port) as (carrier, hooks):
            agent = await carrier.place_call(AGENT_LEG)
            party_sid = await asyncio.wait_for(hooks.party_sid, 30)
            await party.wait_for_event("CALL_ESTABLISHED", timeout=30)
            await until(lambda: any(p["StatusCallbackEvent"] == "conference-start"
                                     for p in hooks.of("conference-status")), "the agent starting the room")
            await asyncio.sleep(3.0)  # both talk, bridged, for a while
            await carrier.hang_up(party_sid)  # the party's leg ends: the room ends, the seat is hung up too
            await until(lambda: carrier.legs[agent.carrier_call_id].is_over and carrier.legs[party_sid].is_over,
                         "both legs over")
            await seat.wait_for_event("CALL_CLOSED", timeout=15)
            await party.wait_for_event("CALL_CLOSED", timeout=15)
            await until(lambda: hooks.of("recording-status"), "the recording callback")

    assert hooks.bad_signatures == 0
    assert hooks.statuses(agent.carrier_call_id) == ["initiated", "ringing", "in-progress", "completed"]
    assert hooks.statuses(party_sid) == ["initiated", "ringing", "in-progress", "completed"]
    events = [(p["StatusCallbackEvent"], p.get("CallSid")) for p in hooks.of("conference-status")]
    # the party answers while the agent still hears the whisper: it waits in the room for the agent
    assert events[:3] == [("participant-join", party_sid), ("participant-join", agent.carrier_call_id),
                          ("conference-start", None)]
    assert ("conference-end", None) in events

    recording = hooks.of("recording-status")[0]
    assert (recording["CallSid"], recording["RecordingStatus"], recording["RecordingChannels"]) == \
        (party_sid, "completed", "2")
    audio = await SipCarrier.fetch_recording(carrier, recording["RecordingUrl"])
    wav_path = tmp_path / "call.wav"
    wav_path.write_bytes(audio)
    with wave.open(str(wav_path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
    agent_channel = segments_with(wav_path, AGENT_HZ, channel=0)
    party_channel = segments_with(wav_path, PARTY_HZ, channel=1)
    assert sum(end - start for start, end in agent_channel) > 2.0, "channel 1 holds the agent's 600 Hz"
    assert sum(end - start for start, end in party_channel) > 2.0, "channel 2 holds the party's 1000 Hz"
    assert not segments_with(wav_path, PARTY_HZ, channel=0) and not segments_with(wav_path, AGENT_HZ, channel=1)

    heard_by_seat = seat.recordings().heard
    whisper_end = speech_end(heard_by_seat)
    first_party_tone = segments_with(heard_by_seat, PARTY_HZ)[0][0]
    assert whisper_end is not None and whisper_end <= first_party_tone, "the agent heard the whisper first"
    heard_by_party = party.recordings().heard
    assert speech_end(heard_by_party) is None, "the party never heard the whisper"
    assert segments_with(heard_by_party, AGENT_HZ), "the party heard the agent"


RINGBACK_HZ = 450.0  # China's ringback tone


def _early_media_trunk(tmp_path: Path) -> Path:
    """The working directory of ``carrier_early_media.xml``: the ringback and the party's tone."""
    trunk_dir = tmp_path / "trunk"
    trunk_dir.mkdir()
    write_alaw_tone(trunk_dir / "ringback.al", RINGBACK_HZ, 1.0)
    write_alaw_tone(trunk_dir / "party.al", PARTY_HZ, 1.0)
    return trunk_dir


async def test_given_a_trunk_with_early_media_then_its_ringback_is_in_the_party_channel_before_the_answer(
        tmp_path: Path, media_process: Path) -> None:
    trunk_dir = _early_media_trunk(tmp_path)
    async with Baresip(tmp_path / "seat", accounts=[Account("seat-a07", "dialer.local")], tone_hz=AGENT_HZ) as seat, \
            sipp(trunk_dir, "carrier_early_media.xml", ring_ms="2500") as trunk:
        async with carrier_with_webhooks(tmp_path, media_process, seat_port=seat.sip_port,
                                         party_port=trunk.port) as (carrier, hooks):
            await carrier.place_call(AGENT_LEG)
            party_sid = await asyncio.wait_for(hooks.party_sid, 30)
            await until(lambda: "in-progress" in hooks.statuses(party_sid), "the trunk answering")
            await asyncio.sleep(2.0)
            await carrier.hang_up(party_sid)
            assert await trunk.exit_code() == 0, trunk.log_tail()
            await until(lambda: hooks.of("recording-status"), "the recording callback")

    assert hooks.statuses(party_sid) == ["initiated", "ringing", "in-progress", "completed"]
    wav_path = tmp_path / "call.wav"
    wav_path.write_bytes(await carrier.fetch_recording(hooks.of("recording-status")[0]["RecordingUrl"]))
    ringback = segments_with(wav_path, RINGBACK_HZ, channel=1)
    answered = segments_with(wav_path, PARTY_HZ, channel=1)
    assert ringback and answered, "both the early media and the answered party are in channel 2"
    assert sum(end - start for start, end in ringback) > 1.5
    assert ringback[0][0] < answered[0][0], "the ringback came first"
    assert not segments_with(wav_path, RINGBACK_HZ, channel=0), "channel 1 is the agent's alone"


async def test_given_a_leg_hung_up_while_queued_then_no_invite_is_sent_and_it_ends_canceled(
        tmp_path: Path, media_process: Path) -> None:
    trunk_dir = _early_media_trunk(tmp_path)
    async with sipp(trunk_dir, "carrier_early_media.xml", ring_ms="100") as trunk:
        async with carrier_with_webhooks(tmp_path, media_process, seat_port=9,
                                         party_port=trunk.port) as (carrier, hooks):
            await carrier.start()
            placed = await carrier.place_call(PlaceCall(
                call_ref="7", to_e164=PARTY_NUMBER, from_e164="+862100000000",
                twiml_url=f"{BASE}/voice/party?call_id=7", status_callback_url=f"{BASE}/call-status?call_id=7&leg=party",
                recording_callback_url=f"{BASE}/recording-status?call_id=7", record=True, timeout_s=20))
            await carrier.hang_up(placed.carrier_call_id)  # before its task has sent anything
            await until(lambda: hooks.statuses(placed.carrier_call_id) == ["canceled"], "the leg canceled")
            assert carrier.in_flight() == {"legs": 0, "invites": 0, "rooms": 0, "media_calls": 0, "callbacks": 0}
        assert trunk.process.returncode is None, "the trunk saw no INVITE (its scenario is still waiting)"
