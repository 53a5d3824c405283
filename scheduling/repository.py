"""The scheduler's queries: open cases in pages, and the facts the pure rules need, per page.

Every look-up takes a page of case ids (one ``IN`` list, a few hundred values) and answers for
the whole page in one query, so a job costs a handful of queries per page, never one per case.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, Direction
from dialer.cases.models import Case, CaseStatus, Party, PartyRole, PhoneNumber
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.localtime import zone
from dialer.compliance.models import Attempt, StopContact
from dialer.notes.models import PromiseStatus, PromiseToPay, WrapUpNote
from dialer.policy.document import PolicyDocument
from scheduling.cadence import CaseFacts
from scheduling.minimums import PartyReach

PAGE = 500


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    client_id: int
    policy: PolicyDocument
    calendar: str  # the client's working calendar ("cn", or anything else for Monday-Friday)

    def zone_of(self, party_zone: str | None) -> ZoneInfo:
        return zone(party_zone or self.policy.default_time_zone)


@dataclass(frozen=True, slots=True)
class OpenCase:
    facts: CaseFacts
    client_id: int
    account_ref: str
    assigned_agent_id: int | None
    next_follow_up_at: dt.datetime | None
    last_contact_at: dt.datetime | None
    zone_name: str | None  # the debtor's own zone, when known


async def client_policies(session: AsyncSession) -> dict[int, ClientPolicy]:
    """Every client's current policy document, parsed."""
    rows = await session.execute(
        select(Client.id, Client.working_calendar, PolicyVersion.document).join(
            PolicyVersion, and_(PolicyVersion.client_id == Client.id, PolicyVersion.version == Client.policy_version)
        )
    )
    return {
        cid: ClientPolicy(cid, PolicyDocument.model_validate(document), calendar or "cn")
        for cid, calendar, document in rows
    }


async def open_cases(
    session: AsyncSession, *, client_id: int | None = None, page: int = PAGE,
) -> AsyncIterator[list[OpenCase]]:
    """Open cases in pages ordered by id, each with its facts except those that need other tables."""
    after = 0
    while True:
        query = (
            select(Case, Party.time_zone)
            .outerjoin(Party, and_(Party.case_id == Case.id, Party.role == PartyRole.DEBTOR))
            .where(Case.status == CaseStatus.OPEN, Case.id > after)
            .order_by(Case.id).limit(page)
        )
        if client_id is not None:
            query = query.where(Case.client_id == client_id)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        after = rows[-1][0].id
        yield list({case.id: _open_case(case, tz) for case, tz in rows}.values())


def _open_case(case: Case, zone_name: str | None) -> OpenCase:
    facts = CaseFacts(
        case_id=case.id, status=case.status, contactability=case.contactability, overdue_days=case.overdue_days,
        overdue_as_of=case.overdue_as_of, created_at=case.created_at,
    )
    return OpenCase(
        facts, case.client_id, case.account_ref, case.assigned_agent_id, case.next_follow_up_at,
        case.last_contact_at, zone_name,
    )


async def last_attempts(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, dt.datetime]:
    rows = await session.execute(
        select(Attempt.case_id, func.max(Attempt.started_at))
        .where(Attempt.case_id.in_(case_ids), Attempt.direction == "outbound").group_by(Attempt.case_id)
    )
    return {case_id: at for case_id, at in rows}


async def latest_promises(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, PromiseStatus]:
    latest = (
        select(func.max(PromiseToPay.id)).where(PromiseToPay.case_id.in_(case_ids)).group_by(PromiseToPay.case_id)
    )
    rows = await session.execute(select(PromiseToPay.case_id, PromiseToPay.status).where(PromiseToPay.id.in_(latest)))
    return {case_id: status for case_id, status in rows}


async def requested_follow_ups(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, dt.date]:
    """The next follow-up date of each case's latest wrap-up note, where it gives one."""
    latest = select(func.max(WrapUpNote.id)).where(WrapUpNote.case_id.in_(case_ids)).group_by(WrapUpNote.case_id)
    rows = await session.execute(
        select(WrapUpNote.case_id, WrapUpNote.next_follow_up_date)
        .where(WrapUpNote.id.in_(latest), WrapUpNote.next_follow_up_date.is_not(None))
    )
    return {case_id: day for case_id, day in rows if day is not None}  # the query keeps only dated notes


async def attempts_since(
    session: AsyncSession, case_ids: Sequence[int], since: dt.datetime,
) -> dict[int, list[tuple[dt.datetime, bool]]]:
    """Outbound attempts per case from ``since``: (started at, reached someone)."""
    rows = await session.execute(
        select(Attempt.case_id, Attempt.started_at, Attempt.conversation)
        .where(Attempt.case_id.in_(case_ids), Attempt.direction == "outbound", Attempt.started_at >= since)
    )
    found: dict[int, list[tuple[dt.datetime, bool]]] = defaultdict(list)
    for case_id, at, conversation in rows:
        found[case_id].append((at, bool(conversation)))
    return found


async def inbound_conversations_since(
    session: AsyncSession, case_ids: Sequence[int], since: dt.datetime,
) -> dict[int, list[dt.datetime]]:
    rows = await session.execute(
        select(Call.case_id, Call.requested_at).where(
            Call.case_id.in_(case_ids), Call.direction == Direction.INBOUND, Call.conversation.is_(True),
            Call.requested_at >= since,
        )
    )
    found: dict[int, list[dt.datetime]] = defaultdict(list)
    for case_id, at in rows:
        if case_id is not None:  # inbound calls of a known case only
            found[case_id].append(at)
    return found


async def party_reach(session: AsyncSession, cases: Sequence[OpenCase]) -> dict[int, list[PartyReach]]:
    """Per case: each party, its numbers (valid or not) and any active stop-contact entry on it."""
    client_of = {c.facts.case_id: c.client_id for c in cases}
    parties = (
        await session.execute(
            select(Party.id, Party.case_id, Party.name, Party.role, Party.id_number)
            .where(Party.case_id.in_(list(client_of))).order_by(Party.id)
        )
    ).all()
    party_ids = [p.id for p in parties]
    numbers: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    if party_ids:
        for party_id, e164, valid in await session.execute(
            select(PhoneNumber.party_id, PhoneNumber.e164, PhoneNumber.valid).where(PhoneNumber.party_id.in_(party_ids))
        ):
            numbers[party_id].append((e164, bool(valid)))
    stops = await _active_stops(session, parties, numbers, set(client_of.values()))
    reach: dict[int, list[PartyReach]] = defaultdict(list)
    for p in parties:
        own = numbers.get(p.id, [])
        client_id = client_of[p.case_id]
        stop = (
            stops.get(("party", client_id, p.id))
            or (stops.get(("id", client_id, p.id_number)) if p.id_number else None)
            or next((stops[("e164", client_id, e)] for e, _ in own if ("e164", client_id, e) in stops), None)
        )
        reach[p.case_id].append(PartyReach(
            party_id=p.id, name=p.name, role=p.role.value, numbers=len(own),
            valid_numbers=sum(1 for _, valid in own if valid), stop=stop,
        ))
    return reach


async def _active_stops(
    session: AsyncSession, parties: Sequence, numbers: dict[int, list[tuple[str, bool]]], client_ids: set[int],
) -> dict[tuple[str, int, object], str]:
    party_ids = [p.id for p in parties]
    e164s = sorted({e for own in numbers.values() for e, _ in own})
    id_numbers = sorted({p.id_number for p in parties if p.id_number})
    matches = [StopContact.party_id.in_(party_ids)] if party_ids else []
    if e164s:
        matches.append(StopContact.e164.in_(e164s))
    if id_numbers:
        matches.append(StopContact.id_number.in_(id_numbers))
    if not matches:
        return {}
    rows = await session.execute(
        select(StopContact).where(
            StopContact.client_id.in_(client_ids), StopContact.lifted_at.is_(None), or_(*matches)
        ).order_by(StopContact.id)
    )
    found: dict[tuple[str, int, object], str] = {}
    for stop in rows.scalars():
        label = f"{stop.source.value.replace('_', ' ')}: {stop.reason}"
        for key, value in (("party", stop.party_id), ("e164", stop.e164), ("id", stop.id_number)):
            if value is not None:
                found.setdefault((key, stop.client_id, value), label)
    return found
