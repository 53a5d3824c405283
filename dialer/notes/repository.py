"""Queries for wrap-up notes: the call being noted, a case's history and what each note links to
(recording, promise, callback, tasks). Which call an agent owes a note for is the agents' rule
(``dialer.agents.wrap_up``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.cases.models import Party, PartyRole
from dialer.compliance.models import Consent, ConsentKind
from dialer.notes.models import PromiseToPay, WrapUpNote
from dialer.tasks.models import Task


async def lock_call(session: AsyncSession, call_id: int) -> Call | None:
    """The call, locked (PostgreSQL) so two saves of its note take turns."""
    query = select(Call).where(Call.id == call_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def note_of_call(session: AsyncSession, call_id: int) -> WrapUpNote | None:
    return (await session.execute(select(WrapUpNote).where(WrapUpNote.call_id == call_id))).scalar_one_or_none()


async def debtor_zone(session: AsyncSession, case_id: int) -> str | None:
    query = select(Party.time_zone).where(Party.case_id == case_id, Party.role == PartyRole.DEBTOR).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def notes_of_case(session: AsyncSession, case_id: int, *, limit: int, before: int | None) -> list[WrapUpNote]:
    """The case's notes, newest first; ``before`` continues after a page (notes with a smaller id)."""
    query = select(WrapUpNote).where(WrapUpNote.case_id == case_id).order_by(WrapUpNote.id.desc()).limit(limit)
    if before is not None:
        query = query.where(WrapUpNote.id < before)
    return list((await session.execute(query)).scalars())


@dataclass(slots=True)
class Linked:
    """What the notes of some calls link to, by call id."""

    calls: dict[int, Call] = field(default_factory=dict)
    recordings: dict[int, Recording] = field(default_factory=dict)
    promises: dict[int, PromiseToPay] = field(default_factory=dict)
    callbacks: dict[int, Consent] = field(default_factory=dict)
    tasks: dict[int, list[Task]] = field(default_factory=dict)


async def linked(session: AsyncSession, call_ids: Sequence[int]) -> Linked:
    """Calls, recordings, promises, callback consents and follow-up tasks of ``call_ids``: one
    query each, whatever the number of notes."""
    out = Linked()
    if not call_ids:
        return out
    ids = list(call_ids)
    out.calls = {c.id: c for c in (await session.execute(select(Call).where(Call.id.in_(ids)))).scalars()}
    recordings = (await session.execute(select(Recording).where(Recording.call_id.in_(ids)))).scalars()
    for recording in sorted(recordings, key=lambda r: (r.status is not RecordingStatus.STORED, r.id), reverse=True):
        out.recordings[recording.call_id] = recording  # the stored one, else the first, wins
    for promise in (await session.execute(
        select(PromiseToPay).where(PromiseToPay.call_id.in_(ids)).order_by(PromiseToPay.id.desc())
    )).scalars():
        if promise.call_id is not None:  # selected by call id
            out.promises[promise.call_id] = promise
    for consent in (await session.execute(
        select(Consent).where(Consent.source_call_id.in_(ids), Consent.kind == ConsentKind.CALLBACK)
        .order_by(Consent.id.desc())
    )).scalars():
        if consent.source_call_id is not None:
            out.callbacks[consent.source_call_id] = consent
    for task in (await session.execute(
        select(Task).where(Task.source_call_id.in_(ids)).order_by(Task.id)
    )).scalars():
        if task.source_call_id is not None:
            out.tasks.setdefault(task.source_call_id, []).append(task)
    return out
