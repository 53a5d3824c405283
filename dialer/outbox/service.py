"""Integration endpoints (webhooks out): making and changing them, their signing secrets (shown
once, rotated with an overlap), their deliveries, and replay.

Who may do what: an admin (or the console, ``actor=None``) everything; an integration user reads
and replays the deliveries of the endpoints it owns (``owner_id``) and reads those endpoints;
nobody else anything. Every change is audited, never with a secret in it. Flushes, never commits.

Replay makes a delivery due now with a fresh retry budget: ``attempts`` (the count the worker's
back-off and dead-lettering go by) starts again at 0, while every earlier request stays in
``DeliveryAttempt``. A delivery whose request is out right now (pending, lease not run out) is left
alone: resetting it could be overwritten by that request's outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.auth.models import Role, User
from dialer.clients.models import Client
from dialer.kit.db import is_postgres, table_of
from dialer.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from dialer.kit.types import UTCDateTime
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from dialer.outbox.schemas import EndpointCreate, EndpointUpdate
from dialer.outbox.signing import new_secret

DEFAULT_OVERLAP = dt.timedelta(hours=24)
MAX_OVERLAP = dt.timedelta(days=7)


class DeliveryInFlight(Conflict):
    """The delivery's request is out right now; replay it once its lease has run out."""

    code = "delivery_in_flight"


@dataclass(frozen=True, slots=True)
class Issued:
    """An endpoint with the secret just made for it: the one time the secret leaves the service."""

    endpoint: WebhookEndpoint
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: Delivery
    event: WebhookEvent
    history: list[DeliveryAttempt]


@dataclass(frozen=True, slots=True)
class Replayed:
    """How many deliveries are due again now (``created`` of them new); ``in_flight`` left alone."""

    replayed: int
    created: int = 0
    in_flight: int = 0


# --- who may ------------------------------------------------------------------------------------

def _admin_only(actor: Principal | None, doing: str) -> None:
    if actor is not None and actor.role is not Role.ADMIN:
        raise Forbidden(f"role '{actor.role.value}' may not {doing}: admin only")


def _may_read(actor: Principal | None) -> None:
    if actor is not None and actor.role not in (Role.ADMIN, Role.INTEGRATION):
        raise Forbidden(f"role '{actor.role.value}' may not see integration endpoints or deliveries")


def _owned_only(actor: Principal | None) -> int | None:
    """The owner an integration user is confined to (its own id); None: no confinement."""
    return actor.user_id if actor is not None and actor.role is Role.INTEGRATION else None


async def _endpoint(session: AsyncSession, actor: Principal | None, endpoint_id: int) -> WebhookEndpoint:
    _may_read(actor)
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"integration endpoint {endpoint_id} not found", field="endpoint_id")
    owner = _owned_only(actor)
    if owner is not None and endpoint.owner_id != owner:
        raise Forbidden(f"integration endpoint {endpoint_id} is not one of yours")
    return endpoint


# --- what needs the database to judge (the rest is the schemas') --------------------------------

async def _check_clients(session: AsyncSession, ids: Sequence[int] | None) -> list[int] | None:
    if ids is None:
        return None
    wanted = sorted(set(ids))
    found = set((await session.execute(select(Client.id).where(Client.id.in_(wanted)))).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"client_ids: no client with id {', '.join(map(str, missing))}", field="client_ids",
                           missing=missing)
    return wanted


async def _check_owner(session: AsyncSession, owner_id: int | None) -> int | None:
    user = await session.get(User, owner_id) if owner_id is not None else None
    if owner_id is not None and (user is None or user.role is not Role.INTEGRATION):
        raise InvalidInput(f"owner_id: user {owner_id} is not an integration user", field="owner_id")
    return owner_id


def _check_range(since: dt.datetime | None, until: dt.datetime | None, names: tuple[str, str] = ("from", "to"),
                 ) -> None:
    for name, value in zip(names, (since, until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInput(f"{name}: naive datetime refused; give an offset, e.g. 2026-11-24T09:30:00+08:00",
                               field=name)
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"{names[1]}: must be after {names[0]} ({since.isoformat()})", field=names[1])


# --- endpoints ----------------------------------------------------------------------------------

async def _checked(session: AsyncSession, given: dict[str, Any]) -> dict[str, Any]:
    """The fields given, with the clients and the owner checked against the database."""
    if "client_ids" in given:
        given["client_ids"] = await _check_clients(session, given["client_ids"])
    if "owner_id" in given:
        given["owner_id"] = await _check_owner(session, given["owner_id"])
    return given


def _disabled_by(actor: Principal | None) -> str:
    return f"disabled by {actor.username if actor is not None else 'the console'}"


async def create_endpoint(
    session: AsyncSession, *, actor: Principal | None, now: dt.datetime, data: EndpointCreate
) -> Issued:
    """A new endpoint and its signing secret, returned this once."""
    _admin_only(actor, "create integration endpoints")
    values = await _checked(session, data.model_dump(exclude={"enabled"}))
    secret = new_secret()
    endpoint = WebhookEndpoint(**values, secret=secret, active=data.enabled, created_at=now, updated_at=now,
                               disabled_reason=None if data.enabled else _disabled_by(actor))
    session.add(endpoint)
    await session.flush()
    await audit.record(session, action="webhook_endpoint.create", actor=actor, entity="webhook_endpoint",
                       entity_id=endpoint.id, enabled=endpoint.active, **values)
    return Issued(endpoint, secret)


async def list_endpoints(
    session: AsyncSession, *, actor: Principal | None, limit: int = 50, after: int | None = None
) -> list[WebhookEndpoint]:
    _may_read(actor)
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
    if after is not None:
        query = query.where(WebhookEndpoint.id > after)
    if (owner := _owned_only(actor)) is not None:
        query = query.where(WebhookEndpoint.owner_id == owner)
    return list((await session.execute(query)).scalars())


async def get_endpoint(session: AsyncSession, *, actor: Principal | None, endpoint_id: int) -> WebhookEndpoint:
    return await _endpoint(session, actor, endpoint_id)


async def update_endpoint(
    session: AsyncSession, *, actor: Principal | None, now: dt.datetime, endpoint_id: int, data: EndpointUpdate
) -> WebhookEndpoint:
    """Change the fields given. Re-enabling clears ``disabled_reason``; disabling records why."""
    _admin_only(actor, "change integration endpoints")
    endpoint = await _endpoint(session, actor, endpoint_id)
    values = await _checked(session, data.model_dump(exclude_unset=True, exclude={"enabled", "disabled_reason"}))
    if data.enabled is not None:
        values.update(active=data.enabled,
                      disabled_reason=None if data.enabled else data.disabled_reason or _disabled_by(actor))
    for name, value in values.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = now
    await session.flush()
    await audit.record(session, action="webhook_endpoint.update", actor=actor, entity="webhook_endpoint",
                       entity_id=endpoint.id, **values)
    return endpoint


async def rotate_secret(
    session: AsyncSession, *, actor: Principal | None, now: dt.datetime, endpoint_id: int,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
) -> Issued:
    """A new signing secret, returned this once. The one it replaces keeps signing too until
    ``now + overlap`` (at most 7 days; 0 drops it at once), so receivers can switch without a gap."""
    _admin_only(actor, "rotate signing secrets")
    if not dt.timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"overlap: must be within 0 and 7 days, got {overlap}", field="overlap")
    endpoint = await _endpoint(session, actor, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret if overlap else None
    endpoint.previous_secret_until = until = now + overlap if overlap else None
    endpoint.secret = secret
    endpoint.updated_at = now
    await session.flush()
    await audit.record(session, action="webhook_endpoint.rotate_secret", actor=actor, entity="webhook_endpoint",
                       entity_id=endpoint.id, overlap_s=int(overlap.total_seconds()),
                       previous_secret_until=until.isoformat() if until else None)
    return Issued(endpoint, secret)


# --- deliveries ---------------------------------------------------------------------------------

def _deliveries(actor: Principal | None) -> Select[Delivery, WebhookEvent]:
    query = select(Delivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == Delivery.event_pk)
    if (owner := _owned_only(actor)) is not None:
        query = query.join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id) \
            .where(WebhookEndpoint.owner_id == owner)
    return query


async def list_deliveries(
    session: AsyncSession, *, actor: Principal | None, endpoint_id: int | None = None,
    status: DeliveryStatus | None = None, event_type: EventType | None = None, since: dt.datetime | None = None,
    until: dt.datetime | None = None, limit: int = 50, cursor: int | None = None,
) -> list[tuple[Delivery, WebhookEvent]]:
    """(delivery, event) rows, newest first; ``since``/``until`` bound when the event occurred
    ([since, until)); ``cursor`` (the last id of the page before) gives the next, older page."""
    _may_read(actor)
    _check_range(since, until, ("since", "until"))
    query = _deliveries(actor)
    if endpoint_id is not None:
        await _endpoint(session, actor, endpoint_id)
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if event_type is not None:
        query = query.where(WebhookEvent.type == event_type.value)
    if since is not None:
        query = query.where(WebhookEvent.occurred_at >= since)
    if until is not None:
        query = query.where(WebhookEvent.occurred_at < until)
    if cursor is not None:
        query = query.where(Delivery.id < cursor)
    rows = (await session.execute(query.order_by(Delivery.id.desc()).limit(limit))).tuples()
    return list(rows)


async def get_delivery(session: AsyncSession, *, actor: Principal | None, delivery_id: int) -> DeliveryView:
    """One delivery with its event and every request made for it."""
    delivery = await _delivery(session, actor, delivery_id)
    event = await session.get_one(WebhookEvent, delivery.event_pk)
    history = (await session.execute(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)
                                     .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id))).scalars()
    return DeliveryView(delivery, event, list(history))


async def _delivery(session: AsyncSession, actor: Principal | None, delivery_id: int) -> Delivery:
    _may_read(actor)
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found", field="delivery_id")
    await _endpoint(session, actor, delivery.endpoint_id)
    return delivery


# --- replay -------------------------------------------------------------------------------------

def _in_flight(now: dt.datetime) -> ColumnElement[bool]:
    """Pending with its lease not run out: a request for it is out right now."""
    return and_(Delivery.status == DeliveryStatus.PENDING, Delivery.leased_until.is_not(None),
                Delivery.leased_until > now)


def _fresh(now: dt.datetime) -> dict[str, Any]:
    return {"status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now, "leased_until": None,
            "delivered_at": None}


async def replay_endpoint(session: AsyncSession, *, actor: Principal | None, now: dt.datetime, endpoint_id: int,
                          dead: bool = False, since: dt.datetime | None = None,
                          until: dt.datetime | None = None) -> Replayed:
    """Either every dead delivery (``dead``) or every event of [since, until), said one way."""
    if dead == (since is not None or until is not None):
        raise InvalidInput("replay: give either dead, or both from and to, not both and not neither", field="replay")
    if dead:
        return await replay_dead(session, actor=actor, now=now, endpoint_id=endpoint_id)
    if since is None or until is None:
        raise InvalidInput(f"{'to' if until is None else 'from'}: a range needs both from and to",
                           field="to" if until is None else "from")
    return await replay_range(session, actor=actor, now=now, endpoint_id=endpoint_id, since=since, until=until)


async def replay_delivery(session: AsyncSession, *, actor: Principal | None, now: dt.datetime,
                          delivery_id: int) -> Replayed:
    """Send one delivery again, now, with a fresh retry budget. One conditional UPDATE, so a worker
    leasing it at the same moment either sees it reset or makes this a :class:`DeliveryInFlight`."""
    delivery = await _delivery(session, actor, delivery_id)
    was = delivery.status
    reset = await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, ~_in_flight(now)).values(**_fresh(now))
        .returning(Delivery.id).execution_options(synchronize_session="fetch"))
    if reset.first() is None:
        await session.refresh(delivery)
        leased = delivery.leased_until
        raise DeliveryInFlight(f"delivery {delivery_id}: a request for it is out now (leased until "
                               f"{leased.isoformat() if leased else '?'}); replay it after that", leased_until=leased)
    await audit.record(session, action="webhook_delivery.replay", actor=actor, entity="webhook_delivery",
                       entity_id=delivery.id, endpoint_id=delivery.endpoint_id, was=was.value)
    return Replayed(replayed=1)


async def replay_dead(session: AsyncSession, *, actor: Principal | None, now: dt.datetime,
                      endpoint_id: int) -> Replayed:
    """Send every dead delivery of an endpoint again, now, each with a fresh retry budget."""
    await _endpoint(session, actor, endpoint_id)
    result = await session.execute(
        update(Delivery).where(Delivery.endpoint_id == endpoint_id, Delivery.status == DeliveryStatus.DEAD)
        .values(**_fresh(now)).returning(Delivery.id).execution_options(synchronize_session="fetch"))
    count = len(result.all())
    await audit.record(session, action="webhook_endpoint.replay_dead", actor=actor, entity="webhook_endpoint",
                       entity_id=endpoint_id, replayed=count)
    return Replayed(replayed=count)


async def replay_range(session: AsyncSession, *, actor: Principal | None, now: dt.datetime, endpoint_id: int,
                       since: dt.datetime, until: dt.datetime) -> Replayed:
    """Send again every event that occurred in [since, until) to an endpoint: its existing
    deliveries are reset, and a delivery is made for each event in the range it wants (by type and
    client) but has none of (made before it existed, or not fanned out yet)."""
    _check_range(since, until)
    endpoint = await _endpoint(session, actor, endpoint_id)
    in_range = and_(WebhookEvent.occurred_at >= since, WebhookEvent.occurred_at < until)
    mine = and_(Delivery.endpoint_id == endpoint_id, Delivery.event_pk.in_(select(WebhookEvent.id).where(in_range)))
    in_flight = (await session.execute(select(func.count(Delivery.id)).where(mine, _in_flight(now)))).scalar_one()
    reset = await session.execute(
        update(Delivery).where(mine, ~_in_flight(now)).values(**_fresh(now)).returning(Delivery.id)
        .execution_options(synchronize_session="fetch"))
    reset_count = len(reset.all())
    created = await _make_missing(session, endpoint, in_range, now)
    await audit.record(session, action="webhook_endpoint.replay_range", actor=actor, entity="webhook_endpoint",
                       entity_id=endpoint_id, since=since.isoformat(), until=until.isoformat(), reset=reset_count,
                       created=created, in_flight=in_flight)
    return Replayed(replayed=reset_count + created, created=created, in_flight=in_flight)


async def _make_missing(session: AsyncSession, endpoint: WebhookEndpoint, in_range: ColumnElement[bool],
                        now: dt.datetime) -> int:
    """The deliveries ``endpoint`` lacks for the events in range it wants (the fan-out's rule,
    ``dialer.outbox.fanout.wants``, in SQL), in one INSERT … SELECT … ON CONFLICT DO NOTHING: a
    delivery the fan-out makes at the same time wins."""
    wanted = select(WebhookEvent.id, literal(endpoint.id), literal(DeliveryStatus.PENDING.value), literal(0),
                    literal(now, UTCDateTime()), literal(now, UTCDateTime())) \
        .where(in_range, WebhookEvent.type.in_(endpoint.event_types),
               ~exists().where(Delivery.event_pk == WebhookEvent.id, Delivery.endpoint_id == endpoint.id))
    if endpoint.client_ids is not None:
        wanted = wanted.where(WebhookEvent.client_id.in_(endpoint.client_ids))
    table = table_of(Delivery)
    insert = (postgresql if is_postgres(session) else sqlite).insert(table)
    statement = insert.from_select(["event_pk", "endpoint_id", "status", "attempts", "next_attempt_at", "created_at"],
                                   wanted).on_conflict_do_nothing(index_elements=["event_pk", "endpoint_id"])
    return len((await session.execute(statement.returning(table.c.id))).all())
