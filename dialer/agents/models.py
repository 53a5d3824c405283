"""An agent's session at a seat, and the states and reasons it moves through."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, str_enum
from dialer.kit.types import UTCDateTime


class NotReadyReason(enum.StrEnum):
    """Why an agent is not ready: the fixed list the board and the statistics count by."""

    BREAK = "break"
    LUNCH = "lunch"
    TRAINING = "training"
    MEETING = "meeting"
    COACHING = "coaching"
    ADMIN = "admin"
    TECHNICAL = "technical"
    PERSONAL = "personal"
    END_OF_SHIFT = "end_of_shift"


class AgentState(enum.StrEnum):
    OFFLINE = "offline"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"
    DIALING = "dialing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class AgentSession(Base):
    """One agent logged in at one seat. At most one open session per agent and per seat."""

    __tablename__ = "agent_sessions"
    __table_args__ = (
        Index(
            "uq_agent_sessions_open_agent", "agent_id", unique=True,
            sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "uq_agent_sessions_open_seat", "seat_id", unique=True,
            sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = pk()
    agent_id: Mapped[int] = fk("users.id", index=False)
    seat_id: Mapped[int] = fk("seats.id", index=False)
    state: Mapped[AgentState] = mapped_column(str_enum(AgentState), default=AgentState.NOT_READY)
    state_reason: Mapped[str | None] = mapped_column(String(64))
    state_since: Mapped[dt.datetime] = created_at()
    mode: Mapped[str] = mapped_column(String(16), default="preview")
    current_call_id: Mapped[int | None] = fk("calls.id", nullable=True, index=False)
    started_at: Mapped[dt.datetime] = created_at()
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
