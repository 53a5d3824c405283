"""Queries of the work list: the queue's candidates (read and locked), holding and parking a case,
the case card."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from collections.abc import Collection, Sequence

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import (
    case as case_when,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.auth.models import User
from dialer.calls.models import Call
from dialer.cases.models import Case, CaseStatus, Party, PartyRole, PhoneNumber
from dialer.kit.db import table_of
from dialer.kit.sql import constant, integer
from dialer.kit.types import UTCDateTime
from dialer.notes.models import PromiseStatus, PromiseToPay, WrapUpNote
from dialer.seats.models import Seat
from dialer.worklist.models import CaseSkip

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


# Each tier's next case is read *and locked* by one prebuilt statement (``ORDER BY … LIMIT 1 FOR
# UPDATE SKIP LOCKED`` on PostgreSQL): the database passes over the rows other hand-outs have
# locked and re-checks, on the newest version of a row that changed meanwhile, that it is still
# callable. SQLite ignores the clause; its writers are serialised by ``BEGIN IMMEDIATE``.
#
# "Not held, not parked" is written ``coalesce(column, '-infinity') <= :now``, the very
# expressions the queue's indexes end with (``ix_cases_backlog``, ``ix_cases_follow_ups``): the
# index itself passes over the cases resting after a call or parked by the policy, however many
# there are, without reading their rows. (The same text works on SQLite, where the column holds
# an ISO string and '-infinity' sorts before every one.)

_CASES = table_of(Case)
_NEVER: ColumnElement[Any] = literal_column("'-infinity'")  # a fixed constant (``kit.sql`` takes words only)
_DAWN = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
_NOW = bindparam("now", type_=UTCDateTime())


def free_from(column) -> ColumnElement:
    """The instant ``column`` (a hold's or a parking's end) lets the case go: the beginning of time for none."""
    return func.coalesce(column, _NEVER)


def _callable(*, resting: bool = False) -> tuple[ColumnElement, ...]:
    """Open, not parked by the policy, not held by anyone, at ``:now``. ``resting``: nor held by
    the agent (``:agent_id``), whose held cases this very hand-out gives back to rest."""
    conditions = (
        _CASES.c.status == constant(CaseStatus.OPEN.value),
        free_from(_CASES.c.next_allowed_at) <= _NOW,
        free_from(_CASES.c.held_until) <= _NOW,
    )
    return (*conditions, _CASES.c.held_by_agent_id.is_distinct_from(bindparam("agent_id"))) if resting else conditions


def _in_scope(*, teams: bool, client: bool) -> tuple[ColumnElement, ...]:
    """The agent's own cases, and their teams' cases that nobody is assigned to (``:teams``), of
    one client (``:client_id``) when a campaign names it."""
    mine = _CASES.c.assigned_agent_id == bindparam("agent_id")
    if teams:
        mine = or_(mine, and_(_CASES.c.assigned_agent_id.is_(None),
                              _CASES.c.team.in_(bindparam("teams", expanding=True))))
    return (mine, _CASES.c.client_id == bindparam("client_id")) if client else (mine,)


def _not_skipped() -> ColumnElement:
    """Not skipped by this agent since ``:skipped_since`` (they are not offered it again yet)."""
    return ~exists().where(CaseSkip.case_id == _CASES.c.id, CaseSkip.agent_id == bindparam("agent_id"),
                           CaseSkip.created_at >= bindparam("skipped_since", type_=UTCDateTime()))


def _limit(n: int) -> ColumnElement:
    return integer(n)  # written into the SQL: PostgreSQL plans the generic plan for it


def _due(tier: str, *, teams: bool, client: bool, cap: int, resting: bool) -> Select:
    """The ``cap`` longest-due cases of a due tier *after* the scope and callable filters (capping
    first would let other teams' or parked cases crowd this agent's due ones out of the tier), with
    their rank and tier: read on the index alone but for these few rows (``ix_cases_promises_due``,
    ``ix_cases_follow_ups``)."""
    # A bound range (the other end a parameter too, the beginning of time) makes PostgreSQL estimate
    # the prepared statement's generic plan as cheap as a custom one, so it stops planning it anew
    # at every hand-out.
    due_at, since, until = (
        (_CASES.c.promise_due_on, bindparam("first_day", type_=Date()), bindparam("today", type_=Date()))
        if tier == "promise_due" else (_CASES.c.next_follow_up_at, bindparam("dawn", type_=UTCDateTime()), _NOW)
    )
    ranked = (
        select(_CASES.c.id, _CASES.c.bucket, _CASES.c.total_owed, constant(tier).label("tier"),
               integer(0 if tier == "promise_due" else 1).label("urgency"))
        .where(due_at.between(since, until), *_callable(resting=resting), *_in_scope(teams=teams, client=client))
        .order_by(due_at, _CASES.c.id).limit(_limit(cap))
    )
    return select(*ranked.subquery(tier).c)  # a member of a UNION ALL: its own ORDER BY and LIMIT kept


# HOT PATH (bench/dialer.py): the hand-out's read-and-lock of the next case; a change here is benchmarked.
@functools.cache
def _next_of(stage: str, *, teams: bool, client: bool, cap: int, resting: bool) -> Select:
    """The statement handing out the next case of ``stage`` (see :func:`next_candidate`). The
    candidates' rows are locked lazily, best first: only as many as it takes to find one that no
    other hand-out holds and that is still callable (re-checked on a row that changed meanwhile)."""
    if stage == "due":
        both = union_all(*(_due(tier, teams=teams, client=client, cap=cap, resting=resting)
                           for tier in ("promise_due", "follow_up_due"))).subquery("both")
        ranking = (both.c.urgency, both.c.bucket.desc(), both.c.total_owed.desc(), both.c.id.desc())
        # Ranked before the join (its LIMIT keeps the planner from undoing that), so the rows are
        # looked up and locked one at a time from the best, not all of them before a sort.
        due = select(both).order_by(*ranking).limit(_limit(2 * cap)).subquery("due")
        return (
            select(_CASES.c.id, due.c.tier).join(due, due.c.id == _CASES.c.id)
            .where(*_callable(resting=resting), _not_skipped())
            .order_by(due.c.urgency, due.c.bucket.desc(), due.c.total_owed.desc(), due.c.id.desc())
            .limit(_limit(1)).with_for_update(of=_CASES, skip_locked=True)
        )
    return (
        select(_CASES.c.id, constant("backlog").label("tier"))
        .where(*_callable(resting=resting), *_in_scope(teams=teams, client=client), _not_skipped())
        .order_by(_CASES.c.bucket.desc(), _CASES.c.total_owed.desc(), _CASES.c.id.desc()).limit(_limit(1))
        .with_for_update(skip_locked=True)
    )


async def next_candidate(
    session: AsyncSession, *, stage: str, agent_id: int, teams: Collection[str], client_id: int | None,
    now: dt.datetime, today: dt.date, skipped_since: dt.datetime, cap: int, resting: bool = False,
) -> tuple[int, str] | None:
    """Lock and return the next callable case in scope, with its tier; None when there is none (or
    only cases other hand-outs are on). ``stage`` "due": a pending promise due by ``today`` first,
    then a follow-up due, each ranked among its ``cap`` longest-due; "backlog": every callable case,
    read backwards on ``ix_cases_backlog`` (it stops at the first match). Within each, by bucket
    (M3+ first) and amount, both descending. ``resting``: the cases the agent holds are about to be
    given back to rest (:func:`hold` with ``rest_until``), so none of them either."""
    statement = _next_of(stage, teams=bool(teams), client=client_id is not None, cap=cap, resting=resting)
    parameters = {"agent_id": agent_id, "teams": list(teams), "client_id": client_id, "now": now, "today": today,
                  "skipped_since": skipped_since, "first_day": dt.date.min, "dawn": _DAWN}
    connection = await session.connection()
    row = (await connection.execute(statement, parameters)).first()
    return None if row is None else (row[0], row[1])


_HOLD = (
    update(_CASES).where(_CASES.c.id == bindparam("case_id"))
    .values(held_by_agent_id=bindparam("agent_id"), held_until=bindparam("until"), next_allowed_at=None,
            blocked_rules=None)
)
_PARK = (
    update(_CASES).where(_CASES.c.id == bindparam("case_id"))
    .values(next_allowed_at=bindparam("until"), blocked_rules=bindparam("rules"))
)


def _hold_and_rest():
    """The new hold and the release of what the agent held before, resting, in one statement."""
    new = _CASES.c.id == bindparam("case_id")
    agent = bindparam("agent_id", type_=_CASES.c.held_by_agent_id.type)
    until, rest_until = bindparam("until", type_=UTCDateTime()), bindparam("rest_until", type_=UTCDateTime())
    return (
        update(_CASES).where(or_(new, _CASES.c.held_by_agent_id == agent))
        .values(held_by_agent_id=case_when((new, agent), else_=None),
                held_until=case_when((new, until), else_=rest_until),
                next_allowed_at=case_when((new, None), else_=_CASES.c.next_allowed_at),
                blocked_rules=case_when((new, None), else_=_CASES.c.blocked_rules))
    )


_HOLD_AND_REST = _hold_and_rest()


async def hold(
    session: AsyncSession, *, case_id: int, agent_id: int, until: dt.datetime, rest_until: dt.datetime | None = None,
) -> None:
    """The case is the agent's until ``until`` (and no longer parked). ``rest_until``: what else
    the agent held is given back, kept from everyone until then (``release_all`` with
    ``not_before``), in the same statement."""
    connection = await session.connection()
    if rest_until is None:
        await connection.execute(_HOLD, {"case_id": case_id, "agent_id": agent_id, "until": until})
    else:
        await connection.execute(_HOLD_AND_REST, {"case_id": case_id, "agent_id": agent_id, "until": until,
                                                  "rest_until": rest_until})


async def case_of_number(session: AsyncSession, *, number_id: int) -> tuple[int, int | None, dt.datetime | None,
                                                                             CaseStatus] | None:
    """The case a number belongs to, locked, with its hold (agent, until) and status; None for an
    unknown number."""
    query = (
        select(Case.id, Case.held_by_agent_id, Case.held_until, Case.status)
        .join(Party, Party.case_id == Case.id).join(PhoneNumber, PhoneNumber.party_id == Party.id)
        .where(PhoneNumber.id == number_id).with_for_update(of=Case)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def park(session: AsyncSession, *, case_id: int, until: dt.datetime, rules: str) -> None:
    """Keep the case out of the queue until ``until``: the policy refused it for ``rules``."""
    connection = await session.connection()
    await connection.execute(_PARK, {"case_id": case_id, "until": until, "rules": rules})


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
