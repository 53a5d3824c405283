"""How long each recording is kept, and legal holds that keep it longer.

A recording's ``retain_until`` is the day it was stored plus its client's retention (the policy
document's ``recordings.retention_days``, whose floor a preset's regulation sets). A legal hold —
on a call, a party or a case, set and lifted by a supervisor or an admin with a reason — marks
every recording it covers (``Recording.legal_hold``), now and stored later, until no active hold
covers it. Each change of a recording's hold is told to the integrations (``recording.hold_changed``)
and every hold set or lifted is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.cases.models import Case, Party
from dialer.clients.models import Client
from dialer.compliance.repository import policy_for
from dialer.kit.errors import Conflict, InvalidInput, NotFound
from dialer.outbox import events, payloads
from dialer.outbox.models import EventType
from recordings.models import HoldScope, LegalHold

DEFAULT_RETENTION_DAYS = 1096
"""For a recording whose call names no client (an unknown caller's voicemail): three years."""

MAX_REASON = 2000


async def retention_of(session: AsyncSession, call: Call) -> tuple[int, str]:
    """The call's retention in days and the rule it comes from (for the tombstone)."""
    client = await session.get(Client, call.client_id) if call.client_id is not None else None
    if client is None:
        return DEFAULT_RETENTION_DAYS, f"retention {DEFAULT_RETENTION_DAYS} days (agency default, no client)"
    days = (await policy_for(session, client)).recordings.retention_days
    return days, f"retention {days} days (client {client.code}, policy version {client.policy_version})"


def _covers(call_id: Any, party_id: Any, case_id: Any) -> ColumnElement[bool]:
    """An active hold on this call, its party or its case."""
    return and_(
        LegalHold.lifted_at.is_(None),
        or_(and_(LegalHold.scope == HoldScope.CALL, LegalHold.scope_id == call_id),
            and_(LegalHold.scope == HoldScope.PARTY, LegalHold.scope_id == party_id) if party_id is not None else false(),
            and_(LegalHold.scope == HoldScope.CASE, LegalHold.scope_id == case_id) if case_id is not None else false()),
    )


async def held(session: AsyncSession, call: Call) -> bool:
    """Whether an active hold covers this call's recordings."""
    found = await session.execute(select(LegalHold.id).where(_covers(call.id, call.party_id, call.case_id)).limit(1))
    return found.first() is not None


async def _target_exists(session: AsyncSession, scope: HoldScope, scope_id: int) -> bool:
    model = {HoldScope.CALL: Call, HoldScope.PARTY: Party, HoldScope.CASE: Case}[scope]
    return await session.get(model, scope_id) is not None


def _calls_in(scope: HoldScope, scope_id: int) -> ColumnElement[bool]:
    column = {HoldScope.CALL: Call.id, HoldScope.PARTY: Call.party_id, HoldScope.CASE: Call.case_id}[scope]
    return column == scope_id


def _reason(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field}: say why (it is kept with the hold and shown to auditors)", field=field)
    if len(text) > MAX_REASON:
        raise InvalidInput(f"{field}: at most {MAX_REASON} characters", field=field)
    return text


async def place_hold(
    session: AsyncSession, *, scope: HoldScope, scope_id: int, reason: str, actor: Any, now: dt.datetime,
) -> tuple[LegalHold, int]:
    """A new hold; returns it and how many recordings became held."""
    text = _reason(reason, "reason")
    if not await _target_exists(session, scope, scope_id):
        raise NotFound(f"no {scope.value} {scope_id} to hold", field="scope_id")
    hold = LegalHold(scope=scope, scope_id=scope_id, reason=text, set_by=getattr(actor, "user_id", None), set_at=now)
    session.add(hold)
    await session.flush()
    changed = await _refresh(session, _calls_in(scope, scope_id), now=now, cause=f"hold {hold.id} placed")
    await audit.record(session, action="legal_hold.place", actor=actor, entity="legal_hold", entity_id=hold.id,
                       scope=scope.value, scope_id=scope_id, reason=text, recordings=changed)
    return hold, changed


async def lift_hold(
    session: AsyncSession, *, hold_id: int, reason: str, actor: Any, now: dt.datetime,
) -> tuple[LegalHold, int]:
    """Lift a hold; returns it and how many recordings are no longer held by anything."""
    text = _reason(reason, "reason")
    hold = await session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFound(f"legal hold {hold_id} not found", field="hold_id")
    if hold.lifted_at is not None:
        raise Conflict(f"legal hold {hold_id} was lifted already ({hold.lifted_at.isoformat()})", hold_id=hold_id)
    hold.lifted_at, hold.lifted_by, hold.lift_reason = now, getattr(actor, "user_id", None), text[:500]
    await session.flush()
    changed = await _refresh(session, _calls_in(hold.scope, hold.scope_id), now=now, cause=f"hold {hold.id} lifted")
    await audit.record(session, action="legal_hold.lift", actor=actor, entity="legal_hold", entity_id=hold.id,
                       scope=hold.scope.value, scope_id=hold.scope_id, reason=text, recordings=changed)
    return hold, changed


async def _refresh(session: AsyncSession, calls: ColumnElement[bool], *, now: dt.datetime, cause: str) -> int:
    """Recompute ``legal_hold`` for the recordings of these calls; tell each change."""
    rows = (await session.execute(
        select(Recording, Call).join(Call, Call.id == Recording.call_id)
        .where(calls, Recording.status != RecordingStatus.PURGED).order_by(Recording.id)
    )).all()
    changed = 0
    covered: dict[int, bool] = {}  # per call: its recordings share the answer
    for recording, call in rows:
        if call.id not in covered:
            covered[call.id] = await held(session, call)
        now_held = covered[call.id]
        if recording.legal_hold == now_held:
            continue
        recording.legal_hold = now_held
        changed += 1
        data = payloads.recording_data(recording, call)
        data["cause"] = cause
        await events.emit(session, EventType.RECORDING_HOLD_CHANGED, data, at=now, client_id=call.client_id,
                          call_id=call.id, recording_id=recording.id)
    await session.flush()
    return changed


async def holds(session: AsyncSession, *, active_only: bool = True, scope: HoldScope | None = None,
                scope_id: int | None = None, limit: int = 200) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.id.desc()).limit(limit)
    if active_only:
        query = query.where(LegalHold.lifted_at.is_(None))
    if scope is not None:
        query = query.where(LegalHold.scope == scope)
    if scope_id is not None:
        query = query.where(LegalHold.scope_id == scope_id)
    return list((await session.execute(query)).scalars())
