"""Twilio's recording-status callback: note the recording so the capture job fetches it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.calls.models import Call
from dialer.kit.db import insert_once
from recordings.models import Recording, RecordingStatus
from webhooks import events
from webhooks.legs import Leg, find_leg


async def receive_recording_status(
    session: AsyncSession, *, params: Mapping[str, str], call_id: int | None, now: dt.datetime
) -> str:
    stored = await events.store(session, carrier="twilio", key=events.recording_key(params), kind="recording_status",
                                params=params, call_sid=params.get("CallSid"))
    if stored is None:
        return "duplicate"
    found = await find_leg(session, call_id=call_id, leg=Leg.PARTY, call_sid=params.get("CallSid"), lock=False)
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
        "call_id": call.id, "carrier": "twilio", "carrier_recording_id": params.get("RecordingSid"),
        "status": RecordingStatus.PENDING, "media_url": f"{media}.wav" if media and not media.endswith(".wav") else media,
        "duration_s": int(duration) if duration and duration.isdigit() else None,
        "channels": int(channels) if channels and channels.isdigit() else None, "next_attempt_at": now,
    }, ["carrier", "carrier_recording_id"])
    return "noted" if new is not None else "duplicate"
