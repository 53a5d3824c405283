"""The agent's own API (session at a seat, states, mode) and the supervisors' board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query

from dialer.agents import service
from dialer.agents.models import AgentState
from dialer.agents.schemas import (
    BoardRow,
    ForceLogoutIn,
    LoginIn,
    ModeIn,
    SeatBrief,
    SessionOut,
    StateIn,
)
from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import AfterId, RowId
from dialer.kit.deps import NowDep, SessionDep, WakeDep
from dialer.kit.schemas import Page

router = APIRouter(tags=["agent"])

Agent = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR))]
Supervisors = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]


def _out(view: service.SessionView) -> SessionOut:
    a = view.agent
    return SessionOut(
        id=a.id, agent_id=a.agent_id, seat=SeatBrief.model_validate(view.seat), state=a.state,
        state_reason=a.state_reason, state_since=a.state_since, mode=a.mode, current_call_id=a.current_call_id,
        held_case_id=view.held_case_id, started_at=a.started_at,
    )


def _row(e: service.BoardEntry) -> BoardRow:
    return BoardRow(
        id=e.agent.id, agent_id=e.agent.agent_id, username=e.user.username, display_name=e.user.display_name,
        team=e.user.team, seat=SeatBrief.model_validate(e.seat), state=e.agent.state,
        state_reason=e.agent.state_reason, state_since=e.agent.state_since, mode=e.agent.mode,
        current_call_id=e.agent.current_call_id, held_case_id=e.held_case_id, started_at=e.agent.started_at,
    )


@router.post("/agent/session", response_model=SessionOut,
             responses={404: {"description": "No such seat (`not_found`)"},
                        409: {"description": "`seat_taken`, `seat_inactive` or `already_logged_in`"}},
             summary="Log in at a registered seat (agent, supervisor)")
async def login(body: LoginIn, session: SessionDep, actor: Agent, now: NowDep) -> SessionOut:
    return _out(await service.login(session, actor=actor, seat_id=body.seat_id, seat_code=body.seat_code,
                                    mode=body.mode, now=now))


@router.get("/agent/session", response_model=SessionOut,
            responses={404: {"description": "`not_logged_in`: not logged in at a seat"}},
            summary="My session: seat, state and since when, mode, current call, held case (agent, supervisor)")
async def my_session(session: SessionDep, actor: Agent, now: NowDep) -> SessionOut:
    return _out(await service.current(session, agent_id=actor.user_id, now=now))


@router.delete("/agent/session", response_model=SessionOut,
               responses={404: {"description": "`not_logged_in`: not logged in at a seat"},
                          409: {"description": "`illegal_agent_transition` (during a call) or `wrap_up_pending`"}},
               summary="Log out; refused during a call and until the wrap-up note is saved (agent, supervisor)")
async def logout(session: SessionDep, actor: Agent, now: NowDep) -> SessionOut:
    return _out(await service.logout(session, actor=actor, now=now))


@router.post("/agent/state", response_model=SessionOut,
             responses={404: {"description": "`not_logged_in`: not logged in at a seat"},
                        409: {"description": "`illegal_agent_transition` or `wrap_up_pending`"}},
             summary="Ready, or not ready with a reason code (agent, supervisor)")
async def set_state(body: StateIn, session: SessionDep, actor: Agent, now: NowDep, wake: WakeDep,
                    after: BackgroundTasks) -> SessionOut:
    reason = body.reason.value if body.reason else None
    view = await service.set_state(session, actor=actor, state=body.state, reason=reason, now=now)
    if view.agent.state is AgentState.READY:
        after.add_task(wake, actor.user_id)  # once committed: progressive dials at once
    return _out(view)


@router.post("/agent/mode", response_model=SessionOut,
             responses={404: {"description": "`not_logged_in`: not logged in at a seat"},
                        409: {"description": "`agent_busy`: not while on a call or in wrap-up"}},
             summary="Preview or progressive (agent, supervisor)")
async def set_mode(body: ModeIn, session: SessionDep, actor: Agent, now: NowDep, wake: WakeDep,
                   after: BackgroundTasks) -> SessionOut:
    view = await service.set_mode(session, actor=actor, mode=body.mode, now=now)
    if view.agent.state is AgentState.READY:
        after.add_task(wake, actor.user_id)
    return _out(view)


@router.get("/agents", response_model=Page[BoardRow],
            summary="Logged-in agents with their states, seats and held cases (supervisor, admin)")
async def list_agents(
    session: SessionDep, _: Supervisors, team: str | None = None, state: AgentState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200, after: AfterId | None = None,
) -> Page[BoardRow]:
    items = [_row(e) for e in await service.board(session, team=team, state=state, limit=limit, after=after)]
    return Page(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.post("/agents/{agent_id}/logout", response_model=SessionOut,
             summary="Force an agent's logout, whatever their state; audited (supervisor, admin)")
async def force_logout(
    agent_id: RowId, session: SessionDep, actor: Supervisors, now: NowDep, body: ForceLogoutIn | None = None,
) -> SessionOut:
    return _out(await service.force_logout(session, agent_id=agent_id, actor=actor,
                                           reason=body.reason if body else None, now=now))
