"""Who works a case now: its hold (``held_by_agent_id`` until ``held_until``), and how long a
case rests after it was worked. The one owner of the hold columns' writes outside the work
queue's hand-out statements (``dialer.worklist``).

A case handed out is the agent's for :data:`HOLD`; while it is being dialed, through the call and
its wrap-up (:data:`CALL_HOLD`); the note (or a call that never rang the party) renews it to
:data:`HOLD`; the agent's next case, a skip or a logout gives it back, resting (:data:`WORKED_REST`)
when it was worked.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cases.models import Case, CaseStatus
from dialer.kit.db import rowcount

HOLD = dt.timedelta(minutes=15)
"""How long a handed-out case stays with its agent unless released (a crashed desktop frees it);
renewed when the agent saves the note of a call on it."""
CALL_HOLD = dt.timedelta(hours=4)
"""A case being dialed stays with its agent through the call and its wrap-up, however long: the
hold is set to this at the dial (only a backstop: the note renews it to :data:`HOLD`, the next
hand-out or a logout gives the case back)."""
WORKED_REST = dt.timedelta(hours=2)
"""A case just worked (dialed, noted) is offered to nobody for this long; its note's follow-up date
and the policy's caps decide the rest (the progressive engine rests its cases the same way)."""


async def hold_for_call(session: AsyncSession, *, case_id: int, now: dt.datetime) -> None:
    """The case being dialed stays with its agent through the call and its wrap-up (:data:`CALL_HOLD`)."""
    await session.execute(update(Case).where(Case.id == case_id).values(held_until=now + CALL_HOLD))


async def renew_hold(session: AsyncSession, *, case_id: int, agent_id: int, now: dt.datetime) -> None:
    """The agent's call on the case they hold is over (its note saved, or it was never placed): the
    case stays theirs the usual while (:data:`HOLD`) in case they call another of its parties; their
    next case gives it back."""
    await session.execute(
        update(Case).where(Case.id == case_id, Case.held_by_agent_id == agent_id, Case.held_until > now)
        .values(held_until=now + HOLD)
    )


async def release(
    session: AsyncSession, *, case_id: int, agent_id: int, not_before: dt.datetime | None = None,
) -> bool:
    """Give back a case the agent holds (after a skip, a call, a logout). ``not_before`` keeps it
    out of everyone's queue until then (e.g. a rest after a call). False when they did not hold it."""
    result = await session.execute(
        update(Case).where(Case.id == case_id, Case.held_by_agent_id == agent_id)
        .values(held_by_agent_id=None, held_until=not_before)
    )
    return bool(rowcount(result))


async def release_all(session: AsyncSession, *, agent_id: int, not_before: dt.datetime | None = None) -> None:
    """Give back every case the agent holds (a reservation abandoned, a logout); ``not_before``
    rests them, as in :func:`release`."""
    await session.execute(
        update(Case).where(Case.held_by_agent_id == agent_id).values(held_by_agent_id=None, held_until=not_before)
    )


async def held_case(session: AsyncSession, *, agent_id: int, now: dt.datetime, lock: bool = True) -> Case | None:
    """The open case this agent holds now (locked unless ``lock`` is false)."""
    query = (
        select(Case).where(Case.held_by_agent_id == agent_id, Case.held_until > now, Case.status == CaseStatus.OPEN)
        .order_by(Case.held_until.desc()).limit(1)
    )
    if lock:
        query = query.with_for_update(of=Case)
    return (await session.execute(query)).scalar_one_or_none()
