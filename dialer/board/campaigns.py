"""The board's campaigns: each campaign a supervisor may see with its work now — the cases its
queue could hand out, those the policy sets aside, the dials of the last minute and its live calls."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call
from dialer.campaigns.models import Campaign
from dialer.cases.models import Case, CaseStatus
from dialer.clients.models import Client

RATE_OVER = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CampaignNow:
    id: int
    name: str
    client_code: str
    mode: str
    status: str
    team: str | None
    queue: int
    """Open cases of the campaign's client (and team) neither held, resting nor set aside now."""
    set_aside: int
    dials_last_minute: int
    live_calls: int


async def campaigns_now(session: AsyncSession, principal: Principal, *, now: dt.datetime,
                        team: str | None = None) -> list[CampaignNow]:
    wanted = principal.team if principal.role is Role.SUPERVISOR else team
    query = select(Campaign, Client.code).join(Client, Client.id == Campaign.client_id).order_by(Campaign.id)
    if principal.role is Role.SUPERVISOR:  # their team's, and those every team works
        query = query.where(or_(Campaign.team.is_(None), Campaign.team == wanted) if wanted else Campaign.team.is_(None))
    elif wanted is not None:
        query = query.where(Campaign.team == wanted)
    free = and_(or_(Case.held_until.is_(None), Case.held_until <= now),
                or_(Case.next_allowed_at.is_(None), Case.next_allowed_at <= now))
    found = []
    for campaign, code in (await session.execute(query)).all():
        cases = select(func.count(case((free, 1))), func.count(case((Case.next_allowed_at > now, 1)))).where(
            Case.client_id == campaign.client_id, Case.status == CaseStatus.OPEN,
            *([Case.team == campaign.team] if campaign.team else []))
        queue, set_aside = (await session.execute(cases)).one()
        calls = select(func.count(case((Call.requested_at > now - RATE_OVER, 1))),
                       func.count(case((Call.state.not_in([s.value for s in ENDS]), 1)))).where(
            Call.campaign_id == campaign.id, Call.requested_at > now - dt.timedelta(hours=4))
        dials, live = (await session.execute(calls)).one()
        found.append(CampaignNow(campaign.id, campaign.name, code, campaign.mode.value, campaign.status.value,
                                 campaign.team, int(queue or 0), int(set_aside or 0), int(dials or 0), int(live or 0)))
    return found
