"""Seats: registered stations with their bound softphone identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.kit.bounds import AfterId, RowId
from dialer.kit.deps import SessionDep, provided
from dialer.kit.schemas import Page, page_of
from dialer.seats import service, sip_credentials
from dialer.settings import Settings
from dialer.seats.schemas import SeatCreate, SeatOut, SeatUpdate, SipCredentialOut, SipPasswordSet

router = APIRouter(prefix="/seats", tags=["seats"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
SettingsDep = Annotated[Settings, Depends(provided("settings"))]
Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]


@router.post("", response_model=SeatOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "`conflict`: the code or the softphone identity is another seat's (each named)"}},
             summary="Register a seat (admin)")
async def create_seat(body: SeatCreate, session: SessionDep, actor: Admin) -> SeatOut:
    return SeatOut.model_validate(await service.create_seat(session, data=body, actor=actor))


@router.get("", response_model=Page[SeatOut], summary="List seats (admin, supervisor, agent)")
async def list_seats(
    session: SessionDep, _: Staff, team: str | None = None, active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, after: AfterId | None = None,
) -> Page[SeatOut]:
    seats = await service.list_seats(session, team=team, active=active, limit=limit, after=after)
    return page_of(seats, limit, SeatOut)


@router.get("/{seat_id}", response_model=SeatOut, summary="Read a seat (admin, supervisor, agent)")
async def get_seat(seat_id: RowId, session: SessionDep, _: Staff) -> SeatOut:
    return SeatOut.model_validate(await service.get_seat(session, seat_id))


@router.patch("/{seat_id}", response_model=SeatOut, summary="Change or retire a seat (admin)")
async def update_seat(seat_id: RowId, body: SeatUpdate, session: SessionDep, actor: Admin) -> SeatOut:
    return SeatOut.model_validate(await service.update_seat(session, seat_id=seat_id, data=body, actor=actor))


@router.put("/{seat_id}/sip-password", response_model=SipCredentialOut,
            responses={409: {"description": "`conflict`: the SIP username is another seat's"}},
            summary="Set or rotate a seat's SIP password (admin); only its digests are stored")
async def set_sip_password(seat_id: RowId, body: SipPasswordSet, session: SessionDep, actor: Admin,
                           settings: SettingsDep) -> SipCredentialOut:
    credential, generated = await sip_credentials.set_or_generate_sip_password(
        session, seat_id, password=body.password, actor=actor, domain=settings.sip_domain)
    return SipCredentialOut.model_validate(credential).model_copy(update={"password": generated})
