"""How a process's bus learns of committed events.

- **PostgreSQL**: one connection of its own ``LISTEN``\\s on :data:`CHANNEL`; the ``live_events``
  table's trigger notifies each row at commit (the whole event, or only its id when it would not
  fit in a notification: then it is read). Lost, the connection is made again with back-off, and
  what was committed meanwhile is read from the table.
- **SQLite** (one process): the table is read every :data:`POLL_S` after the last id seen; SQLite's
  single writer hands out ids in commit order, so nothing committed can appear behind the cursor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.kit.db import is_postgres, session_factory
from dialer.live.bus import Backlog, Bus, Event
from dialer.live.models import LiveEvent

log = logging.getLogger("dialer.live")

CHANNEL = "dialer_live"
"""The ``NOTIFY`` channel (the migration's trigger names it too)."""
POLL_S = 0.1
"""SQLite: how often the table is read for new events."""
START_WAIT_S = 5.0
"""How long the service's start waits for the listener to reach the database."""
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)
"""PostgreSQL: the waits before each new try at the listening connection (the last one repeats)."""


def _event(row: LiveEvent) -> Event:
    return Event(row.id, row.at, row.topic, dict(row.data))


def table_reader(engine: AsyncEngine) -> Backlog:
    """The table's events after an id, in id order (what a resuming subscription is handed)."""
    sessions = session_factory(engine)

    async def read(after: int, limit: int) -> list[Event]:
        async with sessions() as session:
            rows = (await session.execute(
                select(LiveEvent).where(LiveEvent.id > after).order_by(LiveEvent.id).limit(limit))).scalars()
            return [_event(row) for row in rows]

    return read


async def newest_id(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int((await session.execute(select(LiveEvent.id).order_by(LiveEvent.id.desc()).limit(1))).scalar() or 0)


class Listener:
    """Feeds ``bus`` from the database until closed; :meth:`start` returns once it listens."""

    def __init__(self, engine: AsyncEngine, bus: Bus) -> None:
        self._engine = engine
        self._bus = bus
        self._read = table_reader(engine)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._primed = False

    async def start(self) -> None:
        """Listen; returns once listening, or after :data:`START_WAIT_S` with the database not
        answering (the service starts anyway and reports not ready; the listener keeps trying and
        tells only what is committed after it first reaches the database)."""
        run = self._listen if is_postgres(self._engine) else self._poll
        self._task = asyncio.create_task(run(), name="live-events-listener")
        listening = asyncio.create_task(self._listening.wait())
        await asyncio.wait({listening, self._task}, timeout=START_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        listening.cancel()
        if not self._listening.is_set():
            log.warning("live events: the database does not answer yet; listening in the background")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _catch_up(self) -> None:
        """Deliver what the table holds after the newest id delivered (the first time: start after
        the newest row, so a page is not told a day of old events)."""
        if not self._primed:
            self._bus.last_id = max(self._bus.last_id, await newest_id(self._engine))
            self._primed = True
            return
        while batch := await self._read(self._bus.last_id, 1000):
            for event in batch:
                self._bus.deliver(event)

    async def _poll(self) -> None:
        while True:
            try:
                await self._catch_up()
                self._listening.set()
            except Exception as exc:  # a locked, busy or missing database: the next tick tries again
                log.warning("reading live events failed: %s", exc)
            await asyncio.sleep(POLL_S)

    async def _listen(self) -> None:
        import asyncpg

        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        tries = 0
        while True:
            lost = asyncio.Event()
            connection = None
            try:
                connection = await asyncpg.connect(dsn)
                connection.add_termination_listener(lambda _connection: lost.set())
                received: asyncio.Queue[str] = asyncio.Queue()
                await connection.add_listener(CHANNEL, lambda *args: received.put_nowait(args[-1]))
                await self._catch_up()  # what committed before the LISTEN (or while it was down)
                self._listening.set()
                tries = 0
                await self._relay(received, lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the live events' connection failed (%s); trying again", exc)
            finally:
                if connection is not None and not connection.is_closed():
                    await connection.close(timeout=2)
            await asyncio.sleep(RECONNECT_S[min(tries, len(RECONNECT_S) - 1)])
            tries += 1

    async def _relay(self, received: asyncio.Queue[str], lost: asyncio.Event) -> None:
        """Deliver each notification until the connection is lost (or the task cancelled)."""
        gone = asyncio.ensure_future(lost.wait())
        try:
            while True:
                waiting = asyncio.ensure_future(received.get())
                try:
                    await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiting.cancel()
                if not waiting.cancelled() and waiting.done():
                    await self._notified(waiting.result())
                elif gone.done():
                    return
        finally:
            gone.cancel()

    async def _notified(self, payload: str) -> None:
        told: dict[str, Any] = json.loads(payload)
        if "topic" not in told:  # too big for a notification: read it
            for event in await self._read(told["id"] - 1, 1):
                if event.id == told["id"]:
                    self._bus.deliver(event)
            return
        at = dt.datetime.fromisoformat(told["at"])
        self._bus.deliver(Event(told["id"], at if at.tzinfo else at.replace(tzinfo=dt.UTC), told["topic"],
                                told["data"]))
