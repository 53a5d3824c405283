"""A call's page: the call, the compliance decision that allowed it, its whisper, wrap-up note,
promises and recordings, and one timeline of everything that happened to it — its states, the
carrier's callbacks as stored, supervisors joining, switching mode and leaving, recordings noted
and stored, the note and the promises.

A fixed number of statements whatever the call holds (the call with its names, the decision, the
callbacks, the audit rows with their actors, the note, the promises, the recordings). Not audited:
reading a call (``GET /v1/calls/{id}``) is not; the recordings' media stay behind the recordings
endpoints, which audit every access.

Supervisors: a join and each mode switch are the audit rows ``call.supervise`` and
``call.supervise_mode`` (``dialer.dialing.controls``); a leave is the end of the supervisor's leg,
as the carrier reported it (a status callback of leg ``supervisor``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy import Row, String, Text, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.models import AuditEntry
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.calls import history
from dialer.calls.history_schemas import (
    EventActor, CallTimeline, CallDecision, CallNote, CallPromise, RecordingItem, RecordingLinks, Source, TimelineEvent,
)
from dialer.calls.lifecycle import ENDS, twilio_state
from dialer.calls.models import Call, Recording
from dialer.compliance.models import Decision
from dialer.kit.db import BigIntPK, JSONDoc, table_of
from dialer.kit.types import UTCDateTime
from dialer.notes.models import PromiseToPay, WrapUpNote
from dialer.outbox.payloads import channel_sides

RecordingPaths = Callable[[int], RecordingLinks]
"""Where the recordings endpoints serve recording ``id`` (the HTTP edge knows the routes)."""

CARRIER_EVENTS = table(
    "carrier_events",
    column("id", BigIntPK), column("kind", String), column("call_id", BigIntPK), column("leg", String),
    column("carrier_call_id", String), column("payload", JSONDoc), column("received_at", UTCDateTime()),
    column("processed_at", UTCDateTime()), column("outcome", String), column("error", Text),
)
"""The columns of the carrier events inbox this page reads. The table belongs to ``webhooks``,
which the domain does not import (the layer rules in pyproject); tests/calls_history checks these
columns against ``webhooks.models.CarrierEvent``."""

CARRIER_FIELDS = ("CallStatus", "CallDuration", "SequenceNumber", "Timestamp", "SipResponseCode", "AnsweredBy",
                  "ErrorCode", "StatusCallbackEvent", "RecordingSid", "RecordingStatus", "RecordingDuration")
"""What a callback's timeline entry shows of its parameters: the status it reports, not who the
legs were (the numbers and softphones stay in the stored callback)."""

Callback = Row[Unpack[tuple[Any, ...]]]
"""A row of :data:`CARRIER_EVENTS`."""
Audited = tuple[AuditEntry, str | None]
"""An audit row on the call and its actor's name."""

_RECORDING_COLUMNS = frozenset(table_of(Recording).columns.keys())
_STAMPS = ("requested_at", "dialing_at", "ringing_at", "answered_at", "bridged_at")


async def call_timeline(
    session: AsyncSession, call_id: int, principal: Principal, *, recording_paths: RecordingPaths,
) -> CallTimeline:
    """The call's page, if ``principal`` may see the call (the history's scope); else 404."""
    call, detail = await history.call_detail(session, call_id, principal)
    decision = await session.get(Decision, call.decision_id) if call.decision_id is not None else None
    callbacks = (await session.execute(
        select(CARRIER_EVENTS).where(CARRIER_EVENTS.c.call_id == call.id).order_by(CARRIER_EVENTS.c.id)
    )).all()
    audited: list[Audited] = [(entry, name) for entry, name in await session.execute(
        select(AuditEntry, User.display_name).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.entity == "call", AuditEntry.entity_id == str(call.id)).order_by(AuditEntry.id)
    )]
    notes = list((await session.execute(select(WrapUpNote).where(WrapUpNote.call_id == call.id))).scalars())
    made_here = [PromiseToPay.call_id == call.id]
    if call.case_id is not None:  # a promise is the case's: its index finds the case's few
        made_here.append(PromiseToPay.case_id == call.case_id)
    promises = list((await session.execute(select(PromiseToPay).where(*made_here).order_by(PromiseToPay.id))).scalars())
    recordings = list((await session.execute(
        select(Recording).where(Recording.call_id == call.id).order_by(Recording.id)
    )).scalars())
    return CallTimeline(
        call=detail, whisper_text=call.whisper_text,
        decision=CallDecision.model_validate(decision) if decision is not None else None,
        notes=[CallNote.model_validate(n) for n in notes], promises=[CallPromise.model_validate(p) for p in promises],
        recordings=[_recording(r, call, _links(principal, recording_paths, r.id))
                    for r in recordings],  # the recordings endpoints serve supervisors, admins, integrations
        events=events_of(call, decision=decision, callbacks=callbacks, audited=audited, notes=notes,
                         promises=promises, recordings=recordings),
    )


def _links(principal: Principal, paths: RecordingPaths, recording_id: int) -> RecordingLinks | None:
    """Agents get none; an auditor no signed link (making one is a write: theirs are reads only)."""
    if principal.role is Role.AGENT:
        return None
    links = paths(recording_id)
    return links.model_copy(update={"signed_link": None}) if principal.role is Role.AUDITOR else links


def _recording(recording: Recording, call: Call, links: RecordingLinks | None) -> RecordingItem:
    fields = {name: getattr(recording, name) for name in RecordingItem.model_fields.keys() & _RECORDING_COLUMNS}
    return RecordingItem.model_validate({**fields, "channel_sides": channel_sides(recording, call), "links": links})


def events_of(
    call: Call, *, decision: Decision | None, callbacks: Sequence[Callback], audited: Sequence[Audited],
    notes: Iterable[WrapUpNote], promises: Iterable[PromiseToPay], recordings: Iterable[Recording],
) -> list[TimelineEvent]:
    """Everything that happened to the call, oldest first (a stable sort: at the same instant, the
    decision, then the call's states, callbacks, supervisors, recordings, the note, promises)."""
    events: list[TimelineEvent] = []
    if decision is not None:
        events.append(TimelineEvent(
            at=decision.at, source="compliance", kind="allowed" if decision.allowed else "refused",
            detail={"decision_id": decision.id, "policy_version": decision.policy_version}))
    events += _states(call)
    joined = {str(entry.detail.get("participant_call_id")): (entry, name) for entry, name in audited
              if entry.action == "call.supervise"}
    events += [_callback(row) for row in callbacks]
    events += [left for row in callbacks if (left := _supervisor_left(row, joined)) is not None]
    events += [_audited(entry, name) for entry, name in audited]
    for recording in recordings:
        events += _recording_events(recording)
    events += [TimelineEvent(at=n.created_at, source="note", kind="wrap_up", detail={
        "note_id": n.id, "agent_id": n.agent_id, "disposition": n.disposition.value}) for n in notes]
    events += [TimelineEvent(at=p.created_at, source="promise", kind="promise_made", detail={
        "promise_id": p.id, "amount": str(p.amount), "due_date": p.due_date.isoformat()}) for p in promises]
    return sorted(events, key=lambda e: e.at)


def _states(call: Call) -> list[TimelineEvent]:
    """The states the call passed, from its own time stamps (each set once, on entering it)."""
    out = [TimelineEvent(at=at, source="state", kind=stamp.removesuffix("_at"))
           for stamp in _STAMPS if (at := getattr(call, stamp)) is not None]
    if call.state in ENDS and call.ended_at is not None:
        out.append(TimelineEvent(at=call.ended_at, source="state", kind=call.state.value, detail={
            "outcome": call.outcome.value if call.outcome else None, "hangup_by": call.hangup_by,
            "error_code": call.error_code}))
    return out


def _callback(row: Callback) -> TimelineEvent:
    payload: Mapping[str, Any] = row.payload or {}
    return TimelineEvent(at=row.received_at, source="carrier", kind=row.kind, detail={
        "event_id": row.id, "leg": row.leg, "carrier_call_id": row.carrier_call_id,
        **{name: payload[name] for name in CARRIER_FIELDS if name in payload},
        "applied": row.outcome, "processed_at": row.processed_at.isoformat() if row.processed_at else None,
        "error": row.error,
    })


def _supervisor_left(row: Callback, joined: Mapping[str, Audited]) -> TimelineEvent | None:
    """A supervisor's leg ended: they left the call."""
    status = str((row.payload or {}).get("CallStatus", ""))
    if row.kind != "call_status" or row.leg != "supervisor" or twilio_state(status) not in ENDS:
        return None
    entry, name = joined.get(str(row.carrier_call_id), (None, None))
    return TimelineEvent(at=row.received_at, source="supervisor", kind="left",
                         actor=_actor(entry, name) if entry is not None else None,
                         detail={"participant_call_id": row.carrier_call_id, "status": status})


_SUPERVISOR = {"call.supervise": "joined", "call.supervise_mode": "mode_switched"}


def _audited(entry: AuditEntry, name: str | None) -> TimelineEvent:
    source: Source
    if entry.action in _SUPERVISOR:
        source, kind = "supervisor", _SUPERVISOR[entry.action]
    elif entry.action == "call.illegal_transition":
        source, kind = "state", "refused_move"
    else:
        source, kind = "audit", entry.action
    return TimelineEvent(at=entry.at, source=source, kind=kind, actor=_actor(entry, name), detail=dict(entry.detail))


def _actor(entry: AuditEntry, name: str | None) -> EventActor | None:
    if entry.actor_id is None:
        return None
    return EventActor(id=entry.actor_id, name=name or "", role=entry.actor_role)


def _recording_events(recording: Recording) -> list[TimelineEvent]:
    stamps: tuple[tuple[str, dt.datetime | None], ...] = (
        ("noted", recording.created_at), ("stored", recording.stored_at), ("archived", recording.archived_at),
        ("purged", recording.purged_at),
    )
    return [TimelineEvent(at=at, source="recording", kind=kind, detail={"recording_id": recording.id})
            for kind, at in stamps if at is not None]
