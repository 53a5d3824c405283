"""Live events for the agent desktop: ``GET /v1/agent/events``, Server-Sent Events.

The stream polls the database every ``POLL_S`` (a short read session per poll, none held open in
between) and sends a ``desk`` event whenever what the agent's screen shows changes: their session
(state, reason, mode, seat), their current call (state, whisper text, outcome...) or the case they
hold. A comment every ``KEEPALIVE_S`` keeps an idle connection open through proxies. The stream
ends when the client goes away.

Each event's data is the whole snapshot (JSON), so a page that missed one loses nothing::

    event: desk
    id: 3
    data: {"session": {...} | null, "call": {...} | null, "held_case_id": 12 | null}
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.calls.models import Call
from dialer.calls.schemas import CallOut
from dialer.cases.models import Case, CaseStatus
from dialer.kit.clock import Clock
from dialer.kit.deps import provided
from dialer.seats.models import Seat

POLL_S = 0.3
"""How often the stream looks at the database."""
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
    load: Callable[[], Awaitable[Snapshot]], *, disconnected: Callable[[], Awaitable[bool]],
    poll_s: float = POLL_S, keepalive_s: float = KEEPALIVE_S, clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    """The event stream's text: the first snapshot at once, then one event per change and a
    keep-alive comment after ``keepalive_s`` of silence, until ``disconnected()`` is true."""
    yield f"retry: {RETRY_MS}\n\n"
    last: str | None = None
    sent = 0
    quiet_since = clock()
    while not await disconnected():
        body = json.dumps(await load(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if body != last:
            last, sent = body, sent + 1
            yield f"id: {sent}\nevent: desk\ndata: {body}\n\n"
            quiet_since = clock()
        elif clock() - quiet_since >= keepalive_s:
            yield ": keep-alive\n\n"
            quiet_since = clock()
        await asyncio.sleep(poll_s)


@router.get(
    "/agent/events", response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`desk` events, see the module doc"}},
    summary="My desktop's live events (SSE): session state, current call with its whisper text, held case "
            "(agent, supervisor)",
)
async def agent_events(
    request: Request, actor: Agent, sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    clock: Annotated[Clock, Depends(provided("clock"))],
) -> StreamingResponse:
    async def load() -> Snapshot:
        return await desk_snapshot(sessions, agent_id=actor.user_id, now=clock())

    return StreamingResponse(
        desk_stream(load, disconnected=request.is_disconnected), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
