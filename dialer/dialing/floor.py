"""What the progressive engine reads of a ready agent before it hands them a case, in one statement.

The agent's open session (locked ``SKIP LOCKED``: another engine serving the same agent makes this
one pass), their seat's softphone, their teams (the agent's and the seat's) and the running
progressive campaigns open to those teams, with each campaign client's time zone (its calendar day
decides which promises are due). One row per campaign, or one with no campaign when none runs.
Read with Core and the session handed to the session as if loaded (a dial changes its state).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from dialer.agents.models import AgentSession
from dialer.auth.models import User
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.clients.models import Client
from dialer.kit.db import table_of
from dialer.kit.sql import constant as _constant
from dialer.seats.models import Seat


@dataclass(frozen=True, slots=True)
class Running:
    """A running progressive campaign the agent works."""

    id: int
    client_id: int
    zone: str | None


@dataclass(frozen=True, slots=True)
class Floor:
    agent: AgentSession  # an instance of the session, locked
    softphone: str  # the seat's softphone identity (its leg is rung)
    teams: tuple[str, ...]
    campaigns: tuple[Running, ...]  # by id


_SESSION = table_of(AgentSession)
_SESSION_COLUMNS = tuple(column.key for column in _SESSION.columns)


def _statement():
    seat, user, campaign, client = table_of(Seat), table_of(User), table_of(Campaign), table_of(Client)
    open_to = or_(
        campaign.c.team.is_(None),
        and_(user.c.team.is_not(None), user.c.team != "", campaign.c.team == user.c.team),
        and_(seat.c.team.is_not(None), seat.c.team != "", campaign.c.team == seat.c.team),
    )
    running = and_(campaign.c.status == _constant(CampaignStatus.RUNNING.value),
                   campaign.c.mode == _constant(DialMode.PROGRESSIVE.value), open_to)
    return (
        select(*_SESSION.columns, seat.c.softphone_identity, seat.c.team.label("seat_team"),
               user.c.team.label("agent_team"), campaign.c.id.label("campaign_id"),
               campaign.c.client_id.label("campaign_client_id"), client.c.default_time_zone)
        .join(seat, seat.c.id == _SESSION.c.seat_id)
        .join(user, user.c.id == _SESSION.c.agent_id)
        .outerjoin(campaign, running)
        .outerjoin(client, client.c.id == campaign.c.client_id)
        .where(_SESSION.c.agent_id == bindparam("agent_id"), _SESSION.c.ended_at.is_(None))
        .order_by(campaign.c.id)
        .with_for_update(of=_SESSION, skip_locked=True)
    )


# HOT PATH (bench/dialer.py): the engine's one read of a ready agent; a change here is benchmarked.
_FLOOR = _statement()


async def floor_of(session: AsyncSession, *, agent_id: int) -> Floor | None:
    """The agent's open session, locked, with their seat, teams and running progressive campaigns;
    None when they are not logged in or another engine holds their session."""
    connection = await session.connection()
    rows = (await connection.execute(_FLOOR, {"agent_id": agent_id})).all()
    if not rows:
        return None
    first = rows[0]
    agent = AgentSession(**{key: first._mapping[key] for key in _SESSION_COLUMNS})
    make_transient_to_detached(agent)  # as if loaded: its changes are flushed as an UPDATE
    session.add(agent)
    teams = tuple(sorted({team for team in (first.agent_team, first.seat_team) if team}))
    campaigns = tuple(Running(row.campaign_id, row.campaign_client_id, row.default_time_zone)
                      for row in rows if row.campaign_id is not None)
    return Floor(agent, first.softphone_identity, teams, campaigns)
