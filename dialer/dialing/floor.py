"""What the progressive engine reads of a ready agent before it hands them a case, in one statement.

The agent's open session (locked ``SKIP LOCKED``: another engine serving the same agent makes this
one pass), their seat, their teams (the agent's and the seat's) and the running progressive
campaigns open to those teams, with each campaign client's time zone (its calendar day decides
which promises are due). One row per campaign, or one with no campaign when none runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import User
from dialer.clients.models import Client
from dialer.dialing.models import Campaign, CampaignStatus, DialMode
from dialer.seats.models import AgentSession, Seat


@dataclass(frozen=True, slots=True)
class Running:
    """A running progressive campaign the agent works."""

    id: int
    client_id: int
    zone: str | None


@dataclass(frozen=True, slots=True)
class Floor:
    agent: AgentSession
    seat: Seat
    teams: tuple[str, ...]
    campaigns: tuple[Running, ...]  # by id


def _constant(value: str):
    return literal_column(f"'{value}'")


def _statement():
    seat_team, agent_team = Seat.team, User.team
    open_to = or_(
        Campaign.team.is_(None),
        and_(agent_team.is_not(None), agent_team != "", Campaign.team == agent_team),
        and_(seat_team.is_not(None), seat_team != "", Campaign.team == seat_team),
    )
    campaign = and_(Campaign.status == _constant(CampaignStatus.RUNNING.value),
                    Campaign.mode == _constant(DialMode.PROGRESSIVE.value), open_to)
    return (
        select(AgentSession, Seat, agent_team, Campaign.id, Campaign.client_id, Client.default_time_zone)
        .join(Seat, Seat.id == AgentSession.seat_id)
        .join(User, User.id == AgentSession.agent_id)
        .outerjoin(Campaign, campaign)
        .outerjoin(Client, Client.id == Campaign.client_id)
        .where(AgentSession.agent_id == bindparam("agent_id"), AgentSession.ended_at.is_(None))
        .order_by(Campaign.id)
        .with_for_update(of=AgentSession, skip_locked=True)
    )


_FLOOR = _statement()


async def floor_of(session: AsyncSession, *, agent_id: int) -> Floor | None:
    """The agent's open session, locked, with their seat, teams and running progressive campaigns;
    None when they are not logged in or another engine holds their session."""
    rows = (await session.execute(_FLOOR, {"agent_id": agent_id})).all()
    if not rows:
        return None
    agent, seat, agent_team = rows[0][0], rows[0][1], rows[0][2]
    teams = tuple(sorted({team for team in (agent_team, seat.team) if team}))
    campaigns = tuple(Running(id_, client_id, zone) for *_, id_, client_id, zone in rows if id_ is not None)
    return Floor(agent, seat, teams, campaigns)
