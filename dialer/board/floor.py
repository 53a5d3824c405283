"""What the board's floor shows at one instant: each logged-in agent a supervisor may see, with
their state, seat, mode and current call (its party's role and relation), read in one query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import AgentSession
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.calls.models import Call, Supervision
from dialer.cases.models import Party
from dialer.clients.models import Client
from dialer.seats.models import Seat


@dataclass(frozen=True, slots=True)
class FloorRow:
    agent: AgentSession
    user: User
    seat: Seat
    call: Call | None
    party: Party | None
    client_code: str | None


def seen_by(principal: Principal, team: str | None = None) -> list[ColumnElement[bool]]:
    """The sessions ``principal`` may see on the board: a supervisor their own team's (the agent's
    team, or a seat of the team), an admin every team's or ``team``'s."""
    wanted = principal.team if principal.role is Role.SUPERVISOR else team
    if principal.role is Role.SUPERVISOR and wanted is None:
        return [User.id.is_(None)]  # a supervisor of no team sees nobody
    return [] if wanted is None else [or_(User.team == wanted, Seat.team == wanted)]


async def floor(session: AsyncSession, principal: Principal, *, team: str | None = None) -> list[FloorRow]:
    query = (
        select(AgentSession, User, Seat, Call, Party, Client.code)
        .join(User, User.id == AgentSession.agent_id).join(Seat, Seat.id == AgentSession.seat_id)
        .outerjoin(Call, Call.id == AgentSession.current_call_id).outerjoin(Party, Party.id == Call.party_id)
        .outerjoin(Client, Client.id == Call.client_id)
        .where(AgentSession.ended_at.is_(None), *seen_by(principal, team))
        .order_by(User.team, User.display_name, AgentSession.id)
    )
    return [FloorRow(*row) for row in (await session.execute(query)).all()]


async def team_agents(session: AsyncSession, principal: Principal) -> set[int] | None:
    """The agents whose events a principal's board stream passes on (None: everyone's)."""
    if principal.role is not Role.SUPERVISOR:
        return None
    if principal.team is None:
        return set()
    seats_of_team = select(AgentSession.agent_id).join(Seat, Seat.id == AgentSession.seat_id).where(
        AgentSession.ended_at.is_(None), Seat.team == principal.team)
    query = select(User.id).where(or_(User.team == principal.team, User.id.in_(seats_of_team)))
    return set((await session.execute(query)).scalars())


async def supervisors_on(session: AsyncSession, call_ids: list[int]) -> dict[int, list[tuple[Supervision, str]]]:
    """Who supervises these calls now (with their names), by call, first joined first."""
    if not call_ids:
        return {}
    query = (select(Supervision, User.display_name).join(User, User.id == Supervision.supervisor_id)
             .where(Supervision.call_id.in_(call_ids), Supervision.ended_at.is_(None)).order_by(Supervision.id))
    found: dict[int, list[tuple[Supervision, str]]] = {}
    for supervision, name in (await session.execute(query)).all():
        found.setdefault(supervision.call_id, []).append((supervision, name))
    return found


def seconds_since(instant: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if instant is None else max(0, int((now - instant).total_seconds()))
