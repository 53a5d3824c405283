"""``/v1/board``: the supervisor board's floor and its live events (supervisor: their team;
admin: every team)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.board import floor as floors
from dialer.board import campaigns as campaign_work
from dialer.board import pressure as compliance_now
from dialer.board.schemas import (
    CampaignOut,
    ClosingOut,
    ComplianceNow,
    Floor,
    FloorAgent,
    FloorCall,
    FloorSeat,
    FloorSupervisor,
    PressureOut,
    Thresholds,
)
from dialer.board.stream import Members, board_stream
from dialer.calls.models import CallState, Supervision
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.live.bus import Bus
from dialer.live.sse import live_bus, resume_from
from dialer.settings import Settings

router = APIRouter(prefix="/board", tags=["board"])

Supervisors = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
KEEPALIVE_S = 15.0


def _thresholds(settings: Settings) -> Thresholds:
    return Thresholds(long_call_s=settings.board_long_call_s, long_wrap_up_s=settings.board_long_wrap_up_s,
                      long_not_ready_s=settings.board_long_not_ready_s, long_idle_s=settings.board_long_idle_s)


def _agent(row: floors.FloorRow, supervisors: dict[int, list[tuple[Supervision, str]]]) -> FloorAgent:
    call = row.call
    return FloorAgent(
        session_id=row.agent.id, agent_id=row.user.id, username=row.user.username, display_name=row.user.display_name,
        team=row.user.team, seat=FloorSeat(id=row.seat.id, code=row.seat.code), state=row.agent.state,
        state_reason=row.agent.state_reason, state_since=row.agent.state_since, mode=row.agent.mode,
        call=None if call is None else FloorCall(
            id=call.id, state=call.state, direction=call.direction,
            party_role=row.party.role.value if row.party else None,
            relation=row.party.relation.value if row.party and row.party.relation else None,
            client_code=row.client_code, requested_at=call.requested_at, answered_at=call.answered_at,
            bridged_at=call.bridged_at,
            supervisable=call.state is CallState.BRIDGED and call.conference_name is not None,
            supervisors=[FloorSupervisor(supervisor_id=s.supervisor_id, display_name=name,
                                         participant_call_id=s.participant_call_id, mode=s.mode, mode_since=s.mode_since)
                         for s, name in supervisors.get(call.id, [])]),
    )


@router.get("/floor", response_model=Floor,
            summary="The live floor: every logged-in agent of my team (all teams, or `team`, for an admin) with "
                    "state, time in state, seat, mode and current call; the alert thresholds (supervisor, admin)")
async def floor(
    session: SessionDep, actor: Supervisors, now: NowDep, bus: Annotated[Bus, Depends(live_bus)],
    settings: Annotated[Settings, Depends(provided("settings"))],
    team: Annotated[str | None, Query(max_length=64, description="Admins: one team only")] = None,
) -> Floor:
    last = bus.last_id  # read first: an event after it may already be in the rows, never the reverse
    rows = await floors.floor(session, actor, team=team)
    supervisors = await floors.supervisors_on(session, [row.call.id for row in rows if row.call is not None])
    return Floor(now=now, last_event_id=last, thresholds=_thresholds(settings),
                 agents=[_agent(row, supervisors) for row in rows])


@router.get("/compliance", response_model=ComplianceNow,
            summary="Compliance at work now: parties at a cap or one attempt from it, parties under a Reg F pause, "
                    "calling windows closing within 30 minutes with the cases they hold (supervisor: my team; admin: "
                    "all or `team`)")
async def compliance(
    session: SessionDep, actor: Supervisors, now: NowDep,
    team: Annotated[str | None, Query(max_length=64, description="Admins: one team only")] = None,
) -> ComplianceNow:
    pressure = await compliance_now.cap_pressure(session, actor, now=now, team=team)
    closing = await compliance_now.windows_closing(session, actor, now=now, team=team)
    return ComplianceNow(now=now, pressure=[PressureOut.model_validate(p) for p in pressure],
                         closing=[ClosingOut.model_validate(c) for c in closing])


@router.get("/campaigns", response_model=list[CampaignOut],
            summary="Campaigns with their work now: queue depth, cases set aside, dials in the last minute, live "
                    "calls (supervisor: my team's and every team's; admin: all or `team`)")
async def campaigns(
    session: SessionDep, actor: Supervisors, now: NowDep,
    team: Annotated[str | None, Query(max_length=64, description="Admins: one team only")] = None,
) -> list[CampaignOut]:
    return [CampaignOut.model_validate(c) for c in await campaign_work.campaigns_now(session, actor, now=now, team=team)]


@router.get(
    "/events", response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`ready` at once; `agent`, `call`, `refusal` and `set_aside` events "
                                    "(the bus's data, dialer.live.publish); `resync` when fallen behind"}},
    summary="The floor's live events (SSE), resumable with Last-Event-ID (supervisor: my team; admin: all)",
)
async def events(
    request: Request, actor: Supervisors, bus: Annotated[Bus, Depends(live_bus)],
    sessions: Annotated[async_sessionmaker[AsyncSession], Depends(provided("sessions"))],
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Resume after this event id (as Last-Event-ID)")]
    = None,
) -> EventSourceResponse:
    async def members_now() -> set[int] | None:
        async with sessions() as session:
            return await floors.team_agents(session, actor)

    members = Members(members_now)
    await members.start()
    resume = resume_from(request) if after is None else after

    async def stream() -> AsyncIterator[ServerSentEvent]:
        with await bus.subscribe(after=resume) as subscription:
            async for event in board_stream(subscription, members):
                yield event

    return EventSourceResponse(stream(), ping=KEEPALIVE_S, headers={"Cache-Control": "no-cache",
                                                                   "X-Accel-Buffering": "no"})
