"""Every call the service knows of (outbound, inbound and missed) and its recordings."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk, updated_at
from dialer.kit.db import Base, str_enum
from dialer.kit.types import UTCDateTime


class Direction(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class CallState(enum.StrEnum):
    REQUESTED = "requested"
    BLOCKED = "blocked"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELED = "canceled"
    MISSED = "missed"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    CANCELED = "canceled"
    MISSED = "missed"


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_call_id"),
        Index("ix_calls_agent_requested", "agent_id", "requested_at"),
        Index("ix_calls_case_requested", "case_id", "requested_at"),
        Index("ix_calls_requested", "requested_at", "id"),  # the call history, newest first
        Index("ix_calls_client_requested", "client_id", "requested_at"),
    )

    id: Mapped[int] = pk()
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    carrier: Mapped[str] = mapped_column(String(16))
    carrier_call_id: Mapped[str | None] = mapped_column(String(64))
    agent_leg_call_id: Mapped[str | None] = mapped_column(String(64))
    conference_name: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[CallState] = mapped_column(str_enum(CallState), default=CallState.REQUESTED)
    outcome: Mapped[CallOutcome | None] = mapped_column(str_enum(CallOutcome))
    client_id: Mapped[int | None] = fk("clients.id", nullable=True, index=False)
    case_id: Mapped[int | None] = fk("cases.id", nullable=True, index=False)
    party_id: Mapped[int | None] = fk("parties.id", nullable=True)
    number_id: Mapped[int | None] = fk("phone_numbers.id", nullable=True)
    agent_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    seat_id: Mapped[int | None] = fk("seats.id", nullable=True)
    campaign_id: Mapped[int | None] = fk("campaigns.id", nullable=True)
    decision_id: Mapped[int | None] = fk("compliance_decisions.id", nullable=True, index=False)
    from_e164: Mapped[str | None] = mapped_column(String(32))
    to_e164: Mapped[str | None] = mapped_column(String(32))
    whisper_text: Mapped[str | None] = mapped_column(Text)
    conversation: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_next_ask_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When the carrier is next asked for this call's recordings, having had none finished when last
    asked (``recordings.capture.recover_unreported``); None: never asked."""
    hangup_by: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = created_at()
    dialing_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ringing_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    bridged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[int | None] = mapped_column(Integer)
    talk_s: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = updated_at()


class RecordingStatus(enum.StrEnum):
    PENDING = "pending"  # the carrier has it; we have not stored it yet
    STORED = "stored"
    FAILED = "failed"  # retries exhausted: visible until someone acts
    PURGED = "purged"  # past its retention: the media deleted, this row kept as the tombstone


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("carrier", "carrier_recording_id"),)

    id: Mapped[int] = pk()
    call_id: Mapped[int] = fk("calls.id")
    carrier: Mapped[str] = mapped_column(String(16))
    carrier_recording_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[RecordingStatus] = mapped_column(str_enum(RecordingStatus), default=RecordingStatus.PENDING)
    media_url: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    stored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    """Only part of the call is in it: the media process that recorded it stopped mid-call (the
    SIP carrier's ``RecordingPartial``); kept, never discarded."""
    retain_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    purge_rule: Mapped[str | None] = mapped_column(String(200))
    """Why it was purged (the retention that ran out, under which policy version)."""
    created_at: Mapped[dt.datetime] = created_at()


class Supervision(Base):
    """A supervisor on a live call (monitor, whisper or barge) from their own seat: kept on the call
    from joining to leaving, its mode the current one (each change is in the audit log too)."""

    __tablename__ = "supervisions"
    __table_args__ = (
        Index("ix_supervisions_call", "call_id"),
        Index("ix_supervisions_open", "call_id", postgresql_where=text("ended_at IS NULL"),
              sqlite_where=text("ended_at IS NULL")),
        UniqueConstraint("participant_call_id"),
    )

    id: Mapped[int] = pk()
    call_id: Mapped[int] = fk("calls.id", index=False)
    supervisor_id: Mapped[int] = fk("users.id")
    seat_id: Mapped[int] = fk("seats.id", index=False)
    participant_call_id: Mapped[str] = mapped_column(String(64))
    """The supervisor's leg at the carrier."""
    mode: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    mode_since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(16))
    """``left`` (the supervisor), ``hung_up`` (their phone or the call's end), ``call_ended``."""
