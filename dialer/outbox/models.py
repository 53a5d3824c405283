"""The transactional outbox: events, the integration endpoints they go to, and each delivery with
its attempts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.kit.columns import created_at, fk, pk, updated_at
from dialer.kit.db import Base, BigIntPK, JSONDoc, str_enum
from dialer.kit.types import UTCDateTime


class EventType(enum.StrEnum):
    CALL_COMPLETED = "call.completed"
    CALL_WRAPPED_UP = "call.wrapped_up"
    RECORDING_STORED = "recording.stored"
    RECORDING_MISSING = "recording.missing"
    RECORDING_PURGED = "recording.purged"
    RECORDING_HOLD_CHANGED = "recording.hold_changed"
    AUDIT_CHAIN_HEAD = "audit.chain_head"  # the day's verified heads: an anchor kept outside our database


class WebhookEvent(Base):
    """One fact worth telling integrations, written in the same transaction as the fact (the
    outbox proper). ``event_id`` is the ``webhook-id`` every delivery and retry of it carries.
    ``fanned_out_at`` is set once a delivery row exists for every endpoint that wanted it."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("event_id"),
        Index("ix_webhook_events_unfanned", "id", postgresql_where=text("fanned_out_at IS NULL"),
              sqlite_where=text("fanned_out_at IS NULL")),
        Index("ix_webhook_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = pk()
    event_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    client_id: Mapped[int | None] = mapped_column(BigIntPK)  # whose calls (an endpoint may take some clients only)
    call_id: Mapped[int | None] = mapped_column(BigIntPK, index=True)
    recording_id: Mapped[int | None] = mapped_column(BigIntPK, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[dt.datetime] = created_at()
    fanned_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WebhookEndpoint(Base):
    """An integration's receiving URL. The signing secret is needed to sign, so it is kept (not
    hashed; never logged, shown once when made). During a rotation the previous secret signs too,
    until ``previous_secret_until``. ``client_ids`` None: every client's events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = pk()
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    event_types: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    client_ids: Mapped[list[int] | None] = mapped_column(JSONDoc)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    max_in_flight: Mapped[int] = mapped_column(Integer, default=4)
    owner_id: Mapped[int | None] = fk("users.id", nullable=True, index=False)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at (or leased by a worker until leased_until)
    DELIVERED = "delivered"
    DEAD = "dead"  # every retry failed: kept, listed, replayable


class Delivery(Base):
    """One event to one endpoint. A worker leases it (``leased_until``) while its request is out,
    so two replicas never send it at the same time; at-least-once, the same ``webhook-id`` each time."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "endpoint_id"),
        Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = pk()
    event_pk: Mapped[int] = fk("webhook_events.id", index=False)
    endpoint_id: Mapped[int] = fk("webhook_endpoints.id", index=False)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DeliveryAttempt(Base):
    """Every request made for a delivery: when, the answer's status (None: no answer), how long it
    took, and the error."""

    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[int] = pk()
    delivery_id: Mapped[int] = fk("webhook_deliveries.id")
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
