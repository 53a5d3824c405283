"""Deliveries through the service: listed newest first with filters and a cursor, read with their
attempts and event; replayed one at a time, every dead one of an endpoint, or a range of events
(the missing deliveries made by the fan-out's own rule), each with a fresh retry budget, the
attempts history kept, a request in flight left alone, every replay audited; integration users
confined to their own endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dialer.kit.errors import Forbidden, InvalidInput
from dialer.outbox import service
from dialer.outbox.fanout import wants
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType
from tests.factories import make_client
from tests.outbox_admin.conftest import NOW, audit_entries, count, make_delivery, make_endpoint, make_event

H = dt.timedelta(hours=1)


def _fresh(delivery: Delivery) -> bool:
    return (delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0 and delivery.next_attempt_at == NOW
            and delivery.leased_until is None and delivery.delivered_at is None)


async def test_given_a_dead_delivery_when_replayed_then_due_now_with_a_fresh_budget_and_its_attempts_kept(
        session, people):
    endpoint = await make_endpoint(session)
    delivery = await make_delivery(session, event=await make_event(session, at=NOW - 5 * H), endpoint=endpoint,
                                   status=DeliveryStatus.DEAD, attempts=16, tried=16,
                                   leased_until=NOW - H)

    done = await service.replay_delivery(session, actor=people["admin"], now=NOW, delivery_id=delivery.id)

    assert done.replayed == 1 and _fresh(delivery)
    assert await count(session, DeliveryAttempt) == 16
    entry, = await audit_entries(session, action="webhook_delivery.replay")
    assert (entry.entity, entry.entity_id, entry.detail["was"]) == ("webhook_delivery", str(delivery.id), "dead")


async def test_given_a_delivery_in_flight_when_replayed_then_refused_and_left_as_it_was(session, people):
    endpoint = await make_endpoint(session)
    delivery = await make_delivery(session, event=await make_event(session), endpoint=endpoint, attempts=3,
                                   leased_until=NOW + dt.timedelta(seconds=30))

    with pytest.raises(service.DeliveryInFlight, match="a request for it is out now") as refused:
        await service.replay_delivery(session, actor=people["admin"], now=NOW, delivery_id=delivery.id)

    assert refused.value.code == "delivery_in_flight" and refused.value.status == 409
    assert delivery.attempts == 3 and delivery.leased_until == NOW + dt.timedelta(seconds=30)
    assert [e.action for e in await audit_entries(session)] == ["webhook_endpoint.create"]


async def test_given_dead_deliveries_of_two_endpoints_when_one_endpoints_dead_are_replayed_then_only_those(
        session, people):
    endpoint, other = await make_endpoint(session), await make_endpoint(session)
    event = await make_event(session, at=NOW - 3 * H)
    dead = [await make_delivery(session, event=await make_event(session, at=NOW - 2 * H), endpoint=endpoint,
                                status=DeliveryStatus.DEAD, attempts=16, tried=2) for _ in range(3)]
    delivered = await make_delivery(session, event=event, endpoint=endpoint, status=DeliveryStatus.DELIVERED,
                                    attempts=1)
    elsewhere = await make_delivery(session, event=event, endpoint=other, status=DeliveryStatus.DEAD, attempts=16)

    done = await service.replay_dead(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id)

    assert done.replayed == 3
    for row in dead:
        await session.refresh(row)
    await session.refresh(delivered)
    await session.refresh(elsewhere)
    assert all(_fresh(row) for row in dead)
    assert delivered.status is DeliveryStatus.DELIVERED and elsewhere.status is DeliveryStatus.DEAD
    assert await count(session, DeliveryAttempt) == 6
    entry, = await audit_entries(session, action="webhook_endpoint.replay_dead")
    assert entry.entity_id == str(endpoint.id) and entry.detail == {"replayed": 3}


async def test_given_a_range_when_replayed_then_existing_deliveries_are_reset_and_missing_wanted_ones_made(
        session, people):
    bank, other_bank = await make_client(session), await make_client(session)
    endpoint = await make_endpoint(session, event_types=["call.completed", "recording.stored"], client_ids=[bank.id])
    sent = await make_event(session, at=NOW - 3 * H, client_id=bank.id)
    delivered = await make_delivery(session, event=sent, endpoint=endpoint, status=DeliveryStatus.DELIVERED,
                                    attempts=1, tried=1)
    busy = await make_delivery(session, event=await make_event(session, at=NOW - 3 * H, client_id=bank.id),
                               endpoint=endpoint, attempts=2, leased_until=NOW + dt.timedelta(seconds=20))
    missing = await make_event(session, type=EventType.RECORDING_STORED, at=NOW - 2 * H, client_id=bank.id)
    unwanted = [await make_event(session, type=EventType.CALL_WRAPPED_UP, at=NOW - 2 * H, client_id=bank.id),
                await make_event(session, at=NOW - 2 * H, client_id=other_bank.id),
                await make_event(session, at=NOW - 2 * H, client_id=None)]
    outside = [await make_event(session, at=NOW - 4 * H - dt.timedelta(seconds=1), client_id=bank.id),
               await make_event(session, at=NOW - H, client_id=bank.id)]

    done = await service.replay_range(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                      since=NOW - 4 * H, until=NOW - H)

    assert (done.replayed, done.created, done.in_flight) == (2, 1, 1)
    rows = {d.event_pk: d for d in (await session.execute(
        select(Delivery).where(Delivery.endpoint_id == endpoint.id).execution_options(populate_existing=True)
    )).scalars()}
    assert set(rows) == {sent.id, busy.event_pk, missing.id}
    assert _fresh(rows[sent.id]) and _fresh(rows[missing.id]) and rows[missing.id].created_at == NOW
    assert rows[busy.event_pk].attempts == 2 and rows[busy.event_pk].leased_until is not None
    assert all(not wants(event_types=endpoint.event_types, client_ids=endpoint.client_ids, type=e.type,
                         client_id=e.client_id) for e in unwanted)
    assert all(e.id not in rows for e in outside)
    assert delivered.id == rows[sent.id].id and await count(session, DeliveryAttempt) == 1
    entry, = await audit_entries(session, action="webhook_endpoint.replay_range")
    assert entry.detail == {"since": (NOW - 4 * H).isoformat(), "until": (NOW - H).isoformat(), "reset": 1,
                            "created": 1, "in_flight": 1}


async def test_given_a_range_replayed_twice_then_the_second_makes_no_delivery_again(session, people):
    endpoint = await make_endpoint(session)
    for n in range(3):
        await make_event(session, at=NOW - (n + 1) * H)

    first = await service.replay_range(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                       since=NOW - 5 * H, until=NOW)
    second = await service.replay_range(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                        since=NOW - 5 * H, until=NOW)

    assert (first.created, second.created, second.replayed) == (3, 0, 3)
    assert await count(session, Delivery) == 3


@pytest.mark.parametrize(("since", "until", "field"), [
    (NOW, NOW - H, "to"),
    (NOW, NOW, "to"),
    (dt.datetime(2026, 11, 24, 1, 0), NOW, "from"),
])
async def test_given_a_bad_range_then_refused_naming_it_and_nothing_changed(session, people, since, until, field):
    endpoint = await make_endpoint(session)
    await make_event(session, at=NOW - 2 * H)

    with pytest.raises(InvalidInput) as refused:
        await service.replay_range(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                   since=since, until=until)

    assert refused.value.extra["field"] == field
    assert await count(session, Delivery) == 0
    assert await audit_entries(session, action="webhook_endpoint.replay_range") == []


@pytest.mark.parametrize(("how", "field"), [({"dead": True, "since": NOW - H, "until": NOW}, "replay"),
                                            ({}, "replay"), ({"since": NOW - H}, "to")])
async def test_given_a_replay_said_two_ways_or_none_then_refused(session, people, how, field):
    endpoint = await make_endpoint(session)

    with pytest.raises(InvalidInput) as refused:
        await service.replay_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id, **how)

    assert refused.value.extra["field"] == field


async def test_given_deliveries_then_listed_newest_first_filtered_and_paged_by_cursor(session, people):
    endpoint, other = await make_endpoint(session), await make_endpoint(session)
    made = [await make_delivery(session, event=await make_event(session, at=NOW - (10 - n) * H), endpoint=endpoint,
                                status=DeliveryStatus.DEAD if n % 2 else DeliveryStatus.DELIVERED) for n in range(6)]
    await make_delivery(session, event=await make_event(session, type=EventType.RECORDING_STORED), endpoint=other)
    admin = people["admin"]

    first = await service.list_deliveries(session, actor=admin, endpoint_id=endpoint.id, limit=4)
    rest = await service.list_deliveries(session, actor=admin, endpoint_id=endpoint.id, limit=4,
                                         cursor=first[-1][0].id)
    dead = await service.list_deliveries(session, actor=admin, status=DeliveryStatus.DEAD)
    recent = await service.list_deliveries(session, actor=admin, endpoint_id=endpoint.id, since=NOW - 6 * H,
                                           until=NOW - 5 * H)
    recordings = await service.list_deliveries(session, actor=admin, event_type=EventType.RECORDING_STORED)

    assert [d.id for d, _ in first + rest] == [d.id for d in reversed(made)]
    assert [d.id for d, _ in dead] == [made[5].id, made[3].id, made[1].id]
    assert [e.occurred_at for _, e in recent] == [NOW - 6 * H]
    assert [d.endpoint_id for d, _ in recordings] == [other.id]


async def test_given_a_delivery_then_read_with_its_event_and_attempts_oldest_first(session, people):
    endpoint = await make_endpoint(session)
    event = await make_event(session, at=NOW - H)
    delivery = await make_delivery(session, event=event, endpoint=endpoint, attempts=3, tried=3)

    view = await service.get_delivery(session, actor=people["admin"], delivery_id=delivery.id)

    assert view.delivery is delivery and view.event.event_id == event.event_id
    assert [(a.attempted_at, a.status_code, a.latency_ms) for a in view.history] == [
        (NOW - H + dt.timedelta(minutes=n), 500, 40 + n) for n in range(3)]


async def test_given_an_integration_user_then_it_reads_and_replays_its_endpoints_deliveries_only(session, people):
    mine = await make_endpoint(session, owner_id=people["integration"].user_id)
    theirs = await make_endpoint(session, owner_id=people["integration-2"].user_id)
    event = await make_event(session, at=NOW - H)
    own = await make_delivery(session, event=event, endpoint=mine, status=DeliveryStatus.DEAD, attempts=16)
    other = await make_delivery(session, event=event, endpoint=theirs, status=DeliveryStatus.DEAD, attempts=16)
    actor = people["integration"]

    listed = await service.list_deliveries(session, actor=actor)
    replayed = await service.replay_delivery(session, actor=actor, now=NOW, delivery_id=own.id)
    dead = await service.replay_dead(session, actor=actor, now=NOW, endpoint_id=mine.id)

    assert [d.id for d, _ in listed] == [own.id] and replayed.replayed == 1 and dead.replayed == 0
    refusals = [service.get_delivery(session, actor=actor, delivery_id=other.id),
                service.replay_delivery(session, actor=actor, now=NOW, delivery_id=other.id),
                service.replay_dead(session, actor=actor, now=NOW, endpoint_id=theirs.id),
                service.replay_range(session, actor=actor, now=NOW, endpoint_id=theirs.id, since=NOW - H, until=NOW),
                service.list_deliveries(session, actor=actor, endpoint_id=theirs.id)]
    for call in refusals:
        with pytest.raises(Forbidden, match=f"endpoint {theirs.id} is not one of yours"):
            await call
    assert other.status is DeliveryStatus.DEAD and other.attempts == 16
    entry, = await audit_entries(session, action="webhook_delivery.replay")
    assert entry.actor_id == actor.user_id and entry.actor_role == "integration"


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_given_agents_and_supervisors_then_deliveries_are_refused(session, people, role):
    endpoint = await make_endpoint(session)
    delivery = await make_delivery(session, event=await make_event(session), endpoint=endpoint,
                                   status=DeliveryStatus.DEAD)
    actor = people[role]

    for call in [service.list_deliveries(session, actor=actor),
                 service.get_delivery(session, actor=actor, delivery_id=delivery.id),
                 service.replay_delivery(session, actor=actor, now=NOW, delivery_id=delivery.id),
                 service.replay_dead(session, actor=actor, now=NOW, endpoint_id=endpoint.id)]:
        with pytest.raises(Forbidden, match=f"role '{role}' may not see"):
            await call

    assert delivery.status is DeliveryStatus.DEAD
