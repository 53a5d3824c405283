"""Tasks the system creates for people and the dialer: callbacks, follow-ups, reminders, visits."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum
from dialer.kit.types import UTCDateTime


class TaskKind(enum.StrEnum):
    CALLBACK = "callback"
    FOLLOW_UP = "follow_up"
    PTP_REMINDER = "ptp_reminder"
    PTP_DUE = "ptp_due"
    MIN_FREQUENCY = "min_frequency"
    FIELD_VISIT = "field_visit"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_open_due", "status", "due_at"),)

    id: Mapped[int] = pk()
    case_id: Mapped[int] = fk("cases.id")
    party_id: Mapped[int | None] = fk("parties.id", nullable=True, index=False)
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.OPEN)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    source_call_id: Mapped[int | None] = fk("calls.id", nullable=True, index=False)
    assigned_agent_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
