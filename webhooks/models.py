"""Raw carrier events, the transactional outbox and the integration endpoints it delivers to."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk
from dialer.kit.db import Base, BigIntPK, JSONDoc, str_enum
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


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookEndpoint(Base):
    """An integration's receiving URL. The signing secret is needed to sign, so it is kept (not hashed)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = pk()
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    event_types: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()


class OutboxMessage(Base):
    """An event to deliver, written in the same transaction as the fact it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = pk()
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    endpoint_id: Mapped[int | None] = fk("webhook_endpoints.id", nullable=True, index=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = created_at()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
