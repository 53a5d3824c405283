"""The integrations API under /v1: the secret in the create and rotate responses only, errors with
stable codes naming the field, deliveries and their replay, and the roles at the door (admin
everything; integration its own endpoints' deliveries; agents and supervisors nothing)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dialer.outbox.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from tests.outbox_admin.conftest import NOW, make_delivery, make_endpoint, make_event

H = dt.timedelta(hours=1)
NEW = {"url": "https://archive.example/hooks", "event_types": ["recording.stored", "recording.missing"],
       "description": "recording archive"}


async def _seed(app, **endpoint_fields):
    """An endpoint with one dead and one delivered delivery; their ids."""
    async with app.state.container.sessions() as s:
        endpoint = await make_endpoint(s, **endpoint_fields)
        dead = await make_delivery(s, event=await make_event(s, at=NOW - 2 * H), endpoint=endpoint,
                                   status=DeliveryStatus.DEAD, attempts=16, tried=2)
        done = await make_delivery(s, event=await make_event(s, type=EventType.RECORDING_STORED, at=NOW - H),
                                   endpoint=endpoint, status=DeliveryStatus.DELIVERED, attempts=1)
        await s.commit()
        return endpoint.id, dead.id, done.id


async def _delivery(app, delivery_id: int) -> Delivery:
    async with app.state.container.sessions() as s:
        return (await s.execute(select(Delivery).where(Delivery.id == delivery_id))).scalar_one()


async def test_given_an_admin_when_creating_then_the_secret_is_in_that_response_only(api, headers):
    created = await api.post("/v1/integrations/endpoints", json=NEW, headers=headers["admin"])

    assert created.status_code == 201, created.text
    body = created.json()
    secret, endpoint_id = body["secret"], body["id"]
    assert secret.startswith("whsec_") and body["enabled"] is True and body["client_ids"] is None
    one = await api.get(f"/v1/integrations/endpoints/{endpoint_id}", headers=headers["admin"])
    listed = await api.get("/v1/integrations/endpoints", headers=headers["admin"])
    changed = await api.patch(f"/v1/integrations/endpoints/{endpoint_id}", json={"description": "archive v2"},
                              headers=headers["admin"])
    assert [r.status_code for r in (one, listed, changed)] == [200, 200, 200]
    assert one.json()["event_types"] == NEW["event_types"] and listed.json()["items"][0]["id"] == endpoint_id
    assert changed.json()["description"] == "archive v2"
    assert all("secret" not in r.json() and secret not in r.text for r in (one, listed, changed))


async def test_given_a_rotation_then_the_new_secret_is_returned_once_and_the_overlap_shown(app, api, headers):
    created = (await api.post("/v1/integrations/endpoints", json=NEW, headers=headers["admin"])).json()

    rotated = await api.post(f"/v1/integrations/endpoints/{created['id']}/rotate-secret", json={"overlap_hours": 2},
                             headers=headers["admin"])
    default = await api.post(f"/v1/integrations/endpoints/{created['id']}/rotate-secret", headers=headers["admin"])

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] not in (created["secret"], default.json()["secret"])
    assert rotated.json()["previous_secret_until"] == (NOW + 2 * H).isoformat().replace("+00:00", "Z")
    assert default.json()["previous_secret_until"] == (NOW + 24 * H).isoformat().replace("+00:00", "Z")
    read = await api.get(f"/v1/integrations/endpoints/{created['id']}", headers=headers["admin"])
    assert default.json()["secret"] not in read.text and "secret" not in read.json()
    async with app.state.container.sessions() as s:
        endpoint = await s.get(WebhookEndpoint, created["id"])
        assert endpoint is not None and endpoint.previous_secret == rotated.json()["secret"]


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"url": "ftp://archive.example/x"}, "validation_error", "url"),
    ({"event_types": ["recording.stored", "call.started"]}, "validation_error", "event_types"),
    ({"max_in_flight": 99}, "validation_error", "max_in_flight"),
    ({"client_ids": [424242]}, "invalid_input", "client_ids"),
])
async def test_given_bad_input_then_422_names_the_field_and_nothing_is_made(app, api, headers, change, code, field):
    response = await api.post("/v1/integrations/endpoints", json={**NEW, **change}, headers=headers["admin"])

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == code and body["detail"].startswith(f"{field}:")
    assert (body["field"] if code == "invalid_input" else body["fields"][0]["field"]) == field
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(WebhookEndpoint))).first() is None


async def test_given_dead_and_delivered_deliveries_then_listed_read_with_attempts_and_replayed(app, api, headers):
    endpoint_id, dead_id, done_id = await _seed(app)

    listed = await api.get("/v1/integrations/deliveries", params={"endpoint_id": endpoint_id, "limit": 1},
                           headers=headers["admin"])
    older = await api.get("/v1/integrations/deliveries", params={"endpoint_id": endpoint_id, "limit": 1,
                                                                 "cursor": listed.json()["next_cursor"]},
                          headers=headers["admin"])
    dead = await api.get("/v1/integrations/deliveries", params={"status": "dead"}, headers=headers["admin"])
    unknown = await api.get("/v1/integrations/deliveries", params={"event_type": "call.made"},
                            headers=headers["admin"])
    detail = await api.get(f"/v1/integrations/deliveries/{dead_id}", headers=headers["admin"])
    replayed = await api.post(f"/v1/integrations/deliveries/{dead_id}/replay", headers=headers["admin"])

    assert [i["id"] for i in listed.json()["items"] + older.json()["items"]] == [done_id, dead_id]
    assert [i["id"] for i in dead.json()["items"]] == [dead_id]
    assert (unknown.status_code, unknown.json()["fields"][0]["field"]) == (422, "event_type")
    body = detail.json()
    assert body["status"] == "dead" and body["event_type"] == "call.completed" and len(body["history"]) == 2
    assert body["event"]["id"] == body["event_id"] and body["event"]["type"] == "call.completed"
    assert replayed.status_code == 200 and replayed.json() == {"replayed": 1, "created": 0, "in_flight": 0}
    row = await _delivery(app, dead_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.PENDING, 0, NOW)


async def test_given_an_endpoint_replay_then_dead_or_a_range_and_never_both(app, api, headers):
    endpoint_id, dead_id, done_id = await _seed(app)
    url = f"/v1/integrations/endpoints/{endpoint_id}/replay"

    dead = await api.post(url, json={"dead": True}, headers=headers["admin"])
    ranged = await api.post(url, json={"from": (NOW - 3 * H).isoformat(), "to": NOW.isoformat()},
                            headers=headers["admin"])
    both = await api.post(url, json={"dead": True, "from": (NOW - 3 * H).isoformat(), "to": NOW.isoformat()},
                          headers=headers["admin"])
    naive = await api.post(url, json={"from": "2026-11-24T00:00:00", "to": NOW.isoformat()}, headers=headers["admin"])

    assert dead.json() == {"replayed": 1, "created": 0, "in_flight": 0}
    assert ranged.json() == {"replayed": 2, "created": 0, "in_flight": 0}
    assert (both.status_code, both.json()["error"]) == (422, "validation_error")
    assert (naive.status_code, naive.json()["fields"][0]["field"]) == (422, "from")
    assert (await _delivery(app, done_id)).status is DeliveryStatus.PENDING


async def test_given_a_delivery_in_flight_then_its_replay_is_a_409_with_a_stable_code(app, api, headers):
    async with app.state.container.sessions() as s:
        endpoint = await make_endpoint(s)
        busy = await make_delivery(s, event=await make_event(s), endpoint=endpoint, attempts=1,
                                   leased_until=NOW + dt.timedelta(seconds=20))
        await s.commit()

    response = await api.post(f"/v1/integrations/deliveries/{busy.id}/replay", headers=headers["admin"])

    assert response.status_code == 409 and response.json()["error"] == "delivery_in_flight"
    assert (await _delivery(app, busy.id)).attempts == 1


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_given_agents_and_supervisors_then_every_integrations_route_is_403(app, api, headers, role):
    endpoint_id, dead_id, _ = await _seed(app)
    calls = [("get", "/v1/integrations/endpoints", None), ("post", "/v1/integrations/endpoints", NEW),
             ("get", f"/v1/integrations/endpoints/{endpoint_id}", None),
             ("patch", f"/v1/integrations/endpoints/{endpoint_id}", {"enabled": False}),
             ("post", f"/v1/integrations/endpoints/{endpoint_id}/rotate-secret", {}),
             ("post", f"/v1/integrations/endpoints/{endpoint_id}/replay", {"dead": True}),
             ("get", "/v1/integrations/deliveries", None), ("get", f"/v1/integrations/deliveries/{dead_id}", None),
             ("post", f"/v1/integrations/deliveries/{dead_id}/replay", None)]

    codes = [(await api.request(method.upper(), url, json=body, headers=headers[role])).status_code
             for method, url, body in calls]

    assert codes == [403] * len(calls)
    assert (await _delivery(app, dead_id)).status is DeliveryStatus.DEAD


async def test_given_an_integration_user_then_it_reads_and_replays_its_own_and_may_not_manage(
        app, api, headers, users):
    mine, my_dead, _ = await _seed(app, owner_id=users["integration"].id)
    theirs, their_dead, _ = await _seed(app)
    me = headers["integration"]

    listed = await api.get("/v1/integrations/deliveries", headers=me)
    endpoints = await api.get("/v1/integrations/endpoints", headers=me)
    replayed = await api.post(f"/v1/integrations/endpoints/{mine}/replay", json={"dead": True}, headers=me)
    refused = [await api.get(f"/v1/integrations/deliveries/{their_dead}", headers=me),
               await api.post(f"/v1/integrations/deliveries/{their_dead}/replay", headers=me),
               await api.post(f"/v1/integrations/endpoints/{theirs}/replay", json={"dead": True}, headers=me),
               await api.post("/v1/integrations/endpoints", json=NEW, headers=me),
               await api.post(f"/v1/integrations/endpoints/{mine}/rotate-secret", headers=me),
               await api.patch(f"/v1/integrations/endpoints/{mine}", json={"enabled": False}, headers=me)]

    assert {i["endpoint_id"] for i in listed.json()["items"]} == {mine}
    assert [e["id"] for e in endpoints.json()["items"]] == [mine]
    assert replayed.json()["replayed"] == 1 and (await _delivery(app, my_dead)).status is DeliveryStatus.PENDING
    assert [(r.status_code, r.json()["error"]) for r in refused] == [(403, "forbidden")] * 6
    assert (await _delivery(app, their_dead)).status is DeliveryStatus.DEAD
