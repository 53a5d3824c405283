"""The one owner of supervisions (a supervisor on a live call, :class:`~dialer.calls.models.Supervision`):
joining, changing mode, leaving, and the leg's end told by the carrier. Each change is told to the
live pages (``supervision`` events) in the unit of work that makes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, Supervision
from dialer.kit.errors import NotFound
from dialer.live import publish as live


def _told(session: AsyncSession, supervision: Supervision, call: Call, change: str, at: dt.datetime) -> None:
    live.publish(session, live.SUPERVISION, {
        "supervision_id": supervision.id, "call_id": call.id, "agent_id": call.agent_id,
        "supervisor_id": supervision.supervisor_id, "seat_id": supervision.seat_id, "mode": supervision.mode,
        "change": change, "ended_by": supervision.ended_by}, at=at)


async def joined(session: AsyncSession, call: Call, *, supervisor_id: int, seat_id: int, participant_call_id: str,
                 mode: str, now: dt.datetime) -> Supervision:
    supervision = Supervision(call_id=call.id, supervisor_id=supervisor_id, seat_id=seat_id,
                              participant_call_id=participant_call_id, mode=mode, started_at=now, mode_since=now)
    session.add(supervision)
    await session.flush()
    _told(session, supervision, call, "joined", now)
    return supervision


async def open_on(session: AsyncSession, call: Call, participant_call_id: str, *, lock: bool = True) -> Supervision:
    """The open supervision of ``call`` by that leg (404 when there is none: ended, or another call's)."""
    query = select(Supervision).where(Supervision.call_id == call.id, Supervision.participant_call_id == participant_call_id,
                                      Supervision.ended_at.is_(None))
    found = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no supervisor leg {participant_call_id} on call {call.id}")
    return found


def mode_changed(session: AsyncSession, supervision: Supervision, call: Call, mode: str, *, now: dt.datetime) -> None:
    supervision.mode, supervision.mode_since = mode, now
    _told(session, supervision, call, "mode", now)


def left(session: AsyncSession, supervision: Supervision, call: Call, *, now: dt.datetime, by: str) -> None:
    if supervision.ended_at is None:
        supervision.ended_at, supervision.ended_by = now, by
        _told(session, supervision, call, "left", now)


async def leg_ended(session: AsyncSession, call: Call, participant_call_id: str | None, *, at: dt.datetime) -> bool:
    """The carrier told the end of a supervisor's leg (their phone hung up, or the conference
    ended): its supervision ends (False when none was open)."""
    if not participant_call_id:
        return False
    query = select(Supervision).where(Supervision.participant_call_id == participant_call_id,
                                      Supervision.call_id == call.id, Supervision.ended_at.is_(None))
    supervision = (await session.execute(query)).scalar_one_or_none()
    if supervision is None:
        return False
    left(session, supervision, call, now=at, by="hung_up")
    return True


async def open_for(session: AsyncSession, call_ids: Iterable[int]) -> dict[int, list[Supervision]]:
    """The open supervisions of these calls, by call, oldest first."""
    ids = list(call_ids)
    if not ids:
        return {}
    query = select(Supervision).where(Supervision.call_id.in_(ids), Supervision.ended_at.is_(None)).order_by(
        Supervision.id)
    found: dict[int, list[Supervision]] = {}
    for supervision in (await session.execute(query)).scalars():
        found.setdefault(supervision.call_id, []).append(supervision)
    return found
