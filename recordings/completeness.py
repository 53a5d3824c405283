"""The completeness audit: for one day, proof that nothing recorded was lost — or the list of gaps.

For the calls that ended that day (in the agency's zone):

* every call ended with its record told to the integrations (a ``call.completed`` event), and no
  call of that day is still open;
* every answered call has a stored recording (a recording still being fetched, failed, or never
  reported by the carrier is a gap, with that reason), and so has every other call the carrier
  reported a recording for (a voicemail);
* every stored recording's file is there and its SHA-256 verifies now;
* every stored recording reached every endpoint that takes ``recording.stored`` for its client
  (delivered, pending, dead, or not even queued).

A recording purged after its retention is not a gap (its tombstone says when and why).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call, CallOutcome, Recording, RecordingStatus
from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from recordings.storage import RecordingStorage, key_of


@dataclass(frozen=True, slots=True)
class Gap:
    kind: str
    reason: str
    call_id: int | None = None
    recording_id: int | None = None
    endpoint_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "call_id": self.call_id,
                "recording_id": self.recording_id, "endpoint_id": self.endpoint_id}


@dataclass(slots=True)
class Report:
    day: dt.date
    zone: str
    calls: int = 0
    answered: int = 0
    recordings_stored: int = 0
    recordings_verified: int = 0
    recordings_purged: int = 0
    deliveries: dict[int, Counter[str]] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.gaps

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "zone": self.zone, "complete": self.complete, "calls": self.calls,
            "answered": self.answered, "recordings_stored": self.recordings_stored,
            "recordings_verified": self.recordings_verified, "recordings_purged": self.recordings_purged,
            "deliveries": {str(endpoint): dict(counts) for endpoint, counts in sorted(self.deliveries.items())},
            "gaps_by_kind": dict(Counter(gap.kind for gap in self.gaps)),
            "gaps": [gap.as_dict() for gap in self.gaps],
        }


def day_bounds(day: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


async def audit_day(
    session: AsyncSession, *, day: dt.date, zone: str, storage: RecordingStorage, now: dt.datetime,
    open_grace: dt.timedelta = dt.timedelta(hours=1), verify: bool = True,
) -> Report:
    start, end = day_bounds(day, zone)
    report = Report(day=day, zone=zone)
    await _open_calls(session, report, start=start, end=end, now=now, grace=open_grace)
    calls = (await session.execute(
        select(Call).where(Call.ended_at >= start, Call.ended_at < end).order_by(Call.id))).scalars().all()
    report.calls = len(calls)
    if not calls:
        return report
    ids = [call.id for call in calls]
    told = set((await session.execute(
        select(WebhookEvent.call_id).where(WebhookEvent.type == EventType.CALL_COMPLETED.value,
                                           WebhookEvent.call_id.in_(ids)))).scalars())
    recordings: dict[int, list[Recording]] = {}
    for recording in (await session.execute(select(Recording).where(Recording.call_id.in_(ids)))).scalars():
        recordings.setdefault(recording.call_id, []).append(recording)
    for call in calls:
        if call.id not in told:
            report.gaps.append(Gap("call_not_told", "no call.completed event for this call", call_id=call.id))
        if call.outcome is CallOutcome.ANSWERED:
            report.answered += 1
            _recording_gap(report, call, recordings.get(call.id, []))
        elif call.id in recordings:  # a voicemail (or any call the carrier recorded): stored too
            _recording_gap(report, call, recordings[call.id])
    stored = [r for rs in recordings.values() for r in rs if r.status is RecordingStatus.STORED]
    report.recordings_stored = len(stored)
    report.recordings_purged = sum(r.status is RecordingStatus.PURGED for rs in recordings.values() for r in rs)
    for recording in stored:
        await _check_file(report, recording, storage, verify=verify)
    await _deliveries(session, report, calls, stored)
    return report


async def _open_calls(session: AsyncSession, report: Report, *, start: dt.datetime, end: dt.datetime,
                      now: dt.datetime, grace: dt.timedelta) -> None:
    still_open = (await session.execute(
        select(Call.id, Call.state).where(Call.requested_at >= start, Call.requested_at < end,
                                          Call.requested_at < now - grace, Call.state.not_in(list(ENDS)))
        .order_by(Call.id))).all()
    for call_id, state in still_open:
        report.gaps.append(Gap("call_open", f"requested that day and still {state.value}", call_id=call_id))


def _recording_gap(report: Report, call: Call, recordings: list[Recording]) -> None:
    statuses = {r.status for r in recordings}
    if statuses & {RecordingStatus.STORED, RecordingStatus.PURGED}:
        return
    if RecordingStatus.PENDING in statuses:
        pending = next(r for r in recordings if r.status is RecordingStatus.PENDING)
        reason = f"still being fetched ({pending.attempts} attempts; {pending.last_error or 'no error yet'})"
        report.gaps.append(Gap("recording_pending", reason, call_id=call.id, recording_id=pending.id))
    elif RecordingStatus.FAILED in statuses:
        failed = next(r for r in recordings if r.status is RecordingStatus.FAILED)
        report.gaps.append(Gap("recording_failed", f"fetch failed {failed.attempts} times: {failed.last_error}",
                               call_id=call.id, recording_id=failed.id))
    else:
        report.gaps.append(Gap("recording_missing", "answered, but the carrier never reported a recording",
                               call_id=call.id))


async def _check_file(report: Report, recording: Recording, storage: RecordingStorage, *, verify: bool) -> None:
    if not recording.sha256:
        report.gaps.append(Gap("file_missing", "stored without a checksum", call_id=recording.call_id,
                               recording_id=recording.id))
        return
    key = key_of(recording.sha256)
    size = await storage.size(key)
    if size is None:
        report.gaps.append(Gap("file_missing", f"no media at {key}", call_id=recording.call_id,
                               recording_id=recording.id))
    elif recording.size_bytes is not None and size != recording.size_bytes:
        report.gaps.append(Gap("file_corrupt", f"{size} bytes stored, {recording.size_bytes} recorded",
                               call_id=recording.call_id, recording_id=recording.id))
    elif verify and not await storage.verify(key, recording.sha256):
        report.gaps.append(Gap("file_corrupt", "its SHA-256 no longer matches", call_id=recording.call_id,
                               recording_id=recording.id))
    else:
        report.recordings_verified += 1


async def _deliveries(session: AsyncSession, report: Report, calls: Sequence[Call], stored: list[Recording]) -> None:
    endpoints = (await session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id))).scalars().all()
    wanting = [e for e in endpoints if EventType.RECORDING_STORED.value in (e.event_types or [])]
    if not wanting or not stored:
        return
    client_of = {call.id: call.client_id for call in calls}
    recording_ids = [r.id for r in stored]
    events = {event.recording_id: event for event in (await session.execute(
        select(WebhookEvent).where(WebhookEvent.type == EventType.RECORDING_STORED.value,
                                   WebhookEvent.recording_id.in_(recording_ids)))).scalars()}
    states = {(event_pk, endpoint_id): status for event_pk, endpoint_id, status in (await session.execute(
        select(Delivery.event_pk, Delivery.endpoint_id, Delivery.status)
        .where(Delivery.event_pk.in_([e.id for e in events.values()])))).all()}
    for endpoint in wanting:
        counts = report.deliveries.setdefault(endpoint.id, Counter())
        for recording in stored:
            client = client_of.get(recording.call_id)
            if endpoint.client_ids is not None and client not in endpoint.client_ids:
                continue
            event = events.get(recording.id)
            status = None if event is None else states.get((event.id, endpoint.id))
            label = status.value if status is not None else "not_queued"
            counts[label] += 1
            if status is not DeliveryStatus.DELIVERED:
                reason = ("no recording.stored event" if event is None else
                          "not queued for this endpoint yet" if status is None else f"delivery {label}")
                report.gaps.append(Gap("not_delivered", reason, call_id=recording.call_id, recording_id=recording.id,
                                       endpoint_id=endpoint.id))
