"""The compliance check, contact status, historical attempts, stop-contact and client reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dialer.auth.deps import Principal, require
from dialer.auth.models import Role
from dialer.compliance import history, service, stops
from dialer.compliance.models import ReportStatus
from dialer.compliance.schemas import (
    AttemptImport, AttemptImportOut, CapUsage, CheckRequest, ContactStatusOut, DecisionOut, LiftIn, ReportedIn,
    ReportItemOut, StopContactIn, StopContactOut,
)
from dialer.compliance.usage import cap_usage
from dialer.kit.bounds import AfterId, Instant, RowId
from dialer.kit.deps import NowDep, SessionDep
from dialer.kit.schemas import Page, page_of

router = APIRouter(tags=["compliance"])

Anyone = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION))]
Workers = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
Supervisors = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
Overseers = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION))]
ReportReaders = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION, Role.AUDITOR))]
StopReaders = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION, Role.AUDITOR))]
Limit = Annotated[int, Query(ge=1, le=500)]
After = AfterId | None


@router.post("/compliance/check", response_model=DecisionOut,
             responses={404: {"description": "No such party or number, or not one the caller may see (`not_found`)"}},
             summary="Would the policy allow this call (or SMS) at this instant? A recorded dry run; agents: their cases' parties only (agent, supervisor, admin, integration)")
async def check(body: CheckRequest, session: SessionDep, principal: Anyone, now: NowDep) -> dict:
    checked = await service.check(
        session, at=body.at or now, party_id=body.party_id, number_id=body.number_id, channel=body.channel,
        agent_id=body.agent_id, seat_id=body.seat_id, viewer=principal,
    )
    return checked.body()


@router.get("/parties/{party_id}/contact-status", response_model=ContactStatusOut,
            summary="Each cap's use, limit, window and reset, and the next allowed instant (a recorded dry run); agents: their cases' parties only "
                    "(agent, supervisor, admin, integration)")
async def contact_status(
    party_id: RowId, session: SessionDep, principal: Anyone, now: NowDep, at: Annotated[Instant | None, Query()] = None,
) -> ContactStatusOut:
    instant = at or now
    checked = await service.check(session, at=instant, party_id=party_id, viewer=principal)
    return ContactStatusOut(
        party_id=party_id, at=instant, policy_version=checked.snapshot.policy_version,
        caps=[CapUsage.model_validate(u, from_attributes=True) for u in cap_usage(checked.snapshot, instant)],
        decision=DecisionOut(**checked.body()),
    )


@router.post("/attempts/import", response_model=AttemptImportOut, status_code=status.HTTP_201_CREATED,
             summary="Import historical attempts from a previous dialer; all-or-nothing (supervisor, admin, integration)")
async def import_attempts(body: AttemptImport, session: SessionDep, actor: Overseers, now: NowDep) -> AttemptImportOut:
    return AttemptImportOut(imported=await history.import_attempts(session, attempts=body.attempts, actor=actor, now=now))


@router.post("/parties/{party_id}/stop-contact", response_model=StopContactOut, status_code=status.HTTP_201_CREATED,
             summary="Record that a party asked not to be called, or is hostile; agents: their cases' parties only (agent, supervisor, admin)")
async def add_stop(party_id: RowId, body: StopContactIn, session: SessionDep, actor: Workers) -> StopContactOut:
    stop, _ = await stops.add_stop(session, party_id=party_id, source=body.source, reason=body.reason,
                                   number_id=body.number_id, actor=actor)
    return StopContactOut.model_validate(stop)


@router.post("/stop-contacts/{stop_id}/lift", response_model=StopContactOut,
             responses={409: {"description": "`conflict`: lifted already"}},
             summary="Lift a stop-contact entry, with the reason; audited (supervisor, admin)")
async def lift_stop(stop_id: RowId, body: LiftIn, session: SessionDep, actor: Supervisors, now: NowDep) -> StopContactOut:
    return StopContactOut.model_validate(
        await stops.lift_stop(session, stop_id=stop_id, reason=body.reason, actor=actor, now=now)
    )


@router.get("/stop-contacts", response_model=Page[StopContactOut],
            summary="Stop-contact entries (supervisor, admin, integration, auditor)")
async def list_stops(
    session: SessionDep, _: StopReaders, client_id: RowId | None = None, party_id: RowId | None = None,
    active: bool | None = None, limit: Limit = 50, after: After = None,
) -> Page[StopContactOut]:
    rows = await stops.list_stops(session, client_id=client_id, party_id=party_id, active=active, limit=limit, after=after)
    return page_of(rows, limit, StopContactOut)


@router.get("/client-reports", response_model=Page[ReportItemOut],
            summary="Third parties' requests to report back to the client (supervisor, admin, integration, auditor)")
async def list_reports(
    session: SessionDep, _: ReportReaders, client_id: RowId | None = None, status_: Annotated[ReportStatus | None, Query(alias="status")] = None,
    limit: Limit = 50, after: After = None,
) -> Page[ReportItemOut]:
    rows = await stops.list_report_items(session, client_id=client_id, status=status_, limit=limit, after=after)
    return page_of(rows, limit, ReportItemOut)


@router.post("/client-reports/{item_id}/reported", response_model=ReportItemOut,
             responses={409: {"description": "`conflict`: reported already"}},
             summary="Mark a request as reported to the client (supervisor, admin)")
async def mark_reported(item_id: RowId, body: ReportedIn, session: SessionDep, actor: Supervisors, now: NowDep) -> ReportItemOut:
    return ReportItemOut.model_validate(
        await stops.mark_reported(session, item_id=item_id, reference=body.reference, actor=actor, now=now)
    )
