"""Stop-contact entries added by agents and supervisors, their lifting, and the queue of
third parties' requests to report back to the client."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber
from dialer.compliance import scope
from dialer.compliance.models import ClientReportItem, ReportStatus, StopContact, StopSource
from dialer.kit.errors import Conflict, InvalidInput
from dialer.kit.queries import get_or_404, keyset_page, required, where_given


async def add_stop(
    session: AsyncSession, *, party_id: int, source: str, reason: str, number_id: int | None,
    actor: Principal, call_id: int | None = None,
) -> tuple[StopContact, ClientReportItem | None]:
    party = await get_or_404(session, Party, party_id, "party")
    if call_id is None:  # a wrap-up's stop is the agent's own call's party; otherwise the case must be visible
        await scope.require_visible(session, actor, party_id=party.id)
    case = await required(session, Case, party.case_id)
    e164 = None
    if number_id is not None:
        number = await session.get(PhoneNumber, number_id)
        if number is None or number.party_id != party.id:
            raise InvalidInput(f"number_id: {number_id} is not a number of party {party.id}", field="number_id")
        e164 = number.e164
    stop = StopContact(
        client_id=case.client_id, case_id=case.id, party_id=None if e164 else party.id, e164=e164,
        source=StopSource(source), reason=reason, created_by_id=actor.user_id,
    )
    session.add(stop)
    await session.flush()
    item = None
    if party.role is PartyRole.THIRD_PARTY:
        item = ClientReportItem(client_id=case.client_id, stop_contact_id=stop.id, case_id=case.id, party_id=party.id)
        session.add(item)
        await session.flush()
    await audit.record(session, action="stop_contact.add", actor=actor, entity="stop_contact", entity_id=stop.id,
                       party_id=party.id, source=source, reason=reason, number=e164, call_id=call_id)
    return stop, item


async def lift_stop(
    session: AsyncSession, *, stop_id: int, reason: str, actor: Principal, now: dt.datetime
) -> StopContact:
    stop = await get_or_404(session, StopContact, stop_id, "stop-contact entry")
    if stop.lifted_at is not None:
        raise Conflict(f"stop-contact entry {stop_id} was already lifted on {stop.lifted_at.isoformat()}")
    stop.lifted_at, stop.lifted_by_id, stop.lift_reason = now, actor.user_id, reason
    await audit.record(session, action="stop_contact.lift", actor=actor, entity="stop_contact", entity_id=stop.id,
                       reason=reason, source=stop.source.value)
    return stop


async def list_stops(
    session: AsyncSession, *, client_id: int | None, party_id: int | None, active: bool | None, limit: int, after: int | None,
) -> list[StopContact]:
    query = where_given(select(StopContact), {StopContact.client_id: client_id, StopContact.party_id: party_id})
    if active is not None:
        query = query.where(StopContact.lifted_at.is_(None) if active else StopContact.lifted_at.is_not(None))
    return list((await session.execute(keyset_page(query, StopContact.id, limit=limit, after=after))).scalars())


async def list_report_items(
    session: AsyncSession, *, client_id: int | None, status: ReportStatus | None, limit: int, after: int | None,
) -> list[ClientReportItem]:
    query = where_given(select(ClientReportItem), {ClientReportItem.client_id: client_id, ClientReportItem.status: status})
    return list((await session.execute(keyset_page(query, ClientReportItem.id, limit=limit, after=after))).scalars())


async def mark_reported(
    session: AsyncSession, *, item_id: int, reference: str, actor: Principal, now: dt.datetime
) -> ClientReportItem:
    item = await get_or_404(session, ClientReportItem, item_id, "report item")
    if item.status is ReportStatus.REPORTED:
        raise Conflict(f"report item {item_id} was already reported ({item.report_reference})")
    item.status, item.reported_at, item.reported_by_id, item.report_reference = ReportStatus.REPORTED, now, actor.user_id, reference
    await audit.record(session, action="client_report.reported", actor=actor, entity="client_report_item",
                       entity_id=item.id, reference=reference)
    return item
