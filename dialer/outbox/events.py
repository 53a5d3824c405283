"""Writing an event: inside the caller's unit of work, so the event exists exactly when the fact
it reports was committed (the transactional outbox). Delivery happens later (``dialer.outbox.worker``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.outbox.models import EventType, WebhookEvent

VERSION = 1
"""The payloads' schema version; a change a receiver must know of raises it."""


def new_event_id() -> str:
    """A stable id for an event, the ``webhook-id`` of every delivery of it (Standard Webhooks' ``msg_`` form)."""
    return f"msg_{uuid.uuid4().hex}"


def envelope(event: WebhookEvent) -> dict[str, Any]:
    """The body a receiver gets: the Standard Webhooks shape (type, timestamp, data) with the id and version."""
    return {"id": event.event_id, "type": event.type, "version": event.version,
            "timestamp": event.occurred_at.isoformat(), "data": event.payload}


async def emit(
    session: AsyncSession, type: EventType, data: dict[str, Any], *, at: dt.datetime, client_id: int | None = None,
    call_id: int | None = None, recording_id: int | None = None,
) -> WebhookEvent:
    """Add one event to the caller's unit of work (nothing is flushed here)."""
    event = WebhookEvent(event_id=new_event_id(), type=type.value, version=VERSION, occurred_at=at,
                         client_id=client_id, call_id=call_id, recording_id=recording_id, payload=data)
    session.add(event)
    return event
