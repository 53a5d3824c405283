"""Queries of the agents' domain: their sessions at seats and the supervisors' board."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession, AgentState
from dialer.auth.models import User
from dialer.cases.models import Case
from dialer.seats.models import Seat

# --- sessions at seats ----------------------------------------------------------------------

async def open_session(session: AsyncSession, *, agent_id: int, lock: bool = False) -> AgentSession | None:
    """The agent's open session; ``lock`` serialises the agent's own concurrent requests (PostgreSQL)."""
    query = select(AgentSession).where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_session_at_seat(session: AsyncSession, *, seat_id: int) -> AgentSession | None:
    query = select(AgentSession).where(AgentSession.seat_id == seat_id, AgentSession.ended_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def find_seat(session: AsyncSession, *, seat_id: int | None, code: str | None) -> Seat | None:
    query = select(Seat).where(Seat.id == seat_id) if seat_id is not None else select(Seat).where(Seat.code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def list_open_sessions(
    session: AsyncSession, *, team: str | None, state: AgentState | None, limit: int, after: int | None,
) -> Sequence[tuple[AgentSession, User, Seat, int | None]]:
    """Open sessions with their agent, seat and held case (the supervisor board), by session id."""
    held = (
        select(Case.id).where(Case.held_by_agent_id == AgentSession.agent_id).order_by(Case.held_until.desc())
        .limit(1).correlate(AgentSession).scalar_subquery()
    )
    query = (
        select(AgentSession, User, Seat, held)
        .join(User, User.id == AgentSession.agent_id).join(Seat, Seat.id == AgentSession.seat_id)
        .where(AgentSession.ended_at.is_(None)).order_by(AgentSession.id).limit(limit)
    )
    if team is not None:
        query = query.where(or_(User.team == team, Seat.team == team))
    if state is not None:
        query = query.where(AgentSession.state == state)
    if after is not None:
        query = query.where(AgentSession.id > after)
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(query)).all()]
