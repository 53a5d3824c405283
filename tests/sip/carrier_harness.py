"""The SIP carrier below the service: a real media process, the webhooks' side played by a
recording HTTP handler that serves the TwiML the service serves (and checks every signature)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from dialer.settings import REPO_ROOT
from dialer.telephony.carrier import PlaceCall
from dialer.telephony.sip.carrier import SipCarrier
from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.media_link import socket_path
from dialer.telephony.tts import EspeakSpeaker
from tests.sip.baresip import LOOPBACK, free_port

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


async def media_process_in(tmp_path: Path) -> AsyncIterator[Path]:
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


def carrier_config(tmp_path: Path, run_dir: Path, *, seat_port: int, party_port: int) -> SipConfig:
    return SipConfig(
        domain="dialer.local", b2bua_host=LOOPBACK, b2bua_port=0, edge_host=LOOPBACK, edge_port=9,
        trunk_host=LOOPBACK, trunk_port=party_port, trunk_username=None, trunk_password=None, trunk_realm=None,
        number_format="e164", caller_id="+862100000000", media_ip=LOOPBACK, rtp_port_min=20000,
        rtp_port_max=20999, media_processes=1, callback_secret=SECRET, run_dir=run_dir,
        recordings_dir=tmp_path / "recordings", prompts_dir=tmp_path / "prompts",
        seats_direct=(LOOPBACK, seat_port), trunk_direct=True,
    )


async def until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


AGENT_LEG = PlaceCall(
    call_ref="1", to_e164="sip:seat-a07@dialer.local", from_e164="+862100000000",
    twiml_url=f"{BASE}/voice/agent?call_id=1", status_callback_url=f"{BASE}/call-status?call_id=1&leg=agent",
    record=False, timeout_s=20)
"""Call 1's first leg, to the seat: its TwiML fetch rings the party (``Webhooks``)."""


@contextlib.asynccontextmanager
async def carrier_with_webhooks(tmp_path: Path, run_dir: Path, *, seat_port: int,
                                party_port: int) -> AsyncIterator[tuple[SipCarrier, Webhooks]]:
    """A ``SipCarrier`` on the media process of ``run_dir`` whose webhooks are ``Webhooks``;
    closed (its legs ended, its callbacks drained) on the way out."""
    hooks = Webhooks(party_sid=asyncio.get_running_loop().create_future())
    http = httpx.AsyncClient(transport=httpx.MockTransport(hooks.handle))
    carrier = SipCarrier(carrier_config(tmp_path, run_dir, seat_port=seat_port, party_port=party_port),
                         speaker=EspeakSpeaker(tmp_path / "prompts"), http=http)
    hooks.carrier = carrier
    try:
        yield carrier, hooks
    finally:
        await carrier.aclose()
        await http.aclose()
