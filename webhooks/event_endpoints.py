"""The carrier events inbox as operators see it: what is waiting, what failed and why, and a retry now."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from dialer.audit import service as audit
from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import AfterId, RowId
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.errors import Conflict, NotFound
from dialer.kit.schemas import Page, page_of
from webhooks.inbox import Inbox
from webhooks.models import CarrierEvent

router = APIRouter(tags=["carrier events"])

Supervisors = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Admins = Annotated[Principal, Depends(require(Role.ADMIN))]


class CarrierEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    carrier: str
    kind: str
    event_key: str
    carrier_call_id: str | None
    call_id: int | None
    leg: str | None
    payload: dict[str, Any]
    received_at: dt.datetime
    processed_at: dt.datetime | None
    outcome: str | None
    attempts: int
    retry_at: dt.datetime | None
    error: str | None


@router.get("/carrier-events", response_model=Page[CarrierEventOut],
            summary="Carrier callbacks as stored: failing (set aside, with the error), pending, or a call's "
                    "(supervisor, admin)")
async def list_events(
    session: SessionDep, _: Supervisors,
    state: Annotated[Literal["failing", "pending", "all"], Query(
        description="failing: set aside after an error, retried with back-off; pending: not applied yet")] = "failing",
    call_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, after: AfterId | None = None,
) -> Page[CarrierEventOut]:
    query = select(CarrierEvent).order_by(CarrierEvent.id).limit(limit)
    if state != "all":
        query = query.where(CarrierEvent.processed_at.is_(None))
    if state == "failing":
        query = query.where(CarrierEvent.error.is_not(None))
    if call_id is not None:
        query = query.where(CarrierEvent.call_id == call_id)
    if after is not None:
        query = query.where(CarrierEvent.id > after)
    return page_of((await session.execute(query)).scalars().all(), limit, CarrierEventOut)


@router.post("/carrier-events/{event_id}/retry", response_model=CarrierEventOut,
             summary="Retry a failing carrier event now instead of at its back-off time (admin)")
async def retry_event(event_id: RowId, session: SessionDep, principal: Admins, now: NowDep,
                      inbox: Annotated[Inbox | None, Depends(provided("inbox"))], after: BackgroundTasks,
) -> CarrierEventOut:
    event = await session.get(CarrierEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound(f"carrier event {event_id} does not exist")
    if event.processed_at is not None:
        raise Conflict(f"carrier event {event_id} was applied at {event.processed_at.isoformat()} "
                       f"({event.outcome}); there is nothing to retry")
    event.retry_at = now
    await audit.record(session, action="carrier_event.retry", actor=principal, entity="carrier_event",
                       entity_id=event.id, attempts=event.attempts, error=event.error)
    if inbox is not None:
        after.add_task(inbox.wake)  # once committed
    return CarrierEventOut.model_validate(event)
