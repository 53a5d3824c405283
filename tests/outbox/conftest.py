"""The outbox's fixtures: a driven clock anchored at the wall clock's now, the writer session
factory, test receivers on loopback, workers, and plain factories (they flush, never commit)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.kit.clock import system_clock
from dialer.kit.db import session_factory, writer_engine
from dialer.outbox.events import emit
from dialer.outbox.models import Delivery, DeliveryAttempt, EventType, WebhookEndpoint, WebhookEvent
from dialer.outbox.signing import new_secret
from dialer.outbox.worker import DeliveryWorker
from tests.outbox.receiver import Answer, Receiver
from tests.clocks import DrivenClock

ALL_TYPES = [t.value for t in EventType]
_seq = itertools.count(1)




@pytest.fixture
def clock() -> DrivenClock:
    """The test's clock: starts at the wall clock's now (whole seconds) and moves only when told."""
    return DrivenClock(system_clock().replace(microsecond=0))


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(writer_engine(engine))


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    """Start a receiver: ``await receivers({"name": secret}, clock=…, default=Answer(…))``; all stop after the test."""
    started: list[Receiver] = []

    async def start(secrets: dict[str, str], *, clock: Callable[[], dt.datetime] | None = None,
                    default: Answer = Answer()) -> Receiver:
        receiver = Receiver(secrets, clock=clock, default=default)
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_worker(sessions: async_sessionmaker[AsyncSession], clock: DrivenClock, http: httpx.AsyncClient,
                ) -> Callable[..., DeliveryWorker]:
    """A worker on the test's clock and database; jitter off (``rand`` 0) unless given."""
    def make(**options: Any) -> DeliveryWorker:
        options.setdefault("rand", lambda: 0.0)
        options.setdefault("timeout_s", 2.0)
        return DeliveryWorker(sessions=sessions, clock=clock, http=http, **options)
    return make


async def make_endpoint(
    session: AsyncSession, *, url: str = "http://127.0.0.1:9/hooks", secret: str | None = None,
    event_types: Sequence[str] = ALL_TYPES, client_ids: list[int] | None = None, active: bool = True,
    max_in_flight: int = 4, **fields: Any,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, secret=secret or new_secret(), event_types=list(event_types),
                               client_ids=client_ids, active=active, max_in_flight=max_in_flight,
                               description=f"endpoint {next(_seq)}", **fields)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def make_event(
    session: AsyncSession, *, at: dt.datetime, type: EventType = EventType.CALL_COMPLETED,
    data: dict[str, Any] | None = None, client_id: int | None = None,
) -> WebhookEvent:
    n = next(_seq)
    event = await emit(session, type, data if data is not None else {"call": {"id": n}, "client": {"id": client_id}},
                       at=at, client_id=client_id, call_id=n)
    await session.flush()
    return event


async def deliveries(sessions: async_sessionmaker[AsyncSession], **where: Any) -> list[Delivery]:
    """The deliveries as committed now (a fresh session), oldest first; ``where``: column equals value."""
    async with sessions() as session:
        query = select(Delivery).filter_by(**where).order_by(Delivery.id)
        return list((await session.execute(query)).scalars())


async def attempts_of(sessions: async_sessionmaker[AsyncSession], delivery_id: int) -> list[DeliveryAttempt]:
    async with sessions() as session:
        query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)
        return list((await session.execute(query)).scalars())


async def endpoint_of(sessions: async_sessionmaker[AsyncSession], endpoint_id: int) -> WebhookEndpoint:
    async with sessions() as session:
        return (await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))).scalar_one()


async def drive(worker: DeliveryWorker, clock: DrivenClock, sessions: async_sessionmaker[AsyncSession], *,
                rounds: int = 50) -> int:
    """Run the worker, moving the clock to the next due delivery each time, until nothing is
    pending (or ``rounds`` passes); returns the passes made."""
    for done in range(1, rounds + 1):
        await worker.run_once()
        pending = await deliveries(sessions, status="pending")
        if not pending:
            return done
        clock.now = max(clock.now, min(d.next_attempt_at for d in pending))
    return rounds
