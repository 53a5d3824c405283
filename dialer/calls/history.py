"""The call history's queries: who may see which calls, and the list of calls — one statement a
page, newest first.

Scope (the same for the list and a call's page, :mod:`dialer.calls.timeline`): agents see their
own calls; supervisors their team's — the calls of agents in their team and the calls on their
team's cases (a supervisor without a team sees none); admins and auditors every call. A call outside the scope
is absent from the list and answered 404 as an unknown id, so ids cannot be probed.

Order: newest first, by ``requested_at`` (when the dial was requested, or the caller rang in), then
id. The cursor is the id of the last call of a page (``before``); it is resolved inside the same
statement, and only among the calls the reader may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, Unpack

from sqlalchemy import ColumnElement, Row, Select, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.calls.history_schemas import (
    AgentRef, CallDetail, CallFilters, CallItem, CaseRef, CampaignRef, ClientRef, PartyRef, SeatRef,
)
from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.campaigns.models import Campaign
from dialer.cases.models import Case, Party
from dialer.clients.models import Client
from dialer.kit.db import table_of
from dialer.kit.errors import NotFound
from dialer.notes.models import WrapUpNote
from dialer.outbox.payloads import duration_of  # the one rule for a call's duration
from dialer.seats.models import Seat

Item = TypeVar("Item", bound=CallItem)
Rows = Select[Unpack[tuple[Any, ...]]]


def of_team(team: str) -> ColumnElement[bool]:
    """The calls of ``team``: made or taken by one of its agents, or on one of its cases (a case's
    inbound call that nobody took has no agent). Teams are the users' and cases' as they are now."""
    return or_(Call.agent_id.in_(select(User.id).where(User.team == team)),
               Call.case_id.in_(select(Case.id).where(Case.team == team)))


def visible_to(principal: Principal) -> list[ColumnElement[bool]]:
    """The conditions on ``calls`` that keep what ``principal`` may see (none for an admin or an auditor)."""
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return []
    if principal.role is Role.SUPERVISOR:
        return [of_team(principal.team) if principal.team else false()]
    return [Call.agent_id == principal.user_id]


_agent = aliased(User, name="agent")
_recordings = select(func.count(Recording.id)).where(Recording.call_id == Call.id).scalar_subquery()
_stored = exists().where(Recording.call_id == Call.id, Recording.status == RecordingStatus.STORED)

_COLUMNS = (Call, _agent.display_name, _agent.team, Seat.code, Party.role, Party.relation, Case.account_ref, Case.team,
            Client.code, Client.name, Campaign.name, WrapUpNote.disposition, _recordings.label("recordings"),
            _stored.label("recording_stored"))


def _named(query: Rows) -> Rows:
    """``query`` (whose FROM holds ``calls``) with the names each call refers to and its note: one row
    per call (a call has at most one note)."""
    return (query.outerjoin(_agent, _agent.id == Call.agent_id).outerjoin(Seat, Seat.id == Call.seat_id)
            .outerjoin(Party, Party.id == Call.party_id).outerjoin(Case, Case.id == Call.case_id)
            .outerjoin(Client, Client.id == Call.client_id).outerjoin(Campaign, Campaign.id == Call.campaign_id)
            .outerjoin(WrapUpNote, WrapUpNote.call_id == Call.id))


_NEWEST_FIRST = (Call.requested_at.desc(), Call.id.desc())
_CALL_COLUMNS = frozenset(table_of(Call).columns.keys())


def _filtered(query: Rows, filters: CallFilters) -> Rows:
    equal = {Call.agent_id: filters.agent_id, Call.client_id: filters.client_id, Call.direction: filters.direction,
             Call.state: filters.state, Call.outcome: filters.outcome, Call.party_id: filters.party_id,
             Call.case_id: filters.case_id}
    query = query.where(*(column == value for column, value in equal.items() if value is not None))
    if filters.team is not None:
        query = query.where(of_team(filters.team))
    if filters.party_role is not None:
        query = query.where(Call.party_id.in_(select(Party.id).where(Party.role == filters.party_role)))
    if filters.from_ is not None:
        query = query.where(Call.requested_at >= filters.from_)
    if filters.to is not None:
        query = query.where(Call.requested_at < filters.to)
    return query


def _after_cursor(query: Rows, before: int, scope: list[ColumnElement[bool]]) -> Rows:
    """The calls older than call ``before`` (by start, then id). A cursor the reader may not see
    leads nowhere (an empty page), telling nothing of that call."""
    at = select(Call.requested_at).where(Call.id == before, *scope).scalar_subquery()
    return query.where(Call.requested_at <= at, or_(Call.requested_at < at, and_(Call.requested_at == at,
                                                                                   Call.id < before)))


async def list_calls(session: AsyncSession, *, filters: CallFilters, principal: Principal) -> list[CallItem]:
    """One statement: the page's ids are chosen on ``calls`` alone (its indexes, in order, stopping at
    the limit), and only those calls are named and their recordings counted."""
    scope = visible_to(principal)
    ids = _filtered(select(Call.id).where(*scope), filters)
    if filters.before is not None:
        ids = _after_cursor(ids, filters.before, scope)
    page = ids.order_by(*_NEWEST_FIRST).limit(filters.limit).subquery("page")
    query = _named(select(*_COLUMNS).select_from(page).join(Call, Call.id == page.c.id)).order_by(*_NEWEST_FIRST)
    return [_item(row, CallItem) for row in await session.execute(query)]


async def call_detail(session: AsyncSession, call_id: int, principal: Principal) -> tuple[Call, CallDetail]:
    """The call (the model, for what its page gathers next) and its detail, if ``principal`` may
    see it; else :class:`NotFound` as for an unknown id."""
    query = _named(select(*_COLUMNS).select_from(Call)).where(Call.id == call_id, *visible_to(principal))
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise NotFound(f"call {call_id} not found")
    return row[0], _item(row, CallDetail)


def _item(row: Row[Unpack[tuple[Any, ...]]], out: type[Item]) -> Item:
    (call, agent_name, agent_team, seat_code, role, relation, account_ref, case_team, client_code, client_name,
     campaign_name, disposition, recordings, stored) = row
    return out.model_validate({
        **{name: getattr(call, name) for name in out.model_fields.keys() & _CALL_COLUMNS},
        "disposition": disposition, "duration_s": duration_of(call),
        "agent": AgentRef(id=call.agent_id, name=agent_name, team=agent_team) if call.agent_id else None,
        "seat": SeatRef(id=call.seat_id, code=seat_code) if call.seat_id else None,
        "party": PartyRef(id=call.party_id, role=role, relation=relation) if call.party_id else None,
        "case": CaseRef(id=call.case_id, account_ref=account_ref, team=case_team) if call.case_id else None,
        "client": ClientRef(id=call.client_id, code=client_code, name=client_name) if call.client_id else None,
        "campaign": CampaignRef(id=call.campaign_id, name=campaign_name) if call.campaign_id else None,
        "recordings": recordings, "recording_stored": bool(stored),
    })


def page_end(items: Sequence[CallItem], limit: int) -> int | None:
    """The cursor of the next page: the last call's id when the page is full."""
    return items[-1].id if len(items) == limit else None
