"""The SIP carrier's side of the contract: ``SipCarrier`` as the service runs it, with every outside
party real except our own webhooks.

- the media process: ``python -m dialer.telephony.media`` on loopback (``MediaProcess``);
- the parties behind the trunk: one sipp instance that answers any number it is called on, rings
  briefly, streams a 1000 Hz A-law tone, and hangs up by itself only on the recorded number
  (``PartyPeer``, ``scenarios/party_answers_any_number.xml``); the carrier reaches it straight
  (``trunk_direct``), as it would reach a trunk through the edge;
- our webhooks: an ``httpx.MockTransport`` handler (``Webhooks``) that checks every signature,
  serves TwiML that holds the leg (``<Pause>``) for any document asked for, and keeps every
  callback, so ``reach`` and ``recording_of`` wait on what the carrier told rather than poll it.

The media process and the peer are started once per test module (they hold no state a test can
see: each carrier, per test, recovers the media process on start, and each call is its own sipp
call); the carrier, its webhooks and its recordings directory are per test.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from dialer.kit.ports import udp_port_bound
from dialer.settings import REPO_ROOT
from dialer.telephony import CallStatus, PlaceCall
from dialer.telephony.carrier import TERMINAL_STATUSES
from dialer.telephony.media.g711 import alaw_encode_sample
from dialer.telephony.sip.carrier import SipCarrier
from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.media_link import socket_path
from dialer.telephony.tts import EspeakSpeaker
from tests.sip.baresip import LOOPBACK, free_port

SCENARIO = Path(__file__).parent / "scenarios" / "party_answers_any_number.xml"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SECRET = "contract-sip-callback-secret-0123456789"
BASE = "http://dialer.test/v1/sip"
PARTY_HZ = 1000.0
WAIT_S = 20.0  # an upper bound on waiting for a callback; no assertion is made on how long it took
CALLBACK_PATHS = frozenset({"status", "rec"})


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the processes, shared by a module ------------------------------------------------------------
@dataclass
class MediaProcess:
    """One media process; ``run_dir`` holds its control socket (``SipConfig.run_dir``)."""

    run_dir: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, workdir: Path) -> MediaProcess:
        run_dir = workdir / "run"
        run_dir.mkdir(parents=True)
        first = free_port(span=100) & ~1
        control = socket_path(run_dir, 0)
        process = subprocess.Popen(
            [sys.executable, "-m", "dialer.telephony.media", "--control", str(control), "--ip", LOOPBACK,
             "--ports", f"{first}-{first + 99}", "--log-level", "WARNING"],
            cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        media = cls(run_dir, process)
        deadline = time.monotonic() + WAIT_S
        while not control.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                media.stop()
                raise AssertionError(f"the media process did not come up (exit code {process.returncode})")
            time.sleep(0.05)
        return media

    def stop(self) -> None:
        _stop(self.process)


@dataclass
class PartyPeer:
    """sipp answering every number on ``port`` (see the scenario); its errors and message trace
    are in ``workdir``, shown by ``evidence()`` when a leg does not go as expected."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, workdir: Path) -> PartyPeer:
        workdir.mkdir(parents=True)
        _write_alaw_tone(workdir / "party.al", PARTY_HZ, 1.0)  # looped by sipp for the whole call
        port, media_port = free_port(), free_port(span=4)
        with (workdir / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [SIPP, "-sf", str(SCENARIO), "-i", LOOPBACK, "-mi", LOOPBACK, "-p", str(port), "-mp", str(media_port),
                 "-nostdin", "-trace_err", "-error_file", str(workdir / "errors.log"),
                 "-trace_msg", "-message_file", str(workdir / "messages.log")],
                cwd=workdir, stdout=subprocess.DEVNULL, stderr=stderr)
        peer = cls(port, workdir, process)
        deadline = time.monotonic() + WAIT_S
        while not udp_port_bound(port):
            if process.poll() is not None or time.monotonic() > deadline:
                peer.stop()
                raise AssertionError(f"sipp did not come up (exit code {process.returncode})\n{peer.evidence()}")
            time.sleep(0.02)
        return peer

    def evidence(self, chars: int = 6000) -> str:
        parts = []
        for name in ("stderr.log", "errors.log", "messages.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(f"--- sipp {name} (tail)\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        _stop(self.process)


def _write_alaw_tone(path: Path, hz: float, seconds: float) -> None:
    samples = (round(0.5 * 32767 * math.sin(2 * math.pi * hz * n / 8000)) for n in range(round(seconds * 8000)))
    path.write_bytes(bytes(alaw_encode_sample(s) for s in samples))


# --- our webhooks ---------------------------------------------------------------------------------
@dataclass
class Webhooks:
    """Every request the carrier makes to our webhooks. A document request (any path but the
    callbacks') gets ``hold_twiml``; a callback is kept, after its signature checked out."""

    hold_twiml: str
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    bad_signatures: list[str] = field(default_factory=list)
    _changed: asyncio.Condition | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        url = str(request.url)
        if not RequestValidator(SECRET).validate(url, params, request.headers.get("X-Twilio-Signature", "")):
            self.bad_signatures.append(url)
            return httpx.Response(403)
        path = urlsplit(url).path.rsplit("/", 1)[-1]
        if path not in CALLBACK_PATHS:
            self.documents.append(path)
            return httpx.Response(200, text=self.hold_twiml, headers={"content-type": "application/xml"})
        async with self._condition():
            self.callbacks.append((path, params))
            self._condition().notify_all()
        return httpx.Response(204)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def of(self, kind: str, sid: str) -> list[dict[str, str]]:
        return [p for k, p in self.callbacks if k == kind and p.get("CallSid") == sid]

    async def wait_for(self, what: str, found: Callable[[], bool]) -> None:
        async with self._condition():
            try:
                await asyncio.wait_for(self._condition().wait_for(found), WAIT_S)
            except TimeoutError:
                raise AssertionError(f"no {what} after {WAIT_S:.0f} s; callbacks: {self.callbacks}") from None


# --- the harness ----------------------------------------------------------------------------------
class SipHarness:
    """The contract's view of the SIP carrier: ``request`` builds a leg to a number behind the
    trunk, ``reach`` waits for the status callback, ``recording_of`` for the recording callback."""

    _refs = itertools.count(1)

    def __init__(self, workdir: Path, *, media: MediaProcess, peer: PartyPeer, agency: str, hold_twiml: str) -> None:
        self.peer = peer
        self.agency = agency
        self.webhooks = Webhooks(hold_twiml)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.webhooks.handle))
        config = SipConfig(
            domain="dialer.local", b2bua_host=LOOPBACK, b2bua_port=0, edge_host=LOOPBACK, edge_port=9,
            trunk_host=LOOPBACK, trunk_port=peer.port, trunk_username=None, trunk_password=None, trunk_realm=None,
            number_format="e164", caller_id=agency, media_ip=LOOPBACK, rtp_port_min=20000, rtp_port_max=20999,
            media_processes=1, callback_secret=SECRET, run_dir=media.run_dir,
            recordings_dir=workdir / "recordings", prompts_dir=workdir / "prompts", trunk_direct=True,
        )
        config.recordings_dir.mkdir(parents=True)
        self.carrier = SipCarrier(config, speaker=EspeakSpeaker(config.prompts_dir), http=self.http)

    def request(self, to: str, *, record: bool = False) -> PlaceCall:
        # each request is a call of its own: the two legs of one call share its media (and recording)
        ref = f"call-{next(self._refs)}"
        return PlaceCall(call_ref=ref, to_e164=to, from_e164=self.agency, twiml_url=f"{BASE}/voice?call={ref}",
                         status_callback_url=f"{BASE}/status?call={ref}",
                         recording_callback_url=f"{BASE}/rec?call={ref}" if record else None, record=record)

    def url(self, path: str) -> str:
        return BASE + path

    async def reach(self, call_id: str, status: CallStatus) -> None:
        """Wait for the leg's status callback telling ``status``; fails at once if the leg ends
        otherwise, with the callbacks and the peer's evidence."""
        def told() -> list[str]:
            return [p["CallStatus"] for p in self.webhooks.of("status", call_id)]

        await self.webhooks.wait_for(f"{status} for {call_id}", lambda: status in told()
                                     or any(CallStatus(s) in TERMINAL_STATUSES for s in told()))
        assert status in told(), f"{call_id} ended {told()} without reaching {status}\n{self.peer.evidence()}"

    async def recording_of(self, call_id: str) -> str:
        """The recorded leg's party hangs up after talking (the scenario); its recording is told then."""
        await self.webhooks.wait_for(f"recording of {call_id}", lambda: bool(self.webhooks.of("rec", call_id)))
        [told] = self.webhooks.of("rec", call_id)
        assert told["RecordingStatus"] == "completed" and told["RecordingChannels"] == "2", told
        return told["RecordingUrl"]

    async def aclose(self) -> None:
        try:
            await self.carrier.aclose()
        finally:
            await self.http.aclose()
        assert not self.webhooks.bad_signatures, f"callbacks with a bad signature: {self.webhooks.bad_signatures}"
