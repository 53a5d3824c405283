"""Live events for the agent desktop: ``GET /v1/agent/events``, Server-Sent Events.

The stream follows the live events' bus (:mod:`dialer.live`): whenever an event about the agent
arrives (their state, their call's state) it reads what the agent's screen shows in one short
query — their session (state, reason, mode, seat), their current call (state, whisper text,
outcome...) and the case they hold — and sends a ``desk`` event if that changed. Nothing is read
while nothing happens, except one safety re-read every ``RESYNC_S``. A comment every ``KEEPALIVE_S``
keeps an idle connection open through proxies. The stream ends when the client goes away.

Each event's data is the whole snapshot (JSON), so a page that missed one loses nothing; its id is
the bus event it follows::

    event: desk
    id: 3127
    data: {"session": {...} | null, "call": {...} | null, "held_case_id": 12 | null}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.calls.schemas import CallOut
from dialer.cases.models import Case, CaseStatus
from dialer.kit.clock import Clock
from dialer.kit.deps import provided
from dialer.live.bus import Bus, Subscription
from dialer.live.sse import live_bus
from dialer.seats.models import Seat

RESYNC_S = 30.0
"""The longest the stream goes without reading the desk: a safety net, not the way changes come."""
KEEPALIVE_S = 15.0
"""The longest silence on the stream: a comment is sent after it."""
RETRY_MS = 2000
"""Sent once as ``retry:``: how long a reconnecting client should wait."""

router = APIRouter(tags=["agent"])

Agent = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR))]
Snapshot = dict[str, Any]


async def desk_snapshot(
    sessions: async_sessionmaker[AsyncSession], *, agent_id: int, now: dt.datetime,
) -> Snapshot:
    """What the agent's desktop shows, read in one short session with one query: the open session
    at its seat, the current call, the case held now."""
    held = (
        select(Case.id)
        .where(Case.held_by_agent_id == agent_id, Case.held_until > now, Case.status == CaseStatus.OPEN)
        .order_by(Case.held_until.desc()).limit(1).scalar_subquery()
    )
    query = (
        select(AgentSession, Seat, Call, held.label("held_case_id"))
        .join(Seat, Seat.id == AgentSession.seat_id)
        .outerjoin(Call, Call.id == AgentSession.current_call_id)
        .where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
    )
    async with sessions() as session:
        row = (await session.execute(query)).first()
    if row is None:
        return {"session": None, "call": None, "held_case_id": None}
    agent, seat, call, held_case_id = row
    return {
        "session": {
            "id": agent.id, "state": agent.state.value, "state_reason": agent.state_reason,
            "state_since": agent.state_since.isoformat(), "mode": agent.mode,
            "seat": {"id": seat.id, "code": seat.code}, "current_call_id": agent.current_call_id,
        },
        "call": CallOut.model_validate(call).model_dump(mode="json", exclude={"recordings"}) if call else None,
        "held_case_id": held_case_id,
    }


async def desk_stream(
    load: Callable[[], Awaitable[Snapshot]], subscription: Subscription, *, resync_s: float = RESYNC_S,
) -> AsyncIterator[ServerSentEvent]:
    """The stream's events: the desk at once, then the desk again after each event about the agent
    (those already waiting are taken together: one read for a burst), when it changed."""
    last = ""
    event_id = subscription.bus.last_id
    first = True
    while True:
        body = json.dumps(await load(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if body != last:
            last = body
            yield ServerSentEvent(data=body, event="desk", id=str(event_id), retry=RETRY_MS if first else None)
            first = False
        event = await subscription.next(timeout=resync_s)
        while event is not None:
            event_id = max(event_id, event.id)
            event = subscription.queue.get_nowait() if not subscription.queue.empty() else None


@router.get(
    "/agent/events", response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`desk` events, see the module doc"}},
    summary="My desktop's live events (SSE): session state, current call with its whisper text, held case "
            "(agent, supervisor)",
)
async def agent_events(
    actor: Agent, sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    clock: Annotated[Clock, Depends(provided("clock"))], bus: Annotated[Bus, Depends(live_bus)],
) -> EventSourceResponse:
    async def load() -> Snapshot:
        return await desk_snapshot(sessions, agent_id=actor.user_id, now=clock())

    async def events() -> AsyncIterator[ServerSentEvent]:
        with await bus.subscribe(agent_id=actor.user_id) as subscription:
            async for event in desk_stream(load, subscription):
                yield event

    return EventSourceResponse(events(), ping=KEEPALIVE_S, headers={"Cache-Control": "no-cache",
                                                                   "X-Accel-Buffering": "no"})
