"""The live events' table: one row per event, written in the transaction of the change it reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import pk
from dialer.kit.db import Base, JSONDoc
from dialer.kit.types import UTCDateTime


class LiveEvent(Base):
    """``id`` is the event id a page resumes from (``Last-Event-ID``); ``topic`` what changed
    (``agent``, ``call``, ``refusal``…); ``data`` the facts a page needs to update without a read.
    Kept a day (the purge job), long enough for any page to resume."""

    __tablename__ = "live_events"
    __table_args__ = (Index("ix_live_events_at", "at"),)

    id: Mapped[int] = pk()
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    topic: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc, nullable=False)
