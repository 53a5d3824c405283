"""The receiver trusts only what the dialer signed, recently, once: signatures with any configured
secret, timestamps within the tolerance of its own clock, one record per webhook-id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.archive_receiver import OLD_SECRET, OTHER_SECRET, SECRET, T0, Rig, call_completed, event, rig, signed


@pytest.fixture
async def receiver(tmp_path) -> AsyncIterator[Rig]:
    async with rig(tmp_path) as started:
        yield started


async def test_given_a_signed_call_completed_when_delivered_then_recorded_and_listed(receiver):
    completed = call_completed(call_id=71)

    answer = await receiver.deliver(completed)

    assert answer.status_code == 200 and answer.json()["status"] == "recorded"
    [row] = await receiver.received()
    assert (row["webhook_id"], row["type"], row["event_id"]) == (completed["id"], "call.completed", completed["id"])
    assert row["data"] == completed["data"] and row["occurred_at"] == T0.isoformat() and row["version"] == 1
    assert row["received_at"] == T0.isoformat() and row["file"] is None


async def test_given_a_body_changed_after_signing_when_delivered_then_401_and_nothing_stored(receiver):
    completed = call_completed()
    headers = signed(json.dumps(completed).encode(), msg_id=completed["id"], at=T0)
    forged = json.dumps({**completed, "data": {**completed["data"], "disposition": "refused_to_pay"}}).encode()

    answer = await receiver.deliver(forged, headers=headers)

    assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
    assert await receiver.received() == []


async def test_given_another_webhook_id_than_signed_when_delivered_then_401(receiver):
    completed = call_completed()
    headers = {**signed(json.dumps(completed).encode(), msg_id=completed["id"], at=T0), "webhook-id": "msg_other"}

    answer = await receiver.deliver(completed, headers=headers)

    assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
    assert await receiver.received() == []


async def test_given_a_secret_the_receiver_does_not_hold_when_delivered_then_401_and_nothing_stored(receiver):
    answer = await receiver.deliver(call_completed(), secrets=(OTHER_SECRET,))

    assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
    assert await receiver.received() == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_given_a_header_missing_when_delivered_then_401_and_nothing_stored(receiver, missing):
    completed = call_completed()
    headers = signed(json.dumps(completed).encode(), msg_id=completed["id"], at=T0)
    del headers[missing]

    answer = await receiver.deliver(completed, headers=headers)

    assert (answer.status_code, answer.json()["error"]) == (401, "missing_headers")
    assert await receiver.received() == []


async def test_given_a_timestamp_that_is_not_unix_seconds_when_delivered_then_401(receiver):
    completed = call_completed()
    headers = {**signed(json.dumps(completed).encode(), msg_id=completed["id"], at=T0),
               "webhook-timestamp": T0.isoformat()}

    answer = await receiver.deliver(completed, headers=headers)

    assert (answer.status_code, answer.json()["error"]) == (401, "bad_timestamp")


@pytest.mark.parametrize(("receiver_later_by", "status"), [
    (timedelta(days=1), 401),  # a captured delivery replayed a day later
    (timedelta(seconds=301), 401),
    (timedelta(seconds=-301), 401),  # signed in the future
    (timedelta(seconds=300), 200),  # the tolerance's edge is inside
    (timedelta(seconds=-300), 200),
])
async def test_given_the_receivers_clock_when_a_signed_event_arrives_then_only_a_recent_one_is_accepted(
        receiver, receiver_later_by, status):
    completed = call_completed()
    receiver.clock.now = T0 + receiver_later_by

    answer = await receiver.deliver(completed, at=T0)

    assert answer.status_code == status
    assert len(await receiver.received()) == (1 if status == 200 else 0)
    if status == 401:
        assert answer.json()["error"] == "stale_timestamp"


async def test_given_an_event_stored_when_the_capture_is_replayed_a_day_later_then_401(receiver):
    completed = call_completed()
    raw = json.dumps(completed).encode()
    captured = signed(raw, msg_id=completed["id"], at=T0)
    assert (await receiver.deliver(raw, headers=captured)).status_code == 200

    receiver.clock.now = T0 + timedelta(days=1)
    answer = await receiver.deliver(raw, headers=captured)

    assert (answer.status_code, answer.json()["error"]) == (401, "stale_timestamp")
    assert len(await receiver.received()) == 1


async def test_given_the_same_webhook_id_twice_when_retried_then_200_and_recorded_once(receiver):
    completed = call_completed()
    assert (await receiver.deliver(completed)).json()["status"] == "recorded"
    receiver.clock.now = T0 + timedelta(minutes=10)  # a retry is signed anew, with the same webhook-id

    again = await receiver.deliver(completed)

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    [row] = await receiver.received()
    assert row["received_at"] == T0.isoformat()


async def test_given_a_retry_whose_body_differs_when_delivered_then_the_first_record_stands(receiver):
    completed = call_completed()
    await receiver.deliver(completed)

    again = await receiver.deliver({**completed, "data": {"changed": True}})

    assert again.json()["status"] == "duplicate"
    [row] = await receiver.received()
    assert row["data"] == completed["data"]


@pytest.mark.parametrize("signed_with", [(OLD_SECRET,), (SECRET,), (OLD_SECRET, SECRET), (OTHER_SECRET, SECRET)])
async def test_given_a_rotation_when_either_secret_signs_then_accepted(tmp_path, signed_with):
    async with rig(tmp_path, secrets=(OLD_SECRET, SECRET)) as rotating:
        answer = await rotating.deliver(call_completed(), secrets=signed_with)

        assert answer.status_code == 200
        assert len(await rotating.received()) == 1


async def test_given_the_old_secret_removed_after_a_rotation_when_it_signs_then_401(tmp_path):
    async with rig(tmp_path, secrets=(SECRET,)) as rotated:
        answer = await rotated.deliver(call_completed(), secrets=(OLD_SECRET,))

        assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", json.dumps({"type": "call.completed"}).encode()])
async def test_given_a_signed_body_that_is_not_an_event_when_delivered_then_400_and_nothing_stored(receiver, body):
    answer = await receiver.deliver(body)

    assert (answer.status_code, answer.json()["error"]) == (400, "bad_payload")
    assert await receiver.received() == []


async def test_given_several_types_when_listed_by_type_then_only_that_type_in_arrival_order(receiver):
    first, second = call_completed(call_id=1), call_completed(call_id=2)
    for body in (first, event("recording.missing", {"recording": {"id": 5}}), second,
                 event("recording.hold_changed", {"recording": {"id": 5, "legal_hold": True}})):
        assert (await receiver.deliver(body)).status_code == 200

    completed = await receiver.received("call.completed")

    assert [row["webhook_id"] for row in completed] == [first["id"], second["id"]]
    assert [row["type"] for row in await receiver.received()] == [
        "call.completed", "recording.missing", "call.completed", "recording.hold_changed"]


async def test_given_a_running_receiver_when_health_asked_then_ok(receiver):
    answer = await receiver.http.get(f"{receiver.url}/health")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


async def test_given_an_oversized_body_when_delivered_then_413_unread(receiver):
    answer = await receiver.deliver(b"x" * (2 << 20))

    assert (answer.status_code, answer.json()["error"]) == (413, "too_large")
