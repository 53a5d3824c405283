"""The board's event stream: the bus's agent and call events a principal may see, as Server-Sent
Events named by topic, with the bus's ids (a board reconnecting sends ``Last-Event-ID`` and gets
what it missed). A supervisor's stream passes on their team's agents' events; an agent who joins
the team (or sits at one of its seats) is found by one read when their first event comes, at most
every :data:`RELOAD_S`."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sse_starlette import ServerSentEvent

from dialer.live.bus import OVERFLOW, Subscription
from dialer.live.publish import AGENT, CALL, REFUSAL, SET_ASIDE, SUPERVISION

RELOAD_S = 10.0
TOPICS = frozenset({AGENT, CALL, REFUSAL, SET_ASIDE, SUPERVISION})


class Members:
    """Whose events pass: everyone's (``load`` gives None) or a set of agent ids, read again when
    an unknown agent's event comes (at most every ``reload_s``)."""

    def __init__(self, load: Callable[[], Awaitable[set[int] | None]], *, reload_s: float = RELOAD_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self._reload_s, self._clock = load, reload_s, clock
        self._ids: set[int] | None = set()
        self._loaded_at: float | None = None

    async def start(self) -> None:
        self._ids, self._loaded_at = await self._load(), self._clock()

    async def admits(self, agent_id: int | None) -> bool:
        if self._ids is None:
            return True
        if agent_id is None:
            return False
        if agent_id not in self._ids and (self._loaded_at is None or self._clock() - self._loaded_at >= self._reload_s):
            await self.start()
        return self._ids is None or agent_id in self._ids


RETRY_MS = 2000
"""Sent with the first event: how long a reconnecting client should wait."""


async def board_stream(subscription: Subscription, members: Members) -> AsyncIterator[ServerSentEvent]:
    """``ready`` at once (with the newest event id this process has told), then each event the
    principal may see, as it comes; ``resync`` when the stream fell behind (the board reads the
    floor afresh)."""
    yield ServerSentEvent(data=json.dumps({"last_event_id": subscription.bus.last_id}), event="ready",
                          retry=RETRY_MS)
    async for event in subscription:
        if event is OVERFLOW:
            yield ServerSentEvent(data="{}", event="resync")
            continue
        if event.topic not in TOPICS or not await members.admits(event.agent_id):
            continue
        yield ServerSentEvent(data=json.dumps({**event.data, "at": event.at.isoformat()}, ensure_ascii=False,
                                              separators=(",", ":")), event=event.topic, id=str(event.id))
