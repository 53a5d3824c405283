from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict, Field

from dialer.calls.models import CallOutcome, CallState, Direction, RecordingStatus
from dialer.kit.bounds import RowId
from dialer.kit.schemas import Schema
from dialer.telephony.carrier import SupervisorMode


class DialIn(Schema):
    number_id: RowId = Field(description="The party's number to call (what the policy allows is checked now).")
    campaign_id: RowId | None = None


class SuperviseIn(Schema):
    mode: SupervisorMode
    seat_id: RowId | None = Field(default=None, description="The supervisor's seat; default: the seat they are logged in at.")


class ModeIn(Schema):
    mode: SupervisorMode


class SupervisorOut(Schema):
    call_id: int
    participant_call_id: str
    mode: SupervisorMode


class SupervisionOut(Schema):
    """A supervisor's time on the call: from joining to leaving, in its current (or last) mode."""

    id: int
    supervisor_id: int
    seat_id: int
    participant_call_id: str
    mode: SupervisorMode
    started_at: dt.datetime
    mode_since: dt.datetime
    ended_at: dt.datetime | None
    ended_by: str | None


class RecordingOut(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    sha256: str | None
    size_bytes: int | None
    duration_s: int | None
    channels: int | None
    partial: bool = False  # only part of the call is recorded (its media process stopped mid-call)
    stored_at: dt.datetime | None


class RecordingFacts(Schema):
    """What a recording is and where it stands: the recordings API's metadata and a call's page
    both show this, each with its own additions."""

    id: int
    status: RecordingStatus
    content_type: str | None
    channels: int | None
    channel_sides: dict[str, str] = Field(description="Which side of the call each channel holds: agent or party")
    duration_s: int | None
    size_bytes: int | None
    sha256: str | None
    partial: bool
    stored_at: dt.datetime | None
    retain_until: dt.date | None
    legal_hold: bool
    purged_at: dt.datetime | None = Field(description="When its media was deleted, past its retention")


class CallOut(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: Direction
    state: CallState
    outcome: CallOutcome | None
    case_id: int | None
    party_id: int | None
    number_id: int | None
    agent_id: int | None
    seat_id: int | None
    campaign_id: int | None
    decision_id: int | None
    to_e164: str | None
    from_e164: str | None
    whisper_text: str | None
    conference_name: str | None
    hangup_by: str | None
    error_code: str | None
    error_detail: str | None
    recording_missing: bool
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    bridged_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_s: int | None
    recordings: list[RecordingOut] = []
