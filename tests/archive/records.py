"""Calls with recordings in every state the archive cares about, built directly (plain factories)."""

from __future__ import annotations

import datetime as dt
import io
import wave

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, CallOutcome, CallState, Direction, Recording, RecordingStatus
from dialer.cases.models import Case, Party
from dialer.outbox.models import WebhookEvent
from recordings.storage import RecordingStorage
from tests.factories import make_case

NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.timezone.utc)  # 12:00 in Shanghai


def wav(seconds: float = 0.5, channels: int = 2, tone: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes([tone, 0]) * channels * int(8000 * seconds))
    return buffer.getvalue()


async def answered_call(session: AsyncSession, *, case: Case | None = None, ended_at: dt.datetime = NOW,
                        outcome: CallOutcome = CallOutcome.ANSWERED) -> Call:
    case = case or await make_case(session)
    party = (await session.execute(select(Party).where(Party.case_id == case.id).limit(1))).scalar_one()
    call = Call(direction=Direction.OUTBOUND, carrier="twilio", carrier_call_id=f"CA{case.id}x{ended_at.timestamp()}",
                state=CallState.COMPLETED if outcome is CallOutcome.ANSWERED else CallState.NO_ANSWER,
                outcome=outcome, case_id=case.id, client_id=case.client_id, party_id=party.id,
                requested_at=ended_at - dt.timedelta(minutes=3), answered_at=ended_at - dt.timedelta(minutes=2),
                ended_at=ended_at)
    session.add(call)
    await session.flush()
    return call


async def stored_recording(
    session: AsyncSession, storage: RecordingStorage, *, call: Call | None = None, content: bytes | None = None,
    retain_until: dt.date | None = None, legal_hold: bool = False,
) -> Recording:
    call = call or await answered_call(session)
    stored = await storage.put(content if content is not None else wav())
    recording = Recording(
        call_id=call.id, carrier="twilio", carrier_recording_id=f"RE{call.id}-{stored.sha256[:6]}",
        status=RecordingStatus.STORED, sha256=stored.sha256, size_bytes=stored.size_bytes, channels=2,
        content_type="audio/wav", stored_at=call.ended_at, legal_hold=legal_hold,
        retain_until=retain_until or (NOW + dt.timedelta(days=1096)).date(),
    )
    session.add(recording)
    await session.flush()
    return recording


async def events_of(session: AsyncSession, type: str) -> list[WebhookEvent]:
    await session.flush()  # the service's sessions do not autoflush
    return list((await session.execute(
        select(WebhookEvent).where(WebhookEvent.type == type).order_by(WebhookEvent.id))).scalars())
