"""Raw carrier events, stored as they arrive (webhooks out live in ``dialer.outbox``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, pk
from dialer.kit.db import Base, BigIntPK, JSONDoc
from dialer.kit.types import UTCDateTime


class CarrierEvent(Base):
    """A webhook from a carrier, stored raw under its natural unique key when it arrives and applied
    afterwards by the inbox (``webhooks.inbox``), once: ``processed_at`` and ``outcome`` say when and
    what it came to; an event whose processing failed keeps its ``error`` and is retried at ``retry_at``."""

    __tablename__ = "carrier_events"
    __table_args__ = (
        UniqueConstraint("carrier", "event_key"),
        Index("ix_carrier_events_pending", "id", postgresql_where=text("processed_at IS NULL"),
              sqlite_where=text("processed_at IS NULL")),
        Index("ix_carrier_events_call", "call_id"),  # a call's page lists its callbacks
    )

    id: Mapped[int] = pk()
    carrier: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    carrier_call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    call_id: Mapped[int | None] = mapped_column(BigIntPK)  # from our URL (no foreign key: it may name no call)
    leg: Mapped[str | None] = mapped_column(String(16))  # from our URL: party, agent or supervisor
    received_at: Mapped[dt.datetime] = created_at()
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
