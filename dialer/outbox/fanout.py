"""From events to deliveries: each event not yet fanned out gets one delivery per active endpoint
that wants it, due at once, and is marked fanned out. Inside the caller's unit of work (flushes,
never commits); idempotent (one delivery per event and endpoint, whoever inserts it first)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.kit.db import is_postgres, table_of
from dialer.outbox.models import Delivery, DeliveryStatus, WebhookEndpoint, WebhookEvent


def wants(*, event_types: Sequence[str], client_ids: Sequence[int] | None, type: str, client_id: int | None) -> bool:
    """Whether an endpoint takes an event: its type is listed, and the endpoint takes every
    client (``client_ids`` None) or this event's client."""
    return type in event_types and (client_ids is None or (client_id is not None and client_id in client_ids))


async def fan_out(session: AsyncSession, *, now: dt.datetime, limit: int = 500) -> int:
    """Fan out up to ``limit`` events, oldest first; returns how many. On PostgreSQL the events are
    taken ``FOR UPDATE SKIP LOCKED``, so replicas fanning out at once share them."""
    events = (await session.execute(
        select(WebhookEvent.id, WebhookEvent.type, WebhookEvent.client_id)
        .where(WebhookEvent.fanned_out_at.is_(None)).order_by(WebhookEvent.id).limit(limit)
        .with_for_update(skip_locked=True)  # SQLite has no row locks: its writers are serialised
    )).all()
    if not events:
        return 0
    endpoints = (await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.client_ids)
        .where(WebhookEndpoint.active.is_(True))
    )).all()
    rows: list[dict[str, Any]] = [
        {"event_pk": event.id, "endpoint_id": endpoint.id, "status": DeliveryStatus.PENDING, "attempts": 0,
         "next_attempt_at": now, "created_at": now}
        for event in events for endpoint in endpoints
        if wants(event_types=endpoint.event_types or [], client_ids=endpoint.client_ids, type=event.type,
                 client_id=event.client_id)
    ]
    if rows:
        dialect = postgresql if is_postgres(session) else sqlite
        insert = dialect.insert(table_of(Delivery)).on_conflict_do_nothing(index_elements=["event_pk", "endpoint_id"])
        await session.execute(insert, rows)
    await session.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_([event.id for event in events])).values(fanned_out_at=now))
    return len(events)
