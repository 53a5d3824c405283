"""Recordings: started when a call (or a <Dial>, or a <Record>) starts recording, turned into an
``RE…`` Recording resource when it stops, announced to the recording status callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .clock import rfc2822
from .resources import BASE, Call, Recording, new_sid

if TYPE_CHECKING:
    from .engine import Emulator


@dataclass(eq=False)
class ActiveRecording:
    sid: str
    source: str
    channels: int
    started: datetime
    callback: str | None
    method: str
    events: frozenset[str]
    conference_sid: str | None = None


def media_url(em: Emulator, account_sid: str, recording_sid: str) -> str:
    """Where the media is served (Twilio's RecordingUrl has no extension; it answers WAV)."""
    return f"{em.public_url.rstrip('/')}{BASE}/{account_sid}/Recordings/{recording_sid}"


def _post(em: Emulator, call: Call, active: ActiveRecording, status: str, duration: int) -> None:
    if not active.callback or status not in active.events:
        return
    params = {
        "AccountSid": call.account_sid, "CallSid": call.sid, "RecordingSid": active.sid,
        "RecordingUrl": media_url(em, call.account_sid, active.sid), "RecordingStatus": status,
        "RecordingDuration": str(duration), "RecordingChannels": str(active.channels),
        "RecordingStartTime": rfc2822(active.started) or "", "RecordingSource": active.source,
        "RecordingTrack": "both", "ErrorCode": "0",
    }
    if active.conference_sid:
        params["ConferenceSid"] = active.conference_sid
    stream = f"recording:{active.sid}"
    em.poster.send(em.poster.prepare(
        kind="recording", stream=stream, resource_sid=active.sid, account_sid=call.account_sid,
        url=active.callback, params=params, method=active.method))
    if status != "in-progress":
        em.poster.close_stream(stream)


def start_recording(em: Emulator, call: Call, *, source: str, channels: int, callback: str | None,
                    method: str | None = "POST", events: frozenset[str] = frozenset({"completed"}),
                    conference_sid: str | None = None) -> ActiveRecording:
    active = ActiveRecording(new_sid("RE"), source, channels, em.clock.now(), callback, method or "POST",
                             events, conference_sid)
    call.leg.recordings.append(active)
    _post(em, call, active, "in-progress", 0)
    return active


def stop_recording(em: Emulator, call: Call, active: ActiveRecording) -> Recording:
    if active in call.leg.recordings:
        call.leg.recordings.remove(active)
    now = em.clock.now()
    duration = max(0, round((now - active.started).total_seconds()))
    recording = Recording(
        sid=active.sid, account_sid=call.account_sid, call_sid=call.sid, channels=active.channels,
        source=active.source, date_created=now, start_time=active.started, duration=duration,
        conference_sid=active.conference_sid,
    )
    em.recordings[recording.sid] = recording
    _post(em, call, active, "completed", duration)
    return recording


def stop_recordings(em: Emulator, call: Call) -> None:
    for active in list(call.leg.recordings):
        stop_recording(em, call, active)
