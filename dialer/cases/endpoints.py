"""Cases, parties and phone numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.cases import repository, service
from dialer.cases.schemas import (
    CaseCreate, CaseDetail, CaseFilters, CaseOut, CaseUpdate, NumberIn, NumberOut, NumberUpdate, PartyIn, PartyOut,
)
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep
from dialer.kit.schemas import Page, page_of

router = APIRouter(tags=["cases"])

Writers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATION))]
Readers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.INTEGRATION))]
Workers = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]


@router.post("/cases", response_model=CaseDetail, status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "No client `client_id` (`not_found`)"},
                        409: {"description": "`conflict`: the client has a case with this account_ref"}},
             summary="Create a case with its debtor, third parties and numbers (admin, supervisor, integration)")
async def create_case(body: CaseCreate, session: SessionDep, actor: Writers, now: NowDep) -> CaseDetail:
    case = await service.create_case(session, data=body, actor=actor, now=now)
    return await service.case_detail(session, case.id, actor)


@router.get("/cases", response_model=Page[CaseOut],
            summary="List cases with filters; agents see their own and their team's (admin, supervisor, agent, integration)")
async def list_cases(
    session: SessionDep, principal: Readers, filters: Annotated[CaseFilters, Query()], now: NowDep,
) -> Page[CaseOut]:
    rows = await repository.list_cases(session, filters=filters, principal=principal, now=now)
    return page_of(rows, filters.limit, CaseOut)


@router.get("/cases/{case_id}", response_model=CaseDetail,
            summary="A case with its parties and numbers (admin, supervisor, agent, integration)")
async def get_case(case_id: RowId, session: SessionDep, principal: Readers) -> CaseDetail:
    return await service.case_detail(session, case_id, principal)


@router.patch("/cases/{case_id}", response_model=CaseOut,
              summary="Assign, re-team, pause or close a case (admin, supervisor, integration)")
async def update_case(case_id: RowId, body: CaseUpdate, session: SessionDep, actor: Writers) -> CaseOut:
    return CaseOut.model_validate(await service.update_case(session, case_id=case_id, data=body, actor=actor))


@router.post("/cases/{case_id}/parties", response_model=PartyOut, status_code=status.HTTP_201_CREATED,
             summary="Add a third party to a case (admin, supervisor, agent, integration)")
async def add_party(case_id: RowId, body: PartyIn, session: SessionDep, actor: Readers) -> PartyOut:
    return await service.add_party(session, case_id=case_id, data=body, actor=actor)


@router.get("/parties/{party_id}", response_model=PartyOut,
            summary="A party with its numbers (admin, supervisor, agent, integration)")
async def get_party(party_id: RowId, session: SessionDep, principal: Readers) -> PartyOut:
    return await service.party_out(session, party_id, principal)


@router.post("/parties/{party_id}/numbers", response_model=NumberOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "`conflict`: the party has this number"}},
             summary="Add a phone number to a party (admin, supervisor, agent, integration)")
async def add_number(party_id: RowId, body: NumberIn, session: SessionDep, actor: Readers) -> NumberOut:
    return NumberOut.model_validate(await service.add_number(session, party_id=party_id, data=body, actor=actor))


@router.patch("/numbers/{number_id}", response_model=NumberOut,
              summary="Mark a number invalid (agent, supervisor, admin) or valid again (supervisor, admin); set kind or zone")
async def update_number(number_id: RowId, body: NumberUpdate, session: SessionDep, actor: Workers, now: NowDep) -> NumberOut:
    return NumberOut.model_validate(
        await service.update_number(session, number_id=number_id, data=body, actor=actor, now=now)
    )
