"""Fan-out: one delivery per active endpoint that wants an event (its types, its clients), due at
once; the event marked; idempotent; oldest first, ``limit`` at a time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.outbox.fanout import fan_out, wants
from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEvent
from tests.outbox.conftest import make_endpoint, make_event

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.timezone.utc)
RECORDINGS = [EventType.RECORDING_STORED.value, EventType.RECORDING_MISSING.value]


async def pairs(session) -> set[tuple[int, int]]:
    rows = await session.execute(select(Delivery.event_pk, Delivery.endpoint_id))
    return {(event_pk, endpoint_id) for event_pk, endpoint_id in rows}


def test_given_an_endpoints_types_and_clients_then_it_wants_only_those():
    assert wants(event_types=["call.completed"], client_ids=None, type="call.completed", client_id=3)
    assert wants(event_types=["call.completed"], client_ids=None, type="call.completed", client_id=None)
    assert not wants(event_types=["call.completed"], client_ids=None, type="recording.stored", client_id=3)
    assert wants(event_types=["call.completed"], client_ids=[3, 4], type="call.completed", client_id=4)
    assert not wants(event_types=["call.completed"], client_ids=[3, 4], type="call.completed", client_id=5)
    assert not wants(event_types=["call.completed"], client_ids=[3], type="call.completed", client_id=None)
    assert not wants(event_types=[], client_ids=None, type="call.completed", client_id=3)


async def test_given_endpoints_filtered_by_type_and_client_when_fanned_out_then_each_gets_what_it_wants(session):
    everything = await make_endpoint(session)
    recordings_only = await make_endpoint(session, event_types=RECORDINGS)
    client_7 = await make_endpoint(session, client_ids=[7])
    inactive = await make_endpoint(session, active=False)
    call_7 = await make_event(session, at=NOW, client_id=7)
    call_8 = await make_event(session, at=NOW, client_id=8)
    stored_7 = await make_event(session, at=NOW, type=EventType.RECORDING_STORED, client_id=7,
                                data={"recording": {"id": 1}})
    no_client = await make_event(session, at=NOW, type=EventType.RECORDING_PURGED, data={"recording": {"id": 2}})

    assert await fan_out(session, now=NOW) == 4

    assert await pairs(session) == {
        (call_7.id, everything.id), (call_8.id, everything.id), (stored_7.id, everything.id),
        (no_client.id, everything.id), (stored_7.id, recordings_only.id),
        (call_7.id, client_7.id), (stored_7.id, client_7.id),
    }
    assert inactive.id not in {endpoint_id for _, endpoint_id in await pairs(session)}
    made = (await session.execute(select(Delivery))).scalars().all()
    assert {(d.status, d.attempts, d.next_attempt_at, d.leased_until) for d in made} == {
        (DeliveryStatus.PENDING, 0, NOW, None)}
    assert set((await session.execute(select(WebhookEvent.fanned_out_at))).scalars()) == {NOW}


async def test_given_events_already_fanned_out_when_fanned_out_again_then_nothing_more(session):
    await make_endpoint(session)
    await make_event(session, at=NOW)
    assert await fan_out(session, now=NOW) == 1
    await make_endpoint(session)  # a newer endpoint does not get the older event this way (replay does)

    assert await fan_out(session, now=NOW + dt.timedelta(minutes=1)) == 0
    assert len(await pairs(session)) == 1


async def test_given_a_delivery_already_made_when_its_event_is_fanned_out_then_no_duplicate(session):
    endpoint = await make_endpoint(session)
    event = await make_event(session, at=NOW)
    session.add(Delivery(event_pk=event.id, endpoint_id=endpoint.id, next_attempt_at=NOW))  # e.g. a replay made it
    await session.flush()

    assert await fan_out(session, now=NOW) == 1
    assert await pairs(session) == {(event.id, endpoint.id)}


async def test_given_more_events_than_the_limit_then_the_oldest_first(session):
    await make_endpoint(session)
    events = [await make_event(session, at=NOW) for _ in range(5)]

    assert await fan_out(session, now=NOW, limit=3) == 3
    assert {e for e, _ in await pairs(session)} == {e.id for e in events[:3]}
    assert await fan_out(session, now=NOW, limit=3) == 2
    assert await fan_out(session, now=NOW, limit=3) == 0
    assert {e for e, _ in await pairs(session)} == {e.id for e in events}


async def test_given_no_active_endpoint_then_events_are_still_marked_and_nothing_is_made(session):
    await make_endpoint(session, active=False)
    await make_event(session, at=NOW)

    assert await fan_out(session, now=NOW) == 1
    assert await pairs(session) == set()
    assert set((await session.execute(select(WebhookEvent.fanned_out_at))).scalars()) == {NOW}
