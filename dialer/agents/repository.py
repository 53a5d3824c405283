"""Queries of the agents' domain: sessions at seats, the work queue's candidates, the case card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import and_, case as case_when, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.agents.models import CaseSkip
from dialer.auth.models import User
from dialer.calls.models import Call
from dialer.clients.models import Client
from dialer.cases.models import Case, CaseStatus, Party, PartyRole, PhoneNumber
from dialer.notes.models import PromiseStatus, PromiseToPay, WrapUpNote
from dialer.seats.models import AgentSession, AgentState, Seat

# --- sessions at seats ----------------------------------------------------------------------

async def open_session(session: AsyncSession, *, agent_id: int, lock: bool = False) -> AgentSession | None:
    """The agent's open session; ``lock`` serialises the agent's own concurrent requests (PostgreSQL)."""
    query = select(AgentSession).where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_session_at_seat(session: AsyncSession, *, seat_id: int) -> AgentSession | None:
    query = select(AgentSession).where(AgentSession.seat_id == seat_id, AgentSession.ended_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def find_seat(session: AsyncSession, *, seat_id: int | None, code: str | None) -> Seat | None:
    query = select(Seat).where(Seat.id == seat_id) if seat_id is not None else select(Seat).where(Seat.code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def list_open_sessions(
    session: AsyncSession, *, team: str | None, state: AgentState | None, limit: int, after: int | None,
) -> Sequence[tuple[AgentSession, User, Seat, int | None]]:
    """Open sessions with their agent, seat and held case (the supervisor board), by session id."""
    held = (
        select(Case.id).where(Case.held_by_agent_id == AgentSession.agent_id).order_by(Case.held_until.desc())
        .limit(1).correlate(AgentSession).scalar_subquery()
    )
    query = (
        select(AgentSession, User, Seat, held)
        .join(User, User.id == AgentSession.agent_id).join(Seat, Seat.id == AgentSession.seat_id)
        .where(AgentSession.ended_at.is_(None)).order_by(AgentSession.id).limit(limit)
    )
    if team is not None:
        query = query.where(or_(User.team == team, Seat.team == team))
    if state is not None:
        query = query.where(AgentSession.state == state)
    if after is not None:
        query = query.where(AgentSession.id > after)
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(query)).all()]


# --- the work queue ---------------------------------------------------------------------------

async def teams_of(session: AsyncSession, *, agent_id: int, seat_id: int) -> tuple[str, ...]:
    """The agent's team and their seat's, in one read."""
    row = (
        await session.execute(
            select(select(User.team).where(User.id == agent_id).scalar_subquery(),
                   select(Seat.team).where(Seat.id == seat_id).scalar_subquery())
        )
    ).first()
    return tuple(sorted({team for team in (row or ()) if team}))


def _in_scope(agent_id: int, teams: Collection[str]):
    """The agent's own cases, and their teams' cases that nobody is assigned to."""
    mine = Case.assigned_agent_id == agent_id
    if not teams:
        return mine
    return or_(mine, and_(Case.assigned_agent_id.is_(None), Case.team.in_(list(teams))))


def _callable(now: dt.datetime):
    """Open, not parked by the policy, not held by anyone."""
    return (
        Case.status == CaseStatus.OPEN,
        or_(Case.next_allowed_at.is_(None), Case.next_allowed_at <= now),
        or_(Case.held_until.is_(None), Case.held_until <= now),
    )


def _where_callable(query, *, agent_id: int, teams: Collection[str], client_id: int | None, now: dt.datetime):
    query = query.where(*_callable(now), _in_scope(agent_id, teams))
    return query if client_id is None else query.where(Case.client_id == client_id)


def _ranked(rows) -> list[int]:
    """Ids by bucket (M3+ first), then amount, both descending (the backlog index's order)."""
    return [r.id for r in sorted({r.id: r for r in rows}.values(), key=lambda r: (r.bucket, r.total_owed, r.id),
                                 reverse=True)]


async def promised(
    session: AsyncSession, *, agent_id: int, teams: Collection[str], client_id: int | None, now: dt.datetime,
    today: dt.date, cap: int,
) -> list[int]:
    """Callable cases in scope with a pending promise due by ``today``, ranked: the ``cap``
    longest-due ones *after* the scope and callable filters (capping the promises first would let
    other teams' or parked cases crowd this agent's due promises out of the tier)."""
    query = (
        select(Case.id, Case.bucket, Case.total_owed)
        .join(PromiseToPay, PromiseToPay.case_id == Case.id)
        .where(PromiseToPay.status == PromiseStatus.PENDING, PromiseToPay.due_date <= today)
        .order_by(PromiseToPay.due_date, Case.id).limit(cap)
    )
    query = _where_callable(query, agent_id=agent_id, teams=teams, client_id=client_id, now=now)
    return _ranked((await session.execute(query)).all())


async def follow_ups_due(
    session: AsyncSession, *, agent_id: int, teams: Collection[str], client_id: int | None, now: dt.datetime, cap: int,
) -> list[int]:
    """Callable cases in scope whose follow-up is due, ranked; read on ``ix_cases_follow_up_due``
    (the ``cap`` longest-due ones)."""
    query = (
        select(Case.id, Case.bucket, Case.total_owed)
        .where(Case.next_follow_up_at <= now).order_by(Case.next_follow_up_at).limit(cap)
    )
    query = _where_callable(query, agent_id=agent_id, teams=teams, client_id=client_id, now=now)
    return _ranked((await session.execute(query)).all())


async def backlog(
    session: AsyncSession, *, agent_id: int, teams: Collection[str], client_id: int | None, now: dt.datetime,
    exclude: Collection[int], limit: int,
) -> list[int]:
    """The next ``limit`` callable cases in scope by bucket and amount, read backwards on
    ``ix_cases_rank`` (stops after ``limit`` matches)."""
    query = _where_callable(select(Case.id), agent_id=agent_id, teams=teams, client_id=client_id, now=now)
    if exclude:
        query = query.where(Case.id.not_in(list(exclude)))
    query = query.order_by(Case.bucket.desc(), Case.total_owed.desc(), Case.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def claim(session: AsyncSession, *, case_id: int, now: dt.datetime) -> tuple[Case, Client] | None:
    """Lock the case if it is still callable and nobody else is handing it out: ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL, so a row another hand-out has locked is passed over at once (None),
    and one it has just held fails the re-checked conditions. SQLite ignores the clause (its
    writers are serialised by ``BEGIN IMMEDIATE``)."""
    query = (
        select(Case, Client).join(Client, Client.id == Case.client_id).where(Case.id == case_id, *_callable(now))
        .with_for_update(of=Case, skip_locked=True).execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row.Case, row.Client)


async def held_case(session: AsyncSession, *, agent_id: int, now: dt.datetime, lock: bool = True) -> Case | None:
    """The open case this agent holds now (locked unless ``lock`` is false)."""
    query = (
        select(Case).where(Case.held_by_agent_id == agent_id, Case.held_until > now, Case.status == CaseStatus.OPEN)
        .order_by(Case.held_until.desc()).limit(1)
    )
    if lock:
        query = query.with_for_update(of=Case)
    return (await session.execute(query)).scalar_one_or_none()


async def tier_of(session: AsyncSession, *, case: Case, now: dt.datetime, today: dt.date) -> str:
    due = exists().where(
        PromiseToPay.case_id == case.id, PromiseToPay.status == PromiseStatus.PENDING, PromiseToPay.due_date <= today
    )
    promise = (await session.execute(select(due))).scalar()
    if promise:
        return "promise_due"
    if case.next_follow_up_at is not None and case.next_follow_up_at <= now:
        return "follow_up_due"
    return "backlog"


async def recently_skipped(session: AsyncSession, *, agent_id: int, since: dt.datetime) -> set[int]:
    query = select(CaseSkip.case_id).where(CaseSkip.agent_id == agent_id, CaseSkip.created_at >= since)
    return set((await session.execute(query)).scalars())


async def parties_of(session: AsyncSession, *, case_id: int) -> list[Party]:
    """The case's parties, the debtor first."""
    debtor_first = case_when((Party.role == PartyRole.DEBTOR, 0), else_=1)
    query = select(Party).where(Party.case_id == case_id).order_by(debtor_first, Party.id)
    return list((await session.execute(query)).scalars())


async def numbers_of(session: AsyncSession, *, party_ids: Sequence[int]) -> dict[int, PhoneNumber]:
    if not party_ids:
        return {}
    query = select(PhoneNumber).where(PhoneNumber.party_id.in_(party_ids))
    return {n.id: n for n in (await session.execute(query)).scalars()}


# --- the case card ----------------------------------------------------------------------------

async def recent_calls(session: AsyncSession, *, case_id: int, limit: int) -> list[Call]:
    query = select(Call).where(Call.case_id == case_id).order_by(Call.requested_at.desc(), Call.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def recent_notes(session: AsyncSession, *, case_id: int, limit: int) -> list[WrapUpNote]:
    query = (
        select(WrapUpNote).where(WrapUpNote.case_id == case_id)
        .order_by(WrapUpNote.created_at.desc(), WrapUpNote.id.desc()).limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def promises_of(session: AsyncSession, *, case_id: int, limit: int) -> list[PromiseToPay]:
    query = (
        select(PromiseToPay).where(PromiseToPay.case_id == case_id)
        .order_by(PromiseToPay.due_date.desc(), PromiseToPay.id.desc()).limit(limit)
    )
    return list((await session.execute(query)).scalars())
