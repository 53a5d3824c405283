"""Carriers under test: the in-memory fake, the Twilio adapter against the local emulator (the
real twilio SDK over loopback) and the SIP carrier against a real media process and a sipp party
(``sip_harness.py``), each behind a harness that plays the network's part.

``contract`` runs a test against every carrier; ``supervised_contract`` against the carriers that
have supervisor modes (not SIP yet: monitor, whisper and barge need the media mixer, SIP part 2);
``sip_contract`` against the SIP carrier alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from dialer.telephony import CallStatus, PlaceCall
from dialer.telephony.fake import FakeCarrier
from dialer.telephony.twilio_carrier import TwilioCarrier
from twilio_emulator import Scenario
from twilio_emulator.sdk_client import emulator_client
from twilio_emulator.server import EmulatorServer
from twilio_emulator.testing import (  # noqa: F401
    Receiver,
    twilio_emulator,
    twilio_emulator_factory,
    twilio_receiver,
    twilio_receiver_server,
)

from .sip_harness import MediaProcess, PartyPeer, SipHarness

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
OTHER = "+8613800000002"
RECORDED = "+8613800000003"
AGENT = "client:agent-7"
SCENARIO = {
    "default": {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"},
    "numbers": {RECORDED: {"behaviour": "answer", "ring_seconds": 1, "talk_seconds": 3}},
}
HOLD_TWIML = "<Response><Pause length='600'/></Response>"


def twilio_carrier_for(server: EmulatorServer, **options: Any) -> TwilioCarrier:
    options = {"calls_per_second": 100.0, "call_burst": 10, "backoff_base_s": 0.01, "backoff_max_s": 0.1,
               "request_timeout_s": 5.0, **options}
    return TwilioCarrier(account_sid=server.account_sid, auth_token=server.auth_token, api_base_url=server.url,
                         **options)


# --- an emulator that logs every request it receives ------------------------------------------
@dataclass
class Seen:
    method: str
    path: str
    status: int | None = None


@dataclass
class RequestLog:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, method: str, suffix: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == method and s.path.endswith(suffix)]


class _LogRequests:
    """ASGI middleware outside the emulator's own: sees every request, even dropped ones. It takes
    in the whole body first, as Twilio's front door does: a request fully sent is processed even
    if the client gives up waiting for the answer."""

    def __init__(self, app: Any, log: RequestLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        seen = Seen(scope["method"], scope["path"])
        with self.log.lock:
            self.log.seen.append(seen)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body, more = body + message.get("body", b""), message.get("more_body", False)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_and_note(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
            await send(message)

        await self.app(scope, replay, send_and_note)


@pytest.fixture
def logged_emulator() -> Iterator[Callable[..., tuple[EmulatorServer, RequestLog]]]:
    """``start(scenario=None, **fields)`` → (running emulator, the log of requests it received)."""
    started: list[EmulatorServer] = []

    def start(scenario: dict[str, Any] | None = None, **fields: Any) -> tuple[EmulatorServer, RequestLog]:
        data = {"speed": 100, **(scenario or {}), **fields}
        server = EmulatorServer(Scenario.model_validate(data))
        log = RequestLog()
        server.app.add_middleware(_LogRequests, log=log)
        started.append(server.start())
        return server, log

    yield start
    for server in reversed(started):
        server.stop()


# --- the contract harnesses -------------------------------------------------------------------
class FakeHarness:
    def __init__(self) -> None:
        self.carrier = FakeCarrier()

    def request(self, to: str, *, record: bool = False) -> PlaceCall:
        base = "https://dialer.test/v1/twilio"
        return PlaceCall(call_ref="call-1", to_e164=to, from_e164=AGENCY, twiml_url=f"{base}/voice?call=call-1",
                         status_callback_url=f"{base}/status?call=call-1",
                         recording_callback_url=f"{base}/recording?call=call-1" if record else None, record=record)

    def url(self, path: str) -> str:
        return "https://dialer.test" + path

    async def reach(self, call_id: str, status: CallStatus) -> None:
        self.carrier.advance(call_id, status)

    async def agent_in_conference(self, room: str) -> str:
        placed = await self.carrier.place_call(self.request(AGENT))
        self.carrier.advance(placed.carrier_call_id, CallStatus.IN_PROGRESS)
        self.carrier.join_conference(room, placed.carrier_call_id, label="agent")
        return placed.carrier_call_id

    async def in_room(self, room: str, call_id: str) -> None:
        assert call_id in self.carrier.conferences[room]

    async def participant(self, room: str, call_id: str) -> tuple[bool, bool, str | None]:
        p = self.carrier.participant(room, call_id)
        return p.muted, p.coaching, p.call_sid_to_coach

    async def recording_of(self, call_id: str) -> str:
        self.carrier.advance(call_id, CallStatus.IN_PROGRESS)
        return self.carrier.complete_with_recording(call_id)

    async def aclose(self) -> None:
        await self.carrier.aclose()


class TwilioHarness:
    def __init__(self, server: EmulatorServer, receiver: Receiver) -> None:
        self.server, self.rx = server, receiver
        self.carrier = twilio_carrier_for(server)
        receiver.twiml["/voice"] = HOLD_TWIML

    def request(self, to: str, *, record: bool = False) -> PlaceCall:
        return PlaceCall(call_ref="call-1", to_e164=to, from_e164=AGENCY, twiml_url=self.rx.url_for("/voice?call=1"),
                         status_callback_url=self.rx.url_for("/status?call=1"),
                         recording_callback_url=self.rx.url_for("/rec?call=1") if record else None, record=record)

    def url(self, path: str) -> str:
        return self.rx.url_for(path)

    async def reach(self, call_id: str, status: CallStatus, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while (await self.carrier.get_call(call_id)).status is not status:
            assert asyncio.get_running_loop().time() < deadline, f"{call_id} never reached {status}"
            await asyncio.sleep(0.01)

    def _joined(self, call_id: str) -> Callable[[list[Any]], bool]:
        return lambda got: any(r.params.get("StatusCallbackEvent") == "participant-join"
                               and r.params.get("CallSid") == call_id for r in got)

    async def agent_in_conference(self, room: str) -> str:
        self.rx.twiml["/agent"] = (
            f"<Response><Dial><Conference statusCallback='{self.rx.url_for('/conf')}'"
            " statusCallbackEvent='start end join leave mute modify' endConferenceOnExit='true'"
            f" participantLabel='agent'>{room}</Conference></Dial></Response>")
        placed = await self.carrier.place_call(replace(self.request(AGENT), twiml_url=self.rx.url_for("/agent")))
        await self.rx.await_for("/conf", self._joined(placed.carrier_call_id))
        return placed.carrier_call_id

    async def in_room(self, room: str, call_id: str) -> None:
        await self.rx.await_for("/conf", self._joined(call_id))

    async def participant(self, room: str, call_id: str) -> tuple[bool, bool, str | None]:
        def read() -> tuple[bool, bool, str | None]:
            api = emulator_client(self.server.url, self.server.account_sid, self.server.auth_token)
            [conf] = [c for c in api.conferences.list(friendly_name=room) if c.status != "completed"]
            p = api.conferences(conf.sid).participants(call_id).fetch()
            return bool(p.muted), bool(p.coaching), p.call_sid_to_coach

        return await asyncio.to_thread(read)

    async def recording_of(self, call_id: str) -> str:
        got = await self.rx.await_for("/rec", lambda got: any(r.params["CallSid"] == call_id for r in got))
        return next(r.params["RecordingUrl"] for r in got if r.params["CallSid"] == call_id)

    async def aclose(self) -> None:
        await self.carrier.aclose()


# --- the SIP carrier's outside world, started once per module --------------------------------------
@pytest.fixture(scope="module")
def sip_media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaProcess]:
    media = MediaProcess.start(tmp_path_factory.mktemp("sip-media"))
    yield media
    media.stop()


@pytest.fixture(scope="module")
def sip_party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartyPeer]:
    peer = PartyPeer.start(tmp_path_factory.mktemp("sip-party") / "sipp")
    yield peer
    peer.stop()


# --- the contract fixtures ------------------------------------------------------------------------
Harness = FakeHarness | TwilioHarness | SipHarness
SupervisedHarness = FakeHarness | TwilioHarness


def _harness(request: pytest.FixtureRequest, carrier: str) -> Harness:
    if carrier == "fake":
        return FakeHarness()
    if carrier == "twilio":
        server = request.getfixturevalue("twilio_emulator_factory")(SCENARIO)
        return TwilioHarness(server, request.getfixturevalue("twilio_receiver"))
    tmp_path: Path = request.getfixturevalue("tmp_path")
    return SipHarness(tmp_path, media=request.getfixturevalue("sip_media"), peer=request.getfixturevalue("sip_party"),
                      agency=AGENCY, hold_twiml=HOLD_TWIML)


@pytest.fixture(params=["fake", "twilio", "sip"])
async def contract(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Every carrier."""
    harness = _harness(request, request.param)
    yield harness
    await harness.aclose()


@pytest.fixture(params=["fake", "twilio"])
async def supervised_contract(request: pytest.FixtureRequest) -> AsyncIterator[SupervisedHarness]:
    """The carriers with supervisor modes (monitor, whisper, barge). The SIP carrier joins when
    SIP part 2 brings the media mixer; until then it refuses them (``sip_contract``)."""
    harness = _harness(request, request.param)
    assert isinstance(harness, FakeHarness | TwilioHarness)
    yield harness
    await harness.aclose()


@pytest.fixture
async def sip_contract(request: pytest.FixtureRequest) -> AsyncIterator[SipHarness]:
    """The SIP carrier alone, for what only it does (for now: refusing supervisor modes)."""
    harness = _harness(request, "sip")
    assert isinstance(harness, SipHarness)
    yield harness
    await harness.aclose()
