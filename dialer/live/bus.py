"""The bus one process holds: it learns of every committed event (a listener: :mod:`dialer.live.listen`)
and hands each to the subscriptions that want it.

A subscription is a bounded queue. It wants every event, or only those of one agent (a desktop:
the bus finds its subscribers by ``agent_id`` instead of offering each event to every desktop). A
subscriber too slow to keep up is not allowed to grow without bound: its queue is emptied and it
gets :data:`OVERFLOW` instead, after which it should read the state afresh.

Resuming (``Last-Event-ID``): :meth:`Bus.subscribe` with ``after`` first hands over what the table
holds after that id, then the live events, each once. Event ids are the table's, the same on every
replica. On PostgreSQL they are handed out when rows are inserted but told in commit order, so an
event a transaction committed late can have a lower id than one told before it; a page resuming
by id may miss such an event, which is why the pages treat events as hints and re-read state on
(re)connect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("dialer.live")

QUEUE_LIMIT = 2000
"""The events a subscription may have waiting before it is told :data:`OVERFLOW`."""
RECENT_IDS = 4096
"""How many of the newest delivered ids the bus remembers, to deliver each event once."""
BACKLOG_LIMIT = 5000
"""The most events a resuming subscription is handed from the table."""


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: dt.datetime
    topic: str
    data: dict[str, Any]

    @property
    def agent_id(self) -> int | None:
        agent = self.data.get("agent_id")
        return agent if isinstance(agent, int) else None


OVERFLOW = Event(0, dt.datetime.min.replace(tzinfo=dt.UTC), "overflow", {})
"""What a subscription that fell too far behind gets instead of the events it missed."""

Backlog = Callable[[int, int], Awaitable[list[Event]]]
"""``(after_id, limit) -> events``: the table's events after an id, in id order."""


@dataclass(eq=False)
class Subscription:
    """Read with ``async for`` (or :meth:`next` with a timeout); close when done (``with``)."""

    bus: Bus
    agent_id: int | None
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    seen: set[int] = field(default_factory=set)
    """The backlog's ids: the same events arriving live are not handed over twice."""
    pending: list[Event] | None = None
    floor: int = 0
    """A resumed subscription's ``after``: what this process tells late at or below it, the page had."""

    def offer(self, event: Event) -> None:
        if self.pending is not None:
            self.pending.append(event)
            return
        if event.id <= self.floor:
            return
        if event.id in self.seen:
            self.seen.discard(event.id)
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(OVERFLOW)
            log.warning("a live subscriber fell %d events behind: told to read afresh", QUEUE_LIMIT)

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self.bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Bus:
    """Fans events out to this process's subscriptions. Fed by :meth:`deliver` (the listener)."""

    def __init__(self, *, backlog: Backlog) -> None:
        self._backlog = backlog
        self._everything: set[Subscription] = set()
        self._by_agent: dict[int, set[Subscription]] = {}
        self.last_id = 0
        """The newest event id delivered (0 before the first)."""
        self.delivered = 0
        self._recent: deque[int] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[int] = set()

    @property
    def subscribers(self) -> int:
        return len(self._everything) + sum(len(subs) for subs in self._by_agent.values())

    async def subscribe(self, *, agent_id: int | None = None, after: int | None = None) -> Subscription:
        """A new subscription to every event (or to ``agent_id``'s); with ``after``, the table's
        events after that id come first (in id order), then the live ones, each once."""
        subscription = Subscription(self, agent_id)
        if after is not None:
            subscription.pending = []  # live events arriving while the table is read wait here
            subscription.floor = after
        (self._everything if agent_id is None else self._by_agent.setdefault(agent_id, set())).add(subscription)
        if after is not None:
            try:
                backlog = [event for event in await self._backlog(after, BACKLOG_LIMIT)
                           if agent_id is None or event.agent_id == agent_id]
            except BaseException:
                self.unsubscribe(subscription)
                raise
            arrived, subscription.pending = subscription.pending or [], None
            ids = {event.id for event in backlog}
            for event in backlog + [event for event in arrived if event.id not in ids]:
                subscription.offer(event)
            subscription.seen = ids - {event.id for event in arrived}  # their live copies may still come
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.agent_id is None:
            self._everything.discard(subscription)
            return
        subs = self._by_agent.get(subscription.agent_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._by_agent[subscription.agent_id]

    def deliver(self, event: Event) -> None:
        """One committed event, to every subscription that wants it (once: a listener catching up
        after a reconnect may read an event from the table that is also notified)."""
        if event.id in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(event.id)
        self._recent_set.add(event.id)
        self.last_id = max(self.last_id, event.id)
        self.delivered += 1
        for subscription in tuple(self._everything):
            subscription.offer(event)
        agent = event.agent_id
        if agent is not None:
            for subscription in tuple(self._by_agent.get(agent, ())):
                subscription.offer(event)
