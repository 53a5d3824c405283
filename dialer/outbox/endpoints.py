"""Integration endpoints (webhooks out), their deliveries, and replay. Admins manage endpoints; an
integration user reads and replays the deliveries of the endpoints it owns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import AfterId, Instant, RowId
from dialer.kit.deps import NowDep, SessionDep
from dialer.kit.schemas import Page, page_of
from dialer.outbox import service
from dialer.outbox.models import DeliveryStatus, EventType
from dialer.outbox.schemas import (
    DeliveryDetail, DeliveryPage, EndpointCreate, EndpointOut, EndpointReplay, EndpointUpdate, EndpointWithSecret,
    ReplayOut, SecretRotation,
)

router = APIRouter(prefix="/integrations", tags=["integrations (webhooks out)"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Readers = Annotated[Principal, Depends(require(Role.ADMIN, Role.INTEGRATION))]
Limit = Annotated[int, Query(ge=1, le=500)]
Since = Annotated[Instant | None, Query(description="Events that occurred at or after this instant")]
Until = Annotated[Instant | None, Query(description="Events that occurred before this instant")]
Cursor = Annotated[AfterId | None, Query(description="`next_cursor` of the page before")]


@router.post("/endpoints", response_model=EndpointWithSecret, status_code=status.HTTP_201_CREATED,
             summary="Add an integration endpoint (admin); its signing secret is in this response only")
async def create_endpoint(body: EndpointCreate, session: SessionDep, now: NowDep, actor: Admin) -> EndpointWithSecret:
    issued = await service.create_endpoint(session, actor=actor, now=now, data=body)
    return EndpointWithSecret.of(issued.endpoint, issued.secret)


@router.get("/endpoints", response_model=Page[EndpointOut],
            summary="List integration endpoints, without secrets (admin: all; integration: its own)")
async def list_endpoints(session: SessionDep, actor: Readers, limit: Limit = 50,
                         after: AfterId | None = None) -> Page[EndpointOut]:
    return page_of(await service.list_endpoints(session, actor=actor, limit=limit, after=after), limit, EndpointOut)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut,
            summary="Read an integration endpoint, without its secret (admin; integration: its own)")
async def get_endpoint(endpoint_id: RowId, session: SessionDep, actor: Readers) -> EndpointOut:
    return EndpointOut.model_validate(await service.get_endpoint(session, actor=actor, endpoint_id=endpoint_id))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointOut,
              summary="Change, disable or re-enable an integration endpoint (admin)")
async def update_endpoint(endpoint_id: RowId, body: EndpointUpdate, session: SessionDep, now: NowDep,
                          actor: Admin) -> EndpointOut:
    endpoint = await service.update_endpoint(session, actor=actor, now=now, endpoint_id=endpoint_id, data=body)
    return EndpointOut.model_validate(endpoint)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret,
             summary="Rotate the signing secret (admin): the new one is in this response only; the previous one "
                     "keeps signing during the overlap")
async def rotate_secret(endpoint_id: RowId, session: SessionDep, now: NowDep, actor: Admin,
                        body: SecretRotation | None = None) -> EndpointWithSecret:
    overlap = dt.timedelta(hours=body.overlap_hours) if body else service.DEFAULT_OVERLAP
    issued = await service.rotate_secret(session, actor=actor, now=now, endpoint_id=endpoint_id, overlap=overlap)
    return EndpointWithSecret.of(issued.endpoint, issued.secret)


@router.post("/endpoints/{endpoint_id}/replay", response_model=ReplayOut,
             summary="Send again every dead delivery ({\"dead\": true}) or every event of a time range "
                     "({\"from\": …, \"to\": …}) to this endpoint (admin; integration: its own)")
async def replay_endpoint(endpoint_id: RowId, body: EndpointReplay, session: SessionDep, now: NowDep,
                          actor: Readers) -> ReplayOut:
    done = await service.replay_endpoint(session, actor=actor, now=now, endpoint_id=endpoint_id, dead=body.dead,
                                         since=body.from_, until=body.to)
    return ReplayOut.model_validate(done)


@router.get("/deliveries", response_model=DeliveryPage,
            summary="Deliveries, newest first (admin: all; integration: its endpoints')")
async def list_deliveries(
    session: SessionDep, actor: Readers, endpoint_id: RowId | None = None, status: DeliveryStatus | None = None,
    event_type: EventType | None = None, since: Since = None, until: Until = None, limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    rows = await service.list_deliveries(session, actor=actor, endpoint_id=endpoint_id, status=status,
                                         event_type=event_type, since=since, until=until, limit=limit, cursor=cursor)
    return DeliveryPage.of(rows, limit)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail,
            summary="One delivery with its event and every attempt (admin; integration: its endpoints')")
async def get_delivery(delivery_id: RowId, session: SessionDep, actor: Readers) -> DeliveryDetail:
    view = await service.get_delivery(session, actor=actor, delivery_id=delivery_id)
    return DeliveryDetail.with_history(view.delivery, view.event, view.history)


@router.post("/deliveries/{delivery_id}/replay", response_model=ReplayOut,
             responses={409: {"description": "`delivery_in_flight`: a request for it is out now"}},
             summary="Send one delivery again now, with a fresh retry budget (admin; integration: its endpoints')")
async def replay_delivery(delivery_id: RowId, session: SessionDep, now: NowDep, actor: Readers) -> ReplayOut:
    done = await service.replay_delivery(session, actor=actor, now=now, delivery_id=delivery_id)
    return ReplayOut.model_validate(done)
