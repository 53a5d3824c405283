"""A call's recording and where its media is stored."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum
from dialer.kit.types import UTCDateTime


class RecordingStatus(enum.StrEnum):
    PENDING = "pending"  # the carrier has it; we have not stored it yet
    STORED = "stored"
    FAILED = "failed"  # retries exhausted: visible until someone acts


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
    retain_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()
