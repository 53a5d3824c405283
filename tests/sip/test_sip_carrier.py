"""``SipCarrier`` end to end below the service: a real media process, baresip as the agent's
softphone (600 Hz) and baresip as the party behind the "trunk" (1000 Hz), and our webhooks played
by a recording HTTP handler that serves the same TwiML the service serves and checks every
signature. The call follows the Twilio flow: the seat rings first, hears the whisper, starts the
room; the party is rung then, joins, and the two are bridged and recorded in two channels."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

from dialer.settings import REPO_ROOT
from dialer.telephony.carrier import PlaceCall
from dialer.telephony.sip.carrier import SipCarrier
from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.media_link import socket_path
from dialer.telephony.tts import EspeakSpeaker
from tests.sip.baresip import LOOPBACK, Account, Baresip, free_port
from tests.sip.tones import AGENT_HZ, PARTY_HZ, dominant_tones, mean_square, read_wav, segments_with

pytestmark = pytest.mark.timeout(90)

SECRET = "carrier-test-secret-0123456789abcdef"
BASE = "http://dialer.test/webhooks/twilio"
PARTY_NUMBER = "+8613800000001"
WHISPER = "您好，这是一条测试提示。"


@dataclass
class Webhooks:
    """Our webhooks' side: TwiML for the two legs, and every callback kept (after its signature
    checked out); the agent's TwiML fetch rings the party, as the service does after its commit."""

    carrier: SipCarrier | None = None
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    party_sid: asyncio.Future[str] | None = None
    bad_signatures: int = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        url = str(request.url)
        if not RequestValidator(SECRET).validate(url, params, request.headers.get("X-Twilio-Signature", "")):
            self.bad_signatures += 1
            return httpx.Response(403)
        path = urlsplit(url).path.rsplit("/", 1)[-1]
        if path == "agent":
            asyncio.get_running_loop().create_task(self._ring_party())
            return _twiml(f'<Say language="cmn-CN">{WHISPER}</Say>' + _conference(starts=True))
        if path == "party":
            return _twiml(_conference(starts=False))
        self.callbacks.append((path, params))
        return httpx.Response(204)

    async def _ring_party(self) -> None:
        assert self.carrier is not None and self.party_sid is not None
        placed = await self.carrier.place_call(PlaceCall(
            call_ref="1", to_e164=PARTY_NUMBER, from_e164="+862100000000", twiml_url=f"{BASE}/voice/party?call_id=1",
            status_callback_url=f"{BASE}/call-status?call_id=1&leg=party",
            recording_callback_url=f"{BASE}/recording-status?call_id=1", record=True, timeout_s=20))
        self.party_sid.set_result(placed.carrier_call_id)

    def statuses(self, sid: str) -> list[str]:
        return [p["CallStatus"] for kind, p in self.callbacks if kind == "call-status" and p["CallSid"] == sid]

    def of(self, kind: str) -> list[dict[str, str]]:
        return [p for k, p in self.callbacks if k == kind]


def _conference(*, starts: bool) -> str:
    return (f'<Dial><Conference startConferenceOnEnter="{str(starts).lower()}" endConferenceOnExit="true" '
            f'statusCallback="{BASE}/conference-status?call_id=1" statusCallbackEvent="start end join leave">'
            "call-1</Conference></Dial>")


def _twiml(body: str) -> httpx.Response:
    return httpx.Response(200, text=f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
                          headers={"content-type": "application/xml"})


@pytest.fixture
async def media_process(tmp_path: Path) -> AsyncIterator[Path]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = free_port(span=40) & ~1
    control = socket_path(run_dir, 0)
    process = subprocess.Popen(
        [sys.executable, "-m", "dialer.telephony.media", "--control", str(control), "--ip", LOOPBACK,
         "--ports", f"{first}-{first + 39}", "--log-level", "WARNING"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        for _ in range(200):
            if control.exists():
                break
            await asyncio.sleep(0.05)
        assert control.exists(), "the media process did not come up"
        yield run_dir
    finally:
        process.terminate()
        process.wait(timeout=10)


def _config(tmp_path: Path, run_dir: Path, *, seat_port: int, party_port: int) -> SipConfig:
    return SipConfig(
        domain="dialer.local", b2bua_host=LOOPBACK, b2bua_port=0, edge_host=LOOPBACK, edge_port=9,
        trunk_host=LOOPBACK, trunk_port=party_port, trunk_username=None, trunk_password=None, trunk_realm=None,
        number_format="e164", caller_id="+862100000000", media_ip=LOOPBACK, rtp_port_min=20000,
        rtp_port_max=20999, media_processes=1, callback_secret=SECRET, run_dir=run_dir,
        recordings_dir=tmp_path / "recordings", prompts_dir=tmp_path / "prompts",
        seats_direct=(LOOPBACK, seat_port), trunk_direct=True,
    )


async def _until(condition, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def test_given_a_seat_and_a_party_then_whispered_bridged_and_recorded_in_two_channels(
        tmp_path: Path, media_process: Path) -> None:
    async with Baresip(tmp_path / "seat", accounts=[Account("seat-a07", "dialer.local")], tone_hz=AGENT_HZ) as seat, \
            Baresip(tmp_path / "party", accounts=[Account(PARTY_NUMBER, LOOPBACK)], tone_hz=PARTY_HZ) as party:
        hooks = Webhooks(party_sid=asyncio.get_running_loop().create_future())
        http = httpx.AsyncClient(transport=httpx.MockTransport(hooks.handle))
        carrier = SipCarrier(_config(tmp_path, media_process, seat_port=seat.sip_port, party_port=party.sip_port),
                             speaker=EspeakSpeaker(tmp_path / "prompts"), http=http)
        hooks.carrier = carrier
        try:
            agent = await carrier.place_call(PlaceCall(
                call_ref="1", to_e164="sip:seat-a07@dialer.local", from_e164="+862100000000",
                twiml_url=f"{BASE}/voice/agent?call_id=1", status_callback_url=f"{BASE}/call-status?call_id=1&leg=agent",
                record=False, timeout_s=20))
            party_sid = await asyncio.wait_for(hooks.party_sid, 30)
            await party.wait_for_event("CALL_ESTABLISHED", timeout=30)
            await _until(lambda: any(p["StatusCallbackEvent"] == "conference-start"
                                     for p in hooks.of("conference-status")), "the agent starting the room")
            await asyncio.sleep(3.0)  # both talk, bridged, for a while
            await carrier.hang_up(party_sid)  # the party's leg ends: the room ends, the seat is hung up too
            await _until(lambda: carrier.legs[agent.carrier_call_id].is_over and carrier.legs[party_sid].is_over,
                         "both legs over")
            await seat.wait_for_event("CALL_CLOSED", timeout=15)
            await party.wait_for_event("CALL_CLOSED", timeout=15)
            await _until(lambda: hooks.of("recording-status"), "the recording callback")
        finally:
            await carrier.aclose()
            await http.aclose()

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
    whisper_end = _speech_end(heard_by_seat)
    first_party_tone = segments_with(heard_by_seat, PARTY_HZ)[0][0]
    assert whisper_end is not None and whisper_end <= first_party_tone, "the agent heard the whisper first"
    heard_by_party = party.recordings().heard
    assert _speech_end(heard_by_party) is None, "the party never heard the whisper"
    assert segments_with(heard_by_party, AGENT_HZ), "the party heard the agent"


def _speech_end(path: Path) -> float | None:
    """When the whisper ends in what a phone heard: the last 100 ms window with sound in it that is
    neither participant's tone (speech); None when there is none."""
    rate, channels = read_wav(path)
    samples, size = channels[0], rate // 10
    speech = [start / rate for start in range(0, len(samples) - size + 1, size)
              if mean_square(samples[start:start + size]) > 300.0 ** 2
              and not dominant_tones(samples[start:start + size], rate, (AGENT_HZ, PARTY_HZ), min_share=0.2)]
    return max(speech) + 0.1 if speech else None
