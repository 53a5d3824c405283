"""The live events' bus on both databases: an event told once to every replica's bus, only when its
transaction commits; resuming after an id; a slow subscriber told to read afresh; on PostgreSQL a
lost listening connection made again with nothing lost, and an event too big for a notification."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.kit.db import create_engine, session_factory
from dialer.live import bus as bus_module
from dialer.live.bus import OVERFLOW, Bus, Event, Subscription
from dialer.live.listen import Listener, table_reader
from dialer.live.publish import AGENT, publish

pytestmark = pytest.mark.timeout(60)
AT = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


async def _replica(engine: AsyncEngine) -> tuple[Bus, Listener]:
    """One process's bus and listener, on an engine of its own (as another replica has)."""
    own = create_engine(engine.url.render_as_string(hide_password=False))
    bus = Bus(backlog=table_reader(own))
    listener = Listener(own, bus)
    await listener.start()
    return bus, listener


@pytest.fixture
async def replicas(engine: AsyncEngine) -> AsyncIterator[list[tuple[Bus, Listener]]]:
    started = [await _replica(engine), await _replica(engine)]
    try:
        yield started
    finally:
        for _, listener in started:
            await listener.aclose()
            await listener._engine.dispose()


async def _tell(engine: AsyncEngine, *data: dict, commit: bool = True) -> None:
    async with session_factory(engine)() as session:
        for item in data:
            publish(session, AGENT, item, at=AT)
        await session.flush()
        await (session.commit() if commit else session.rollback())


async def _take(subscription: Subscription, count: int) -> list[Event]:
    return [await asyncio.wait_for(subscription.queue.get(), 10) for _ in range(count)]


async def test_given_a_committed_event_then_every_replica_tells_it_once_with_the_same_id(engine, replicas):
    subscriptions = [await bus.subscribe() for bus, _ in replicas]

    await _tell(engine, {"agent_id": 1, "to": "ready"}, commit=False)  # rolled back: told to nobody
    await _tell(engine, {"agent_id": 1, "to": "ready"}, {"agent_id": 2, "to": "not_ready"})

    told = [await _take(subscription, 2) for subscription in subscriptions]
    assert told[0] == told[1]
    assert [(event.topic, event.data) for event in told[0]] == [
        (AGENT, {"agent_id": 1, "to": "ready"}), (AGENT, {"agent_id": 2, "to": "not_ready"})]
    assert told[0][0].at == AT and told[0][0].id < told[0][1].id
    await asyncio.sleep(0.3)
    assert all(subscription.queue.empty() for subscription in subscriptions)  # each once, nothing rolled back


async def test_given_an_agents_subscription_then_it_gets_that_agents_events_only(engine, replicas):
    bus, _ = replicas[0]
    mine = await bus.subscribe(agent_id=2)

    await _tell(engine, {"agent_id": 1}, {"agent_id": 2, "n": 1}, {"no_agent": True}, {"agent_id": 2, "n": 2})

    assert [event.data["n"] for event in await _take(mine, 2)] == [1, 2]
    mine.close()
    assert bus.subscribers == 0


async def test_given_a_page_resuming_after_an_id_then_it_gets_what_followed_then_the_live_events_each_once(
        engine, replicas):
    bus, _ = replicas[0]
    watcher = await bus.subscribe()
    await _tell(engine, *({"agent_id": 5, "n": n} for n in range(4)))
    first_four = await _take(watcher, 4)

    resumed = await replicas[1][0].subscribe(after=first_four[1].id)  # on the other replica
    await _tell(engine, {"agent_id": 5, "n": 4})

    assert [event.data["n"] for event in await _take(resumed, 3)] == [2, 3, 4]
    await asyncio.sleep(0.3)
    assert resumed.queue.empty()


async def test_given_a_subscriber_that_does_not_keep_up_then_it_is_told_to_read_afresh(monkeypatch):
    async def nothing(after: int, limit: int) -> list[Event]:
        return []

    monkeypatch.setattr(bus_module, "QUEUE_LIMIT", 3)
    bus = Bus(backlog=nothing)
    slow = await bus.subscribe()
    for n in range(1, 5):
        bus.deliver(Event(n, AT, AGENT, {}))
    bus.deliver(Event(4, AT, AGENT, {}))  # a repeat (a listener catching up): not delivered again

    assert await _take(slow, 1) == [OVERFLOW] and slow.queue.empty()
    assert (bus.last_id, bus.delivered) == (4, 4)


@pytest.mark.postgres_only
async def test_given_the_listening_connection_killed_then_it_is_made_again_and_what_committed_meanwhile_is_told(
        engine, replicas):
    bus, listener = replicas[0]
    subscription = await bus.subscribe()
    await _tell(engine, {"agent_id": 1, "n": 0})
    assert (await _take(subscription, 1))[0].data["n"] == 0

    async with engine.connect() as conn:
        killed = (await conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE query ILIKE 'LISTEN %' AND datname = current_database()"))).scalar()
    assert killed >= 1
    await _tell(engine, {"agent_id": 1, "n": 1})  # while it is down (or coming back)

    assert (await _take(subscription, 1))[0].data["n"] == 1
    await _tell(engine, {"agent_id": 1, "n": 2})
    assert (await _take(subscription, 1))[0].data["n"] == 2  # listening again


@pytest.mark.postgres_only
async def test_given_an_event_too_big_for_a_notification_then_it_is_read_and_told_whole(engine, replicas):
    bus, _ = replicas[0]
    subscription = await bus.subscribe()

    await _tell(engine, {"agent_id": 1, "note": "x" * 9000})

    [event] = await _take(subscription, 1)
    assert event.data["note"] == "x" * 9000 and event.topic == AGENT


async def test_given_events_older_than_a_day_then_the_purge_deletes_them_and_keeps_the_rest(engine, session):
    from sqlalchemy import func, select

    from dialer.live.models import LiveEvent
    from dialer.live.purge import KEEP, purge_job

    for at in (AT - KEEP - dt.timedelta(seconds=1), AT - KEEP + dt.timedelta(seconds=1), AT):
        publish(session, AGENT, {"agent_id": 1}, at=at)
    await session.commit()

    assert await purge_job(session, now=AT) == {"deleted": 1}
    await session.commit()
    assert (await session.execute(select(func.count()).select_from(LiveEvent))).scalar() == 2
