"""Queries for cases, parties and numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, and_, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.cases.schemas import CaseFilters
from dialer.kit.queries import keyset_page, where_given


def visible_to(query: Select, principal: Principal) -> Select:
    """Agents see the cases assigned to them and their team's; other roles see all."""
    if principal.role is not Role.AGENT:
        return query
    clauses = [Case.assigned_agent_id == principal.user_id]
    if principal.team:
        clauses.append(Case.team == principal.team)
    return query.where(or_(*clauses))


async def find_case(session: AsyncSession, case_id: int, principal: Principal) -> Case | None:
    query = visible_to(select(Case).where(Case.id == case_id), principal)
    return (await session.execute(query)).scalar_one_or_none()


async def list_cases(
    session: AsyncSession, *, filters: CaseFilters, principal: Principal, now: dt.datetime,
) -> Sequence[Case]:
    fields = ("client_id", "status", "bucket", "contactability", "assigned_agent_id", "team", "account_ref")
    query = where_given(visible_to(select(Case), principal), {getattr(Case, f): getattr(filters, f) for f in fields})
    if filters.min_overdue_days is not None:
        query = query.where(Case.overdue_days >= filters.min_overdue_days)
    if filters.max_overdue_days is not None:
        query = query.where(Case.overdue_days <= filters.max_overdue_days)
    if filters.set_aside is not None:
        set_aside = and_(Case.next_allowed_at.is_not(None), Case.next_allowed_at > now)
        query = query.where(set_aside if filters.set_aside else not_(set_aside))
    return (await session.execute(keyset_page(query, Case.id, limit=filters.limit, after=filters.after))).scalars().all()


async def parties_with_numbers(session: AsyncSession, case_ids: Sequence[int]) -> list[tuple[Party, list[PhoneNumber]]]:
    parties = (
        await session.execute(select(Party).where(Party.case_id.in_(case_ids)).order_by(Party.case_id, Party.id))
    ).scalars().all()
    numbers = (
        await session.execute(
            select(PhoneNumber)
            .where(PhoneNumber.party_id.in_([p.id for p in parties]))
            .order_by(PhoneNumber.party_id, PhoneNumber.position, PhoneNumber.id)
        )
    ).scalars().all()
    by_party: dict[int, list[PhoneNumber]] = {}
    for number in numbers:
        by_party.setdefault(number.party_id, []).append(number)
    return [(party, by_party.get(party.id, [])) for party in parties]


async def numbers_of(session: AsyncSession, party_id: int) -> list[PhoneNumber]:
    query = select(PhoneNumber).where(PhoneNumber.party_id == party_id).order_by(PhoneNumber.position, PhoneNumber.id)
    return list((await session.execute(query)).scalars())
