"""Campaigns: create, start (running), pause and stop (supervisors, admins); list (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import ConfigDict, Field

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.campaigns import service as campaigns
from dialer.campaigns.models import CampaignStatus, DialMode
from dialer.kit.bounds import RowId
from dialer.kit.deps import SessionDep, WakeDep
from dialer.kit.schemas import Schema

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Staff = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]


class CampaignIn(Schema):
    client_id: RowId
    name: str = Field(min_length=1, max_length=128)
    mode: DialMode = DialMode.PREVIEW
    team: str | None = Field(default=None, max_length=64, description="None: every team works it.")


class StatusIn(Schema):
    status: CampaignStatus


class CampaignOut(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: int
    name: str
    mode: DialMode
    status: CampaignStatus
    team: str | None


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED,
             summary="Create a campaign, paused until started (supervisor, admin)")
async def create(body: CampaignIn, session: SessionDep, actor: Supervisor) -> CampaignOut:
    return CampaignOut.model_validate(await campaigns.create(session, actor=actor, client_id=body.client_id,
                                                             name=body.name, mode=body.mode, team=body.team))


@router.get("", response_model=list[CampaignOut], summary="Campaigns, optionally by status (agent, supervisor, admin)")
async def list_all(session: SessionDep, _: Staff, status: CampaignStatus | None = None) -> list[CampaignOut]:
    return [CampaignOut.model_validate(c) for c in await campaigns.list_campaigns(session, status=status)]


@router.post("/{campaign_id}/status", response_model=CampaignOut,
             summary="Start (running), pause or stop a campaign; stopped means the engine dials no more for it "
                     "(supervisor, admin)")
async def set_status(campaign_id: RowId, body: StatusIn, session: SessionDep, wake: WakeDep,
                     actor: Supervisor) -> CampaignOut:
    campaign = await campaigns.set_status(session, actor=actor, campaign_id=campaign_id, status=body.status)
    if body.status is CampaignStatus.RUNNING:
        wake()
    return CampaignOut.model_validate(campaign)
