"""The delivery worker against a real HTTP receiver on loopback, both databases. The clock is
driven (no sleeping for retry delays): the worker signs with it, and the receiver measures the
package's 5-minute tolerance on it (``tests.outbox.receiver``), except where the package's own
wall-clock check is the point."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dialer.outbox.events import envelope
from dialer.outbox.models import DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent
from dialer.outbox.retry import MAX_ATTEMPTS
from dialer.outbox.signing import new_secret
from tests.outbox.conftest import attempts_of, deliveries, drive, endpoint_of, make_endpoint, make_event
from tests.outbox.receiver import Answer

MINUTE = dt.timedelta(minutes=1)


async def setup(sessions, clock, receiver_url: str, *, events: int = 1, **endpoint):
    """An endpoint at ``receiver_url`` and ``events`` call events, committed; (endpoint, events)."""
    async with sessions() as s:
        made = await make_endpoint(s, url=receiver_url, **endpoint)
        emitted = [await make_event(s, at=clock()) for _ in range(events)]
        await s.commit()
    return made, emitted


async def one_event(sessions, clock, **fields):
    async with sessions() as s:
        event = await make_event(s, at=clock(), **fields)
        await s.commit()
    return event


async def test_given_an_event_when_run_once_then_delivered_and_verified_by_the_real_package(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret})  # standardwebhooks' verify, unchanged, on the wall clock
    endpoint, [event] = await setup(sessions, clock, receiver.url, secret=secret)

    figures = await make_worker().run_once()

    assert figures == {"fanned": 1, "claimed": 1, "sent": 1, "delivered": 1, "retried": 0, "dead": 0, "disabled": 0}
    [got] = receiver.received
    assert got.verified_by == {"holder"} and got.webhook_id == event.event_id
    assert got.timestamp == int(clock().timestamp()) and got.body == envelope(event)
    [delivery] = await deliveries(sessions)
    assert (delivery.status, delivery.attempts, delivery.delivered_at, delivery.last_status_code,
            delivery.leased_until, delivery.last_error) == (DeliveryStatus.DELIVERED, 1, clock(), 204, None, None)
    [attempt] = await attempts_of(sessions, delivery.id)
    assert (attempt.attempted_at, attempt.status_code, attempt.error) == (clock(), 204, None)
    assert attempt.latency_ms >= 0
    assert await make_worker().run_once() == {
        "fanned": 0, "claimed": 0, "sent": 0, "delivered": 0, "retried": 0, "dead": 0, "disabled": 0}


async def test_given_failures_then_every_retry_carries_the_same_webhook_id_and_a_new_timestamp(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    receiver.script(Answer(500), Answer(502))
    _, [event] = await setup(sessions, clock, receiver.url, secret=secret)
    start = clock()

    assert await drive(make_worker(), clock, sessions) == 3

    assert [r.webhook_id for r in receiver.received] == [event.event_id] * 3
    assert [r.timestamp - int(start.timestamp()) for r in receiver.received] == [0, 5, 35]
    assert [r.status for r in receiver.received] == [500, 502, 204]
    assert receiver.delivered() == {event.event_id: 1}


async def test_given_the_receiver_down_for_an_hour_while_events_keep_coming_then_each_is_delivered_once_and_none_dies(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    await receiver.stop()
    endpoint, emitted = await setup(sessions, clock, receiver.url, secret=secret, events=0)
    worker = make_worker(rand=lambda: 0.7)
    for _ in range(60):  # an hour: a new event every minute, every attempt refused
        emitted.append(await one_event(sessions, clock))
        assert (await worker.run_once())["delivered"] == 0
        clock.now += MINUTE
    refused = await deliveries(sessions, endpoint_id=endpoint.id)
    assert {d.status for d in refused} == {DeliveryStatus.PENDING} and min(d.attempts for d in refused) >= 1

    await receiver.start()
    emitted += [await one_event(sessions, clock) for _ in range(3)]  # and more after it is back
    await drive(worker, clock, sessions, rounds=100)

    assert set(receiver.delivered()) == {e.event_id for e in emitted}
    assert set(receiver.delivered().values()) == {1}, "no event delivered twice"
    final = await deliveries(sessions, endpoint_id=endpoint.id)
    assert len(final) == 63 and {d.status for d in final} == {DeliveryStatus.DELIVERED}
    first = await attempts_of(sessions, final[0].id)
    assert [a.status_code for a in first][-1] == 204 and all(a.error for a in first[:-1])


async def test_given_a_flapping_receiver_then_eventually_delivered_with_every_attempt_logged(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    receiver.script(Answer(500), Answer(204, delay_s=1.0), Answer(503), Answer(204, delay_s=0.05))
    _, [event] = await setup(sessions, clock, receiver.url, secret=secret)

    await drive(make_worker(timeout_s=0.3), clock, sessions)

    [delivery] = await deliveries(sessions)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 4
    logged = await attempts_of(sessions, delivery.id)
    assert [(a.status_code, a.error) for a in logged] == [
        (500, None), (None, "timeout after 0.3 s"), (503, None), (204, None)]
    assert all(isinstance(a.latency_ms, int) and a.latency_ms >= 0 for a in logged)
    assert len(receiver.received) == 4, "the slow answer arrived too: the receiver de-duplicates by webhook-id"
    assert receiver.delivered() == {event.event_id: 2}


async def test_given_429_with_retry_after_then_not_retried_before_it(sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    receiver.script(Answer(429, retry_after="120"))
    _, [event] = await setup(sessions, clock, receiver.url, secret=secret)
    worker, start = make_worker(), clock()

    assert (await worker.run_once())["retried"] == 1
    [delivery] = await deliveries(sessions)
    assert (delivery.next_attempt_at, delivery.last_status_code) == (start + 2 * MINUTE, 429)
    clock.now = start + MINUTE
    assert (await worker.run_once())["sent"] == 0, "the schedule's 5 s would have retried by now"
    clock.now = start + 2 * MINUTE
    assert (await worker.run_once())["delivered"] == 1
    assert receiver.delivered() == {event.event_id: 1}


async def test_given_410_then_the_endpoint_is_disabled_and_the_delivery_waits_for_it(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    receiver.script(Answer(410))
    endpoint, [event, other] = await setup(sessions, clock, receiver.url, secret=secret, events=2, max_in_flight=1)
    worker = make_worker()

    figures = await worker.run_once()

    assert (figures["sent"], figures["disabled"]) == (1, 1), "the second was not sent once the first got 410"
    gone = await endpoint_of(sessions, endpoint.id)
    assert not gone.active and gone.disabled_reason == f"410 Gone at {clock().isoformat()}"
    waiting = await deliveries(sessions)
    assert {(d.status, d.attempts, d.leased_until) for d in waiting} == {(DeliveryStatus.PENDING, 0, None)}
    assert waiting[0].last_status_code == 410 and len(await attempts_of(sessions, waiting[0].id)) == 1
    clock.now += dt.timedelta(hours=1)
    assert (await worker.run_once())["sent"] == 0

    async with sessions() as s:
        (await s.get(WebhookEndpoint, endpoint.id)).active = True
        await s.commit()
    assert (await worker.run_once())["delivered"] == 2
    assert receiver.delivered() == {event.event_id: 1, other.event_id: 1}


async def test_given_every_attempt_fails_then_after_the_last_the_delivery_is_dead_and_stays_listed(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock, default=Answer(500))
    _, [event] = await setup(sessions, clock, receiver.url, secret=secret)
    worker, start = make_worker(), clock()

    await drive(worker, clock, sessions)

    [dead] = await deliveries(sessions)
    assert (dead.status, dead.attempts, dead.last_status_code, dead.last_error) == (
        DeliveryStatus.DEAD, MAX_ATTEMPTS, 500, "HTTP 500")
    tried = await attempts_of(sessions, dead.id)
    assert len(tried) == MAX_ATTEMPTS == len(receiver.received)
    assert tried[-1].attempted_at - start >= dt.timedelta(days=3)
    clock.now += dt.timedelta(days=30)
    assert (await worker.run_once())["sent"] == 0
    assert [d.status for d in await deliveries(sessions, status="dead")] == [DeliveryStatus.DEAD]
    assert {r.webhook_id for r in receiver.received} == {event.event_id}


async def test_given_a_secret_rotation_mid_stream_then_old_and_new_holders_verify_during_the_overlap_only(
        sessions, clock, receivers, make_worker):
    old, new = new_secret(), new_secret()
    receiver = await receivers({"old holder": old, "new holder": new}, clock=clock, default=Answer(200))
    endpoint, [before] = await setup(sessions, clock, receiver.url, secret=old)
    worker = make_worker()
    await worker.run_once()
    async with sessions() as s:  # rotated: the old secret signs too for one more hour
        rotated = await s.get(WebhookEndpoint, endpoint.id)
        rotated.secret, rotated.previous_secret, rotated.previous_secret_until = new, old, clock() + dt.timedelta(hours=1)
        await s.commit()
    during = await one_event(sessions, clock)
    await worker.run_once()
    clock.now += dt.timedelta(hours=1)
    after = await one_event(sessions, clock)
    await worker.run_once()

    by_id = {r.webhook_id: r for r in receiver.received}
    assert by_id[before.event_id].verified_by == {"old holder"}
    assert by_id[during.event_id].verified_by == {"old holder", "new holder"} and by_id[during.event_id].signatures == 2
    assert by_id[after.event_id].verified_by == {"new holder"} and by_id[after.event_id].signatures == 1


async def test_given_a_recording_event_then_its_media_url_is_made_at_each_sending_and_not_stored(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock)
    receiver.script(Answer(500))
    data = {"recording": {"id": 42, "status": "stored", "sha256": "ab" * 32}, "call": {"id": 7}}
    await setup(sessions, clock, receiver.url, secret=secret, events=0)
    recording = await one_event(sessions, clock, type=EventType.RECORDING_STORED, data=data)
    await one_event(sessions, clock, data={"recording": {"id": 43}})

    def link(recording_id: int, now: dt.datetime) -> str:
        return f"https://dialer.example/recordings/{recording_id}/media?expires={int(now.timestamp()) + 3600}"

    start = clock()
    await drive(make_worker(media_link=link), clock, sessions)

    stored = [r for r in receiver.received if r.body["type"] == "recording.stored"]
    assert [r.body["data"]["recording"]["media_url"] for r in stored] == [
        link(42, start), link(42, start + dt.timedelta(seconds=5))], "a fresh link on the retry"

    assert {k: v for k, v in stored[-1].body["data"]["recording"].items() if k != "media_url"} == data["recording"]
    [call] = [r for r in receiver.received if r.body["type"] == "call.completed"]
    assert "media_url" not in call.body["data"]["recording"], "only recording.* events get a link"
    async with sessions() as s:
        kept = (await s.get(WebhookEvent, recording.id)).payload
    assert kept == data, "the stored payload stays as written"


async def test_given_max_in_flight_then_no_more_requests_are_out_to_that_endpoint_at_once(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock, default=Answer(204, delay_s=0.05))
    await setup(sessions, clock, receiver.url, secret=secret, events=8, max_in_flight=2)

    assert (await make_worker().run_once())["delivered"] == 8
    assert receiver.peak_in_flight == 2


async def test_given_a_stalled_endpoint_when_running_then_another_endpoints_events_are_delivered_meanwhile(
        sessions, clock, receivers, make_worker):
    stalled_secret, fine_secret, release = new_secret(), new_secret(), asyncio.Event()
    stalled = await receivers({"holder": stalled_secret}, clock=clock, default=Answer(204, hold=release))
    fine = await receivers({"holder": fine_secret}, clock=clock)
    _, [held] = await setup(sessions, clock, stalled.url, secret=stalled_secret, event_types=["call.completed"])
    worker = make_worker(timeout_s=30.0, poll_s=0.05, refresh_s=0.05)
    worker.start()
    try:
        await _until(lambda: stalled.in_flight == 1)
        await setup(sessions, clock, fine.url, secret=fine_secret, events=0, event_types=["recording.stored"])
        event = await one_event(sessions, clock, type=EventType.RECORDING_STORED, data={"recording": {"id": 1}})
        await _until(lambda: fine.delivered() == {event.event_id: 1})
        assert stalled.in_flight == 1, "still held while the other endpoint's event went through"
        release.set()
        await _until(lambda: stalled.in_flight == 0)
        await _until(lambda: worker.totals.delivered == 2)
    finally:
        release.set()
        await worker.aclose()
    assert {d.status for d in await deliveries(sessions)} == {DeliveryStatus.DELIVERED}


async def _until(condition, *, within_s: float = 20.0) -> None:
    """Wait for ``condition`` (a guard against hanging, not a measure of speed)."""
    async with asyncio.timeout(within_s):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.postgres_only
async def test_given_two_workers_on_the_same_due_deliveries_then_none_is_sent_twice(
        sessions, clock, receivers, make_worker):
    secret = new_secret()
    receiver = await receivers({"holder": secret}, clock=clock, default=Answer(204, delay_s=0.005))
    _, emitted = await setup(sessions, clock, receiver.url, secret=secret, events=120, max_in_flight=4)
    one, two = make_worker(batch=8), make_worker(batch=8)

    for _ in range(40):
        figures = await asyncio.gather(one.run_once(), two.run_once())
        if not any(f["claimed"] for f in figures):
            break

    assert one.totals.sent > 0 and two.totals.sent > 0, "both took part"
    assert one.totals.sent + two.totals.sent == 120 == len(receiver.received)
    assert receiver.delivered() == {e.event_id: 1 for e in emitted}
