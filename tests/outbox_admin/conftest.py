"""The integration endpoints' admin: the test application with its clock frozen at ``NOW``; plain factories for
endpoints, events, deliveries and attempts; the audit entries. (The command line's environment,
``cli_env``, is the whole suite's: tests/conftest.py.)"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit.models import AuditEntry
from dialer.auth.deps import Principal
from dialer.auth.models import Role
from dialer.outbox import events
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from dialer.outbox.schemas import EndpointCreate
from dialer.outbox.service import create_endpoint
from tests.factories import make_user

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
ALL_TYPES = [t.value for t in EventType]


@pytest.fixture
async def app(app):
    app.state.container.clock = lambda: NOW
    return app


@pytest.fixture
async def people(session) -> dict[str, Principal]:
    """One principal per role (a user row behind each), keyed by role name; ``integration-2`` a second one."""
    made = {role.value: await make_user(session, username=f"{role.value}-x", role=role) for role in Role}
    made["integration-2"] = await make_user(session, username="integration-y", role=Role.INTEGRATION)
    return {name: Principal(u.id, u.username, u.role, u.team, "token") for name, u in made.items()}


async def make_endpoint(session: AsyncSession, **fields: Any) -> WebhookEndpoint:
    """An endpoint made by the service (so its secret is a real one); keyword fields as in EndpointCreate."""
    values: dict[str, Any] = {"url": "https://archive.example/hooks", "event_types": ALL_TYPES, **fields}
    issued = await create_endpoint(session, actor=None, now=NOW, data=EndpointCreate(**values))
    return issued.endpoint


async def make_event(session: AsyncSession, *, type: EventType = EventType.CALL_COMPLETED,
                     at: dt.datetime = NOW, client_id: int | None = None) -> WebhookEvent:
    event = await events.emit(session, type, {"call": {"id": 1}}, at=at, client_id=client_id)
    await session.flush()
    return event


async def make_delivery(session: AsyncSession, *, event: WebhookEvent, endpoint: WebhookEndpoint,
                        status: DeliveryStatus = DeliveryStatus.PENDING, attempts: int = 0,
                        leased_until: dt.datetime | None = None, tried: int = 0) -> Delivery:
    """A delivery with ``tried`` attempts already made (failing 500s, a minute apart)."""
    delivery = Delivery(event_pk=event.id, endpoint_id=endpoint.id, status=status, attempts=attempts,
                        next_attempt_at=NOW + dt.timedelta(hours=1), leased_until=leased_until,
                        last_status_code=500 if tried else None, last_error="HTTP 500" if tried else None,
                        created_at=event.occurred_at)
    session.add(delivery)
    await session.flush()
    for n in range(tried):
        session.add(DeliveryAttempt(delivery_id=delivery.id, attempted_at=event.occurred_at + dt.timedelta(minutes=n),
                                    status_code=500, latency_ms=40 + n, error="HTTP 500"))
    await session.flush()
    return delivery


async def audit_entries(session: AsyncSession, *, action: str | None = None) -> list[AuditEntry]:
    await session.flush()  # the service adds its entry last, unflushed (the session does not autoflush)
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list((await session.execute(query)).scalars())


async def audit_text(session: AsyncSession) -> str:
    """Every audit entry's detail, as one JSON text (to look for a secret in)."""
    return json.dumps([e.detail for e in await audit_entries(session)], default=str)


async def count(session: AsyncSession, model: type[Any]) -> int:
    await session.flush()
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())
