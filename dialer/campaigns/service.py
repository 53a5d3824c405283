"""Campaigns: a client's portfolio worked by a team in preview or progressive mode; running,
paused or stopped by a supervisor. The progressive engine dials only for a running campaign."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.campaigns.models import Campaign, CampaignStatus, DialMode
from dialer.clients.models import Client
from dialer.kit.errors import InvalidInput, NotFound


async def create(session: AsyncSession, *, actor: Principal, client_id: int, name: str, mode: DialMode,
                 team: str | None) -> Campaign:
    if await session.get(Client, client_id) is None:
        raise InvalidInput(f"client {client_id} does not exist", field="client_id")
    campaign = Campaign(client_id=client_id, name=name, mode=mode, team=team, status=CampaignStatus.PAUSED)
    session.add(campaign)
    await session.flush()
    await audit.record(session, action="campaign.create", actor=actor, entity="campaign", entity_id=campaign.id,
                       client_id=client_id, mode=mode.value, team=team)
    return campaign


async def set_status(session: AsyncSession, *, actor: Principal, campaign_id: int, status: CampaignStatus) -> Campaign:
    campaign = await session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if campaign.status is not status:
        before, campaign.status = campaign.status, status
        await audit.record(session, action="campaign.status", actor=actor, entity="campaign", entity_id=campaign.id,
                           **{"from": before.value, "to": status.value})
    return campaign


async def list_campaigns(session: AsyncSession, *, status: CampaignStatus | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list((await session.execute(query)).scalars())


async def running_progressive_for(session: AsyncSession, *, teams: tuple[str, ...]) -> list[Campaign]:
    """The running progressive campaigns an agent of ``teams`` works: their teams' own, and those
    open to every team."""
    query = (
        select(Campaign)
        .where(Campaign.status == CampaignStatus.RUNNING, Campaign.mode == DialMode.PROGRESSIVE)
        .where(or_(Campaign.team.is_(None), Campaign.team.in_(teams) if teams else Campaign.team.is_(None)))
        .order_by(Campaign.id)
    )
    return list((await session.execute(query)).scalars())
