"""Legal holds and the completeness audit over HTTP (thin: parse, one service call, answer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import Day, RowId
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.schemas import Schema
from recordings import retention
from recordings.completeness import audit_day
from recordings.models import HoldScope
from recordings.storage import RecordingStorage

router = APIRouter(tags=["recordings"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
StorageDep = Annotated[RecordingStorage, Depends(provided("storage"))]
SettingsDep = Annotated[Any, Depends(provided("settings"))]


class HoldIn(Schema):
    scope: HoldScope
    scope_id: RowId
    reason: str = Field(min_length=1, max_length=retention.MAX_REASON)


class LiftIn(Schema):
    reason: str = Field(min_length=1, max_length=500)


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    scope: HoldScope
    scope_id: int
    reason: str
    set_by: int | None
    set_at: dt.datetime
    lifted_by: int | None
    lifted_at: dt.datetime | None
    lift_reason: str | None
    recordings_changed: int | None = None


def _out(hold: Any, changed: int | None = None) -> HoldOut:
    out = HoldOut.model_validate(hold)
    out.recordings_changed = changed
    return out


@router.post("/legal-holds", response_model=HoldOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "No such call, party or case (`not_found`)"}},
             summary="Hold a call's, a party's or a case's recordings past their retention (supervisor, admin)")
async def place_hold(body: HoldIn, session: SessionDep, now: NowDep, actor: Supervisor) -> HoldOut:
    hold, changed = await retention.place_hold(session, scope=body.scope, scope_id=body.scope_id, reason=body.reason,
                                               actor=actor, now=now)
    return _out(hold, changed)


@router.post("/legal-holds/{hold_id}/lift", response_model=HoldOut,
             responses={409: {"description": "`conflict`: lifted already"}},
             summary="Lift a legal hold, saying why (supervisor, admin)")
async def lift_hold(hold_id: RowId, body: LiftIn, session: SessionDep, now: NowDep, actor: Supervisor) -> HoldOut:
    hold, changed = await retention.lift_hold(session, hold_id=hold_id, reason=body.reason, actor=actor, now=now)
    return _out(hold, changed)


@router.get("/legal-holds", response_model=list[HoldOut], summary="Legal holds, active ones unless all=true (supervisor, admin)")
async def list_holds(session: SessionDep, _: Supervisor, all: bool = False, scope: HoldScope | None = None,
                     scope_id: RowId | None = None) -> list[HoldOut]:
    return [_out(hold) for hold in await retention.holds(session, active_only=not all, scope=scope,
                                                         scope_id=scope_id)]


@router.get("/audit/recordings", summary="The completeness audit of one day: every gap with its reason (supervisor, admin)")
async def completeness(session: SessionDep, storage: StorageDep, settings: SettingsDep, now: NowDep, _: Supervisor,
                       day: Annotated[Day, Query(description="The day, in the agency's zone")],
                       verify: bool = True) -> dict[str, Any]:
    report = await audit_day(session, day=day, zone=settings.default_time_zone, storage=storage, now=now,
                             verify=verify)
    return report.as_dict()
