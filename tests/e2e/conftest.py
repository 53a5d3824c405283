"""End to end: the service served by uvicorn on loopback, the local Twilio emulator driven by the
real twilio SDK, and the signed webhooks between them. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
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
