"""A stored Twilio recording-status event: note the recording so the capture job fetches it."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call, Recording, RecordingStatus
from dialer.kit.db import insert_once
from webhooks.events import Handled, StoredEvent
from webhooks.legs import Leg, find_leg


async def apply(session: AsyncSession, event: StoredEvent) -> Handled:
    return Handled(await _note(session, event))


async def _note(session: AsyncSession, event: StoredEvent) -> str:
    params = event.params
    found = await find_leg(session, call_id=event.call_id, leg=Leg.PARTY, call_sid=params.get("CallSid"), lock=False)
    if found is None:
        return "unknown_call"
    call = found.call
    status = params.get("RecordingStatus")
    if status == "failed" or status == "absent":
        await session.execute(update(Call).where(Call.id == call.id).values(recording_missing=True))
        return "recording_failed"
    if status != "completed":
        return "ignored"
    media = params.get("RecordingUrl")
    duration = params.get("RecordingDuration")
    channels = params.get("RecordingChannels")
    new = await insert_once(session, Recording, {
        "call_id": call.id, "carrier": call.carrier, "carrier_recording_id": params.get("RecordingSid"),
        "status": RecordingStatus.PENDING, "media_url": f"{media}.wav" if media and not media.endswith(".wav") else media,
        "duration_s": int(duration) if duration and duration.isdigit() else None,
        "channels": int(channels) if channels and channels.isdigit() else None,
        "partial": params.get("RecordingPartial") == "true",
        "next_attempt_at": event.received_at,
    }, ["carrier", "carrier_recording_id"])
    return "noted" if new is not None else "duplicate"
