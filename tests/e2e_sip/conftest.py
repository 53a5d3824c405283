"""End to end on the SIP path, every peer real and on loopback, every port chosen free by the test.

    baresip (the agent's softphone, 600 Hz)      sipp (the trunk: answers with 1000 Hz, or 486, or 480)
            │ REGISTER (digest), INVITE               ▲ INVITE (through the edge, Record-Route)
            ▼                                         │
    Kamailio (the edge), reading the test's own migrated database (SQLite file or PostgreSQL)
            ▲ SIP
    the service (uvicorn on loopback, ``create_app`` with ``carrier="sip"``): the B2BUA on a free
    port, the progressive engine, the signed webhooks and the inbox, all in this process
            │ control socket ``<data_dir>/sip-run/media-0.sock``
    a media process (``python -m dialer.telephony.media``): RTP relay, whisper, two-channel WAV

Why sipp is the trunk (not a second baresip behind it): the trunk is what decides a call's
outcome (answer, 486, 480), and a sipp scenario says exactly which, checks the dialog it sees
(the edge's Record-Route, our ACK and BYE) and its exit status is the verdict; it streams the
party's 1000 Hz tone with ``rtp_stream``. What the party hears is proven below the service
(``tests/sip/test_sip_carrier.py``, a baresip party); here the recording proves who said what.

The whisper is the client's own short template (a few seconds of espeak-ng Mandarin) so a call
takes seconds; the default template is the same code path, only longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dialer.agents.models import AgentSession, AgentState
from dialer.app import create_app
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.cases import holds
from dialer.cases.models import Party, PhoneNumber
from dialer.kit.ports import udp_port_bound
from dialer.kit.types import utcnow
from dialer.seats.models import Seat, SeatCarrier
from dialer.seats.sip_credentials import set_sip_password
from dialer.settings import REPO_ROOT
from dialer.telephony.sip.edge.process import EdgeProcess, start_kamailio
from dialer.telephony.sip.carrier import SipCarrier
from dialer.telephony.sip.config import sip_config
from dialer.telephony.sip.media_link import socket_path
from dialer.telephony.tts import EspeakSpeaker
from tests.e2e.conftest import ALL_DAY, api_client, eventually, log_in
from tests.factories import make_case, make_client, make_user
from tests.sip.baresip import LOOPBACK, Account, Baresip, free_port
from tests.sip.test_baresip_harness import write_alaw_tone
from tests.sip.tones import AGENT_HZ, PARTY_HZ
from twilio_emulator.server import BackgroundServer

SCENARIOS = Path(__file__).with_name("scenarios")
DOMAIN = "dialer.local"
AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
SIP_PASSWORD = "seat-secret-Xq7-2026"
WHISPER_TEMPLATE = "受{client}委托，{party_role}。"  # about three seconds of speech
SIPP_GUARD_S = 40  # a trunk waiting longer than this for a message fails (a hang guard)


# --- the running pieces -------------------------------------------------------------------------
@dataclass
class Trunk:
    """sipp playing the trunk on the port the edge sends numbers to."""

    process: asyncio.subprocess.Process
    workdir: Path
    name: str

    @property
    def messages(self) -> str:
        """Every SIP message sipp sent or received (``-trace_msg``)."""
        return "\n".join(p.read_text(errors="replace") for p in self.workdir.glob("*_messages.log"))

    def invites(self) -> int:
        return sum(1 for line in self.messages.splitlines() if line.startswith("INVITE "))

    def log_tail(self, lines: int = 40) -> str:
        out = (self.workdir / "sipp.out").read_text(errors="replace").splitlines()[-lines:]
        errors = "\n".join(p.read_text(errors="replace")[-2000:] for p in self.workdir.glob("*errors.log"))
        return f"--- trunk sipp {self.name} (tail) ---\n" + "\n".join(out) + "\n--- errors ---\n" + errors

    async def verdict(self, timeout: float = 30.0) -> int:
        """sipp's exit status once its calls are done (0: every call went as its scenario says)."""
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the trunk did not finish\n{self.log_tail()}") from None

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@dataclass
class SipFloor:
    """The service on the SIP path with its edge, media process and trunk port."""

    settings: Any
    edge: EdgeProcess
    media: subprocess.Popen[bytes]
    server: BackgroundServer
    trunk_port: int
    workdir: Path
    _trunks: list[Trunk]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def container(self) -> Any:
        return self.server.app.state.container

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return api_client(self.url, token)

    async def login(self, username: str) -> str:
        return await log_in(self.url, username)

    @property
    def carrier(self) -> SipCarrier:
        carrier = self.container.carrier
        assert isinstance(carrier, SipCarrier)
        return carrier

    def new_carrier(self, **changes: Any) -> SipCarrier:
        """Put a new ``SipCarrier`` in the service, built as the composition root builds it (on the
        same data directory, so the same run_dir and recordings) with ``changes`` to its config;
        made on the service's loop. The old one is returned to the caller as it is."""
        old = self.carrier

        async def build() -> SipCarrier:
            config = dataclasses.replace(sip_config(self.settings), **changes)
            carrier = SipCarrier(config, speaker=EspeakSpeaker(config.prompts_dir))
            self.container.use(carrier=carrier)
            return carrier

        self.server.run(build())
        return old

    def edge_log(self) -> str:
        return self.edge.log.read_text(errors="replace")

    async def trunk(self, scenario: str, *, calls: int = 1, **variables: str) -> Trunk:
        """sipp running ``scenarios/<scenario>.xml`` as the trunk (listening when this returns):
        it answers ``calls`` calls then exits. ``variables``: the scenario's ``-set`` values."""
        workdir = self.workdir / f"trunk-{len(self._trunks)}-{scenario}"
        workdir.mkdir(parents=True)
        write_alaw_tone(workdir / "party.al", PARTY_HZ, 1.0)  # looped by rtp_stream for the whole call
        sets = [item for name, value in variables.items() for item in ("-set", name, value)]
        command = ["sipp", "-sf", str(SCENARIOS / f"{scenario}.xml"), "-i", LOOPBACK, "-mi", LOOPBACK,
                   "-p", str(self.trunk_port), "-mp", str(free_port(span=4)), "-m", str(calls), "-nostdin",
                   "-timeout", f"{SIPP_GUARD_S}s", "-timeout_error", "-recv_timeout", f"{SIPP_GUARD_S}s",
                   "-trace_msg", "-trace_err", *sets]
        with (workdir / "sipp.out").open("wb") as out:
            process = await asyncio.create_subprocess_exec(*command, cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
                                                           stdout=out, stderr=asyncio.subprocess.STDOUT)
        trunk = Trunk(process, workdir, scenario)
        self._trunks.append(trunk)
        while not udp_port_bound(self.trunk_port):
            assert process.returncode is None, f"the trunk exited with {process.returncode}\n{trunk.log_tail()}"
            await asyncio.sleep(0.02)
        return trunk


def _start_media(run_dir: Path) -> subprocess.Popen[bytes]:
    run_dir.mkdir(parents=True, exist_ok=True)
    first = free_port(span=40) & ~1
    log = (run_dir / "media.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "dialer.telephony.media", "--control", str(socket_path(run_dir, 0)), "--ip", LOOPBACK,
         "--ports", f"{first}-{first + 39}", "--log-level", "WARNING"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdout=log, stderr=subprocess.STDOUT)


async def start_media(run_dir: Path) -> subprocess.Popen[bytes]:
    """A media process on ``run_dir``'s control socket, up (listening) when this returns."""
    control = socket_path(run_dir, 0)
    control.unlink(missing_ok=True)
    process = _start_media(run_dir)
    await eventually(lambda: control.exists() or process.poll() is not None, timeout=15, what="the media process")
    assert process.poll() is None and control.exists(), (run_dir / "media.log").read_text(errors="replace")
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
async def sip_floor(settings, tmp_path: Path) -> AsyncIterator[SipFloor]:
    """Kamailio on the test's database, a media process, and the service with ``carrier="sip"``
    (its B2BUA trusted by the edge, the trunk a port a test's sipp takes: ``floor.trunk(...)``)."""
    edge_port, b2bua_port, trunk_port = (free_port() for _ in range(3))
    config = settings.model_copy(update={
        "carrier": "sip", "sip_domain": DOMAIN, "sip_edge_host": LOOPBACK, "sip_edge_port": edge_port,
        "sip_b2bua_host": LOOPBACK, "sip_b2bua_port": b2bua_port, "sip_trunk_host": LOOPBACK,
        "sip_trunk_port": trunk_port, "sip_caller_id": AGENCY, "sip_media_ip": LOOPBACK, "sip_media_processes": 1,
    })
    edge = start_kamailio(config, tmp_path / "edge")
    media: subprocess.Popen[bytes] | None = None
    server: BackgroundServer | None = None
    trunks: list[Trunk] = []
    try:
        media = await start_media(config.data_dir / "sip-run")
        server = BackgroundServer(create_app(config))
        config.public_base_url = server.url  # known once the port is bound; read when the service starts
        server.start()
        yield SipFloor(config, edge, media, server, trunk_port, tmp_path / "peers", trunks)
    finally:
        if server is not None:
            server.stop()
        for trunk in trunks:
            await trunk.stop()
        if media is not None:
            stop_process(media)
        edge.stop()
    running = [("kamailio", _group_alive(edge.pid)), ("media", media is not None and media.poll() is None),
               *((f"sipp {t.name}", t.process.returncode is None) for t in trunks)]
    left = [name for name, alive in running if alive]
    assert not left, f"still running after the test: {left}"


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group (Kamailio and its children) is still there."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.asynccontextmanager
async def softphone(floor: SipFloor, user: str, *, password: str = SIP_PASSWORD) -> AsyncIterator[Baresip]:
    """The seat's baresip, registered to the edge with digest (600 Hz microphone, auto-answer)."""
    account = Account(user, DOMAIN, password=password, registrar=f"{LOOPBACK}:{floor.edge.port}")
    phone = Baresip(floor.workdir / f"phone-{user}", accounts=[account], tone_hz=AGENT_HZ)
    async with phone:
        await phone.wait_for_event("REGISTER_OK", accountaor=account.aor)
        yield phone
    assert phone.returncode is not None, "baresip is still running after the test"


# --- the floor's people and cases ---------------------------------------------------------------
@dataclass
class SipDesk:
    """An agent, their SIP seat (password set), and cases of one client assigned to them."""

    agent_id: int
    username: str
    supervisor: str
    seat_id: int
    seat_user: str
    client_id: int
    case_ids: list[int]
    number_ids: list[int]


_seats = iter(range(1, 10_000))


async def sip_desk(session, *, cases: int = 1, numbers: tuple[str, ...] = (DEBTOR,), team: str = "team-s",
                   held: bool = False, session_state: AgentState | None = None) -> SipDesk:
    """The agent's seat is ``sip:<seat_user>@dialer.local`` with its SIP password set through the
    service (HA1s only, which the edge reads). ``held``: the first case is handed out to the agent
    (a preview dial needs it); ``session_state``: the agent is logged in at the seat already."""
    client = await make_client(session, name="招商银行", overrides=ALL_DAY, whisper_template=WHISPER_TEMPLATE)
    agent = await make_user(session, role=Role.AGENT, team=team)
    boss = await make_user(session, role=Role.SUPERVISOR, team=team)
    seat_user = f"seat-{next(_seats):03d}"
    seat = Seat(code=seat_user.upper(), softphone_identity=f"sip:{seat_user}@{DOMAIN}", carrier=SeatCarrier.SIP,
                team=team)
    session.add(seat)
    await session.flush()
    await set_sip_password(session, seat.id, SIP_PASSWORD, actor=None)
    made = [await make_case(session, client=client, team=team, assigned_agent=agent, total_owed=20000 - i * 1000,
                            debtor_numbers=numbers if i == 0 else (f"+861390000{i:04d}",)) for i in range(cases)]
    if held:
        made[0].held_by_agent_id, made[0].held_until = agent.id, utcnow() + holds.HOLD
    number_ids = []
    for case in made:
        party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
        number_ids.append((await session.execute(select(PhoneNumber.id).where(PhoneNumber.party_id == party.id)
                                                 .order_by(PhoneNumber.position))).scalars().first())
    if session_state is not None:
        session.add(AgentSession(agent_id=agent.id, seat_id=seat.id, state=session_state))
    await session.commit()
    return SipDesk(agent.id, agent.username, boss.username, seat.id, seat_user, client.id, [c.id for c in made],
                   number_ids)


# --- looking at the outcome ---------------------------------------------------------------------
async def ended_call(sessions, call_id: int, *, timeout: float = 30.0, settled=lambda call: True) -> Call:
    async def probe() -> Call | None:
        async with sessions() as s:
            call = await s.get(Call, call_id)
        return call if call is not None and call.ended_at is not None and settled(call) else None

    return await eventually(probe, timeout=timeout, what=f"call {call_id} to end")


async def agent_in(sessions, agent_id: int, state: AgentState, *, timeout: float = 15.0) -> AgentSession:
    async def probe() -> AgentSession | None:
        async with sessions() as s:
            found = (await s.execute(select(AgentSession).where(AgentSession.agent_id == agent_id,
                                                                AgentSession.ended_at.is_(None)))).scalar_one()
        return found if found.state is state else None

    return await eventually(probe, timeout=timeout, what=f"agent {agent_id} {state.value}")


async def nothing_held(floor: SipFloor) -> None:
    """Once every call is over, the carrier holds nothing for them (legs, INVITEs, rooms, media)."""
    idle = {"legs": 0, "invites": 0, "rooms": 0, "media_calls": 0, "callbacks": 0}
    try:
        await eventually(lambda: floor.carrier.in_flight() == idle, what="an idle carrier")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it holds {floor.carrier.in_flight()}") from None
