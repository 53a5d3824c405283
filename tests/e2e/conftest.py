"""End to end: the service served by uvicorn on loopback, the local Twilio emulator driven by the
real twilio SDK, and the signed webhooks between them. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from dialer.agents.models import AgentSession, AgentState
from dialer.app import create_app
from dialer.auth.models import Role
from dialer.cases import holds
from dialer.cases.models import Party, PhoneNumber
from dialer.kit.types import utcnow
from dialer.seats.models import Seat
from tests.factories import make_case, make_client, make_seat, make_user
from twilio_emulator.server import BackgroundServer, EmulatorServer
from twilio_emulator.testing import twilio_emulator_factory  # noqa: F401

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"
PASSWORD = "correct horse battery"
ALL_DAY = {"calling_window": {"weekdays": {d: [{"start": "00:00", "end": "24:00"}]
                                           for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}


def api_client(url: str, token: str | None = None) -> httpx.AsyncClient:
    """An HTTP client for the service served at ``url`` (with ``token``'s bearer, when given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0)


async def log_in(url: str, username: str) -> str:
    """A demo user's bearer token from the service at ``url`` (every test user has ``PASSWORD``)."""
    async with api_client(url) as http:
        answer = await http.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@dataclass
class Live:
    url: str
    emulator: EmulatorServer
    server: BackgroundServer

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return api_client(self.url, token)

    async def login(self, username: str) -> str:
        return await log_in(self.url, username)


@pytest.fixture
def live_factory(settings, twilio_emulator_factory) -> Iterator[Callable[..., Live]]:  # noqa: F811
    """``start(**scenario)``: an emulator with that scenario and the service wired to it."""
    started: list[BackgroundServer] = []

    def start(**scenario: Any) -> Live:
        emulator = twilio_emulator_factory(**scenario)
        config = settings.model_copy(update={
            "twilio_account_sid": emulator.account_sid, "twilio_auth_token": SecretStr(emulator.auth_token),
            "twilio_api_base_url": emulator.url, "twilio_caller_id": AGENCY, "twilio_calls_per_second": 50.0,
        })
        server = BackgroundServer(create_app(config))
        config.public_base_url = server.url  # known once the port is bound; read when the service starts
        server.start()
        started.append(server)
        return Live(server.url, emulator, server)

    yield start
    for server in reversed(started):
        server.stop()


@dataclass
class Desk:
    """An agent logged in and ready at a seat, with a case to call."""

    agent_id: int
    username: str
    seat_id: int
    seat_identity: str
    case_id: int
    party_id: int
    number_id: int


async def seat_agent_with_case(session, *, numbers: tuple[str, ...] = (DEBTOR,), ready: bool = True,
                               team: str = "team-a", held: bool = True) -> Desk:
    """An agent at a seat (ready, or not ready) with a case assigned to them; ``held``: handed out
    to them already, as the queue does (a preview dial needs it)."""
    client = await make_client(session, name="招商银行", overrides=ALL_DAY)
    agent = await make_user(session, role=Role.AGENT, team=team)
    seat = await make_seat(session, team=team)
    case = await make_case(session, client=client, debtor_numbers=numbers, assigned_agent=agent, team=team)
    if held:
        case.held_by_agent_id, case.held_until = agent.id, utcnow() + holds.HOLD
    party = (await session.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    number = (await session.execute(select(PhoneNumber).where(PhoneNumber.party_id == party.id)
                                    .order_by(PhoneNumber.position))).scalars().first()
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id,
                             state=AgentState.READY if ready else AgentState.NOT_READY))
    await session.commit()
    return Desk(agent.id, agent.username, seat.id, seat.softphone_identity, case.id, party.id, number.id)


async def eventually(probe: Callable[[], Awaitable[Any] | Any], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``probe`` (a coroutine function or a plain one) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or probe}; last: {last!r}")


async def agent_state(session_factory, agent_id: int) -> AgentSession:
    async with session_factory() as s:
        return (await s.execute(select(AgentSession).where(AgentSession.agent_id == agent_id,
                                                           AgentSession.ended_at.is_(None)))).scalar_one()


def seat_of(identity: str) -> str:
    return identity.removeprefix("client:")


__all__ = ["Seat"]


# --- the service and the emulator as processes of their own (``kill -9`` and restart) --------------

DIALER = Path(sys.executable).with_name("dialer")
"""The ``dialer`` command of this environment."""


@dataclass
class Process:
    """A process a test started, answering at ``url``; its output goes to ``log``."""

    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind; its connections just drop."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """The processes a test starts (it appends them), stopped at its end, the last started first."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


def start_process(argv: list[str], *, env: dict[str, str], cwd: Path, url: str, ready_path: str, log: Path,
                  timeout: float = 60.0) -> Process:
    """Start ``argv`` and wait until ``url + ready_path`` answers 200 (or fail with its output)."""
    with log.open("ab") as out:
        process = Process(subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT), url, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + ready_path, timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.popen.poll() is not None or time.monotonic() > deadline:
            process.stop()
            raise AssertionError(f"{' '.join(argv[:2])} did not come up at {url}:\n{process.output()}")
        time.sleep(0.1)


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without its ``DIALER_`` settings, plus ``settings``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}, **settings}


def quiet_port() -> int:
    """A free loopback TCP port below the kernel's ephemeral range (and the SIP media's default
    RTP ports): while a service that was killed is down, no outgoing connection on the machine can
    take its port as a local one, as it could one that ``free_port`` found (bound to port 0)."""
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(10000, min(ephemeral, 20000))
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port

