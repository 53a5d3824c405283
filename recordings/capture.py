"""Fetch finished recordings from the carrier into storage; retry failures; flag calls without one.

A recording the carrier reported is a ``pending`` row until its media is stored with its
checksum. A failed download is retried with backoff and stays visible (``attempts``,
``last_error``); after ``MAX_ATTEMPTS`` it is ``failed`` and the call is flagged, never dropped.
An answered call whose recording was never reported is asked of the carrier, and asked again,
backed off, while the carrier has none (:func:`recover_unreported`, :func:`next_ask`).
"""

from __future__ import annotations

import datetime as dt
import logging
import wave
from io import BytesIO
from typing import Protocol

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, CallOutcome, Recording, RecordingStatus
from dialer.kit.db import insert_once
from dialer.outbox import events, payloads
from dialer.telephony.carrier import CarrierError, RecordingInfo
from dialer.outbox.models import EventType
from recordings import retention
from recordings.storage import RecordingStorage

log = logging.getLogger("dialer.recordings")

MAX_ATTEMPTS = 8


class MediaSource(Protocol):
    async def fetch_recording(self, media_url: str) -> bytes: ...


class RecordingIndex(Protocol):
    async def recordings_of(self, carrier_call_id: str) -> list[RecordingInfo]: ...


RECOVER_AFTER = dt.timedelta(minutes=2)
"""A recording's callback comes seconds after its call ends; one still missing this long after is
asked of the carrier (the service was down when the carrier told it)."""
ASK_AGAIN_WITHIN = dt.timedelta(days=7)
"""How long after its end a call the carrier had nothing for is asked again (see :func:`next_ask`)."""
SHORTEST_WAIT, LONGEST_WAIT = dt.timedelta(seconds=30), dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min … capped at 1 hour."""
    return min(SHORTEST_WAIT * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def next_ask(*, ended_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When to ask the carrier again for a call it had no finished recording for at ``now``: once the
    time since the call became askable (``RECOVER_AFTER`` after its end) has doubled, 30 s at the
    least and an hour at the most — 30 s, 30 s, 1 min, 2 min … 1 h, 1 h, as :func:`backoff` grows.
    Worked out from the call's own times, so one column (``Call.recording_next_ask_at``) holds the
    whole back-off, and a call first asked late (after an outage) waits the hour straight away.

    Asked again only until ``ASK_AGAIN_WITHIN`` (7 days) after its end (the query's bound): a
    recording appears at the carrier minutes after the call (Twilio's processing, the SIP media
    process closing its WAV), a carrier's own incident holds it back hours, a long one a day or two;
    a carrier with nothing for a week has nothing to give, and each such call costs under 200 asks
    in that week rather than 20,000. That bound is on asking *again*: a call never asked — its
    callback lost while the service was down, for however long — is asked once whatever its age,
    as neither carrier expires a recording by itself (Twilio keeps one until the account deletes
    it, the SIP carrier's WAV stays on the media host's disk), so nothing the carrier still holds
    is dropped. Calls flagged ``recording_missing`` are asked like any other: a recording that
    turns up is stored and the flag cleared (:func:`capture_one`)."""
    waited = now - (ended_at + RECOVER_AFTER)
    return now + min(max(waited, SHORTEST_WAIT), LONGEST_WAIT)


async def due(session: AsyncSession, *, now: dt.datetime, limit: int = 20) -> list[Recording]:
    query = (
        select(Recording)
        .where(Recording.status == RecordingStatus.PENDING,
               or_(Recording.next_attempt_at.is_(None), Recording.next_attempt_at <= now))
        .order_by(Recording.id).limit(limit).with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def capture_one(
    session: AsyncSession, recording: Recording, *, source: MediaSource, storage: RecordingStorage, now: dt.datetime,
) -> bool:
    """Download, store and checksum one recording. Returns whether it is now stored."""
    recording.attempts += 1
    try:
        content = await source.fetch_recording(recording.media_url or "")
        stored = await storage.put(content)
    except Exception as exc:  # any failure is a recorded outcome, retried later
        recording.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if recording.attempts >= MAX_ATTEMPTS:
            recording.status = RecordingStatus.FAILED
            call = await session.get(Call, recording.call_id)
            if call is not None:
                await _missing(session, call, now=now, reason="fetch_failed", recording=recording)
            log.error("recording %s failed %s times; call %s flagged", recording.id, recording.attempts, recording.call_id)
        else:
            recording.next_attempt_at = now + backoff(recording.attempts)
        await session.flush()  # the session does not autoflush: flag_missing, later in the run, reads this
        return False
    recording.status = RecordingStatus.STORED
    recording.sha256, recording.size_bytes = stored.sha256, stored.size_bytes
    recording.content_type = "audio/wav"
    recording.channels = recording.channels or _wav_channels(content)
    recording.stored_at = now
    recording.last_error = None
    await session.flush()  # stored before flag_missing, later in the run, looks (the session does not autoflush)
    await session.execute(update(Call).where(Call.id == recording.call_id).values(recording_missing=False))
    call = await session.get(Call, recording.call_id)
    if call is None:
        recording.retain_until = (now + dt.timedelta(days=retention.DEFAULT_RETENTION_DAYS)).date()
    else:
        days, _ = await retention.retention_of(session, call)
        recording.retain_until = (now + dt.timedelta(days=days)).date()
        recording.legal_hold = await retention.held(session, call)
        await events.emit(session, EventType.RECORDING_STORED, payloads.recording_data(recording, call), at=now,
                          client_id=call.client_id, call_id=call.id, recording_id=recording.id)
    return True


async def recover_unreported(
    session: AsyncSession, *, now: dt.datetime, index: RecordingIndex, limit: int = 50,
    started_at: dt.datetime | None = None,
) -> int:
    """Answered calls that ended at least ``RECOVER_AFTER`` ago with no recording at all, due to be
    asked (never asked yet, newest first; then those whose :func:`next_ask` has come, within
    ``ASK_AGAIN_WITHIN`` of their end, longest due first): ask the carrier for the recordings it
    holds and note the finished ones, so the capture fetches them as if their callbacks had come.
    A call with none finished is asked again later (:func:`next_ask`). Returns how many were noted.
    A carrier that fails to answer is tried again at the next run: not having answered, it has not
    said "nothing" (the call stays without one, and is flagged after the grace like any other).
    Every call is asked before anything is written, so the rows written are not locked while the
    carrier answers.

    At a start (``started_at``: when this process started, :func:`dialer.jobs.reconcile_at_start`) a
    call that ended before it is asked at once, without waiting ``RECOVER_AFTER``: its callbacks
    went to a process that is gone, so after a crash the recordings are fetched within seconds, not
    minutes. Asking early costs nothing: an unfinished recording is asked again as :func:`next_ask`
    says, and a callback arriving after is a repeat of what is already noted."""
    known = exists().where(Recording.call_id == Call.id)
    askable = or_(Call.ended_at <= now - RECOVER_AFTER, Call.recording_next_ask_at.is_not(None))  # asked once:
    if started_at is not None:  # its back-off rules from then on
        askable = or_(askable, Call.ended_at < started_at)
    next_ask_at = Call.recording_next_ask_at
    to_ask = or_(next_ask_at.is_(None), and_(next_ask_at <= now, Call.ended_at > now - ASK_AGAIN_WITHIN))
    calls = (await session.execute(
        select(Call).where(Call.outcome == CallOutcome.ANSWERED, Call.carrier_call_id.is_not(None),
                           askable, to_ask, ~known)
        .order_by(next_ask_at.is_not(None), next_ask_at, Call.ended_at.desc()).limit(limit)
    )).scalars().all()
    answers: list[tuple[Call, list[RecordingInfo]]] = []
    for call in calls:
        try:
            answers.append((call, await index.recordings_of(call.carrier_call_id or "")))
        except CarrierError as exc:
            log.warning("recordings of call %s: the carrier did not answer (%s)", call.id, exc.detail)
    noted = 0
    for call, found in answers:
        finished = [info for info in found if info.status == "completed"]
        if not finished:
            call.recording_next_ask_at = next_ask(ended_at=call.ended_at or now, now=now)
        for info in finished:
            row = await insert_once(session, Recording, {
                "call_id": call.id, "carrier": call.carrier, "carrier_recording_id": info.carrier_recording_id,
                "status": RecordingStatus.PENDING, "media_url": info.media_url, "duration_s": info.duration_s,
                "channels": info.channels, "next_attempt_at": now,
            }, ["carrier", "carrier_recording_id"])
            if row is not None:
                noted += 1
                log.warning("call %s: recording %s recovered from the carrier (its callback never came)",
                            call.id, info.carrier_recording_id)
    await session.flush()
    return noted


async def flag_missing(session: AsyncSession, *, now: dt.datetime, grace: dt.timedelta = dt.timedelta(minutes=15),
                       limit: int = 500) -> int:
    """Flag answered calls that ended more than ``grace`` ago without a stored recording, and tell
    the integrations (``recording.missing``); a later recording still stores and clears the flag."""
    stored = exists().where(Recording.call_id == Call.id, Recording.status == RecordingStatus.STORED)
    calls = (await session.execute(
        select(Call)
        .where(Call.outcome == CallOutcome.ANSWERED, Call.ended_at <= now - grace, Call.recording_missing.is_(False),
               ~stored)
        .order_by(Call.id).limit(limit).with_for_update(skip_locked=True)
    )).scalars().all()
    for call in calls:
        fetching = exists().where(Recording.call_id == call.id, Recording.status == RecordingStatus.PENDING)
        reason = "still_fetching" if (await session.execute(select(fetching))).scalar() else "never_reported"
        await _missing(session, call, now=now, reason=reason)
    return len(calls)


async def _missing(session: AsyncSession, call: Call, *, now: dt.datetime, reason: str,
                   recording: Recording | None = None) -> None:
    call.recording_missing = True
    data = await payloads.call_data(session, call)
    data["reason"] = reason
    if recording is not None:
        data["recording"] = {"id": recording.id, "attempts": recording.attempts, "last_error": recording.last_error}
    await events.emit(session, EventType.RECORDING_MISSING, data, at=now, client_id=call.client_id, call_id=call.id,
                      recording_id=recording.id if recording is not None else None)


def _wav_channels(content: bytes) -> int | None:
    try:
        with wave.open(BytesIO(content)) as reader:
            return reader.getnchannels()
    except (wave.Error, EOFError):
        return None
