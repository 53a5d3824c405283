"""Integration endpoints through the service: made with a Standard Webhooks secret returned once,
bad input refused with the field named and nothing written, changes and rotations audited without
the secret, and who may do what."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from dialer.kit.errors import Forbidden, InvalidInput, NotFound
from dialer.outbox import service
from dialer.outbox.models import EventType, WebhookEndpoint
from dialer.outbox.schemas import EndpointCreate, EndpointUpdate
from dialer.outbox.signing import Signer
from tests.factories import make_client
from tests.outbox_admin.conftest import NOW, audit_entries, audit_text, count, make_endpoint


def _create(**fields) -> EndpointCreate:
    return EndpointCreate(**{"url": "https://archive.example/hooks", "event_types": ["recording.stored"], **fields})


async def test_given_an_admin_when_creating_then_a_whsec_secret_of_24_random_bytes_is_returned_and_audited_without_it(
        session, people):
    client = await make_client(session, code="CMB")

    issued = await service.create_endpoint(session, actor=people["admin"], now=NOW, data=_create(
        description="archive", client_ids=[client.id], owner_id=people["integration"].user_id, max_in_flight=8))

    assert issued.secret.startswith("whsec_") and len(base64.b64decode(issued.secret[6:], validate=True)) == 24
    endpoint = issued.endpoint
    assert (endpoint.url, endpoint.event_types, endpoint.client_ids) == (
        "https://archive.example/hooks", ["recording.stored"], [client.id])
    assert endpoint.active and endpoint.max_in_flight == 8 and endpoint.secret == issued.secret
    entry, = await audit_entries(session, action="webhook_endpoint.create")
    assert (entry.entity, entry.entity_id, entry.actor_id) == ("webhook_endpoint", str(endpoint.id),
                                                               people["admin"].user_id)
    assert entry.detail["url"] == endpoint.url and issued.secret not in await audit_text(session)


async def test_given_two_endpoints_then_their_secrets_differ(session):
    first, second = await make_endpoint(session), await make_endpoint(session)

    assert first.secret != second.secret


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"url": "ftp://archive.example/x"}, "url", "must be an absolute http:// or https:// URL, got 'ftp:"),
    ({"url": "/hooks/relative"}, "url", "absolute"),
    ({"url": "archive.example/hooks"}, "url", "absolute"),
    ({"url": "https://user:pw@archive.example/"}, "url", "credentials in the URL are refused"),
    ({"event_types": ["call.completed", "call.started"]}, "event_types", "unknown event type 'call.started'; known: "),
    ({"event_types": []}, "event_types", "at least 1 item"),
    ({"client_ids": []}, "client_ids", "at least 1 item"),
    ({"max_in_flight": 0}, "max_in_flight", "greater than or equal to 1"),
    ({"max_in_flight": 33}, "max_in_flight", "less than or equal to 32"),
])
def test_given_input_bad_in_itself_then_the_schema_refuses_it_naming_the_field(fields, field, words):
    with pytest.raises(ValidationError) as refused:
        _create(**fields)

    error, = refused.value.errors()
    assert error["loc"] == (field,) and words in error["msg"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"url": None}, "url", "may not be null"),
    ({"event_types": None}, "event_types", "may not be null"),
    ({"url": "mailto:ops@example.com"}, "url", "absolute http"),
    ({"max_in_flight": 64}, "max_in_flight", "less than or equal to 32"),
    ({"disabled_reason": "why not", "enabled": True}, "disabled_reason", "only with enabled: false"),
    ({"disabled_reason": "why not"}, "disabled_reason", "only with enabled: false"),
])
def test_given_a_change_bad_in_itself_then_the_schema_refuses_it_naming_the_field(change, field, words):
    with pytest.raises(ValidationError) as refused:
        EndpointUpdate(**change)

    error, = refused.value.errors()
    assert error["loc"] == (field,) and words in error["msg"]


async def test_given_a_client_that_does_not_exist_then_refused_naming_it_and_nothing_written(session, people):
    client = await make_client(session)

    with pytest.raises(InvalidInput, match=r"client_ids: no client with id 999998, 999999") as refused:
        await service.create_endpoint(session, actor=people["admin"], now=NOW,
                                      data=_create(client_ids=[999999, client.id, 999998]))

    assert refused.value.extra == {"field": "client_ids", "missing": [999998, 999999]}
    assert await count(session, WebhookEndpoint) == 0 and await audit_entries(session) == []


async def test_given_an_owner_who_is_not_an_integration_user_then_refused(session, people):
    with pytest.raises(InvalidInput, match="owner_id: user .* is not an integration user"):
        await service.create_endpoint(session, actor=people["admin"], now=NOW,
                                      data=_create(owner_id=people["agent"].user_id))

    assert await count(session, WebhookEndpoint) == 0


async def test_given_an_endpoint_when_disabled_then_the_reason_is_kept_and_re_enabling_clears_it(session, people):
    endpoint = await make_endpoint(session)

    await service.update_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                  data=EndpointUpdate(enabled=False, disabled_reason="receiver moving"))
    disabled = (endpoint.active, endpoint.disabled_reason)
    await service.update_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                  data=EndpointUpdate(enabled=True))

    assert disabled == (False, "receiver moving")
    assert endpoint.active and endpoint.disabled_reason is None
    updates = await audit_entries(session, action="webhook_endpoint.update")
    assert [e.detail for e in updates] == [{"active": False, "disabled_reason": "receiver moving"},
                                           {"active": True, "disabled_reason": None}]


async def test_given_a_disable_without_reason_then_who_did_it_is_the_reason(session, people):
    endpoint = await make_endpoint(session)

    await service.update_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                  data=EndpointUpdate(enabled=False))

    assert endpoint.disabled_reason == "disabled by admin-x"


async def test_given_an_update_then_only_the_fields_given_change(session, people):
    client = await make_client(session)
    endpoint = await make_endpoint(session, description="old", client_ids=[client.id])

    await service.update_endpoint(session, actor=people["admin"], now=NOW + dt.timedelta(minutes=5),
                                  endpoint_id=endpoint.id,
                                  data=EndpointUpdate(event_types=["call.completed", "call.completed"],
                                                      max_in_flight=2))

    assert endpoint.event_types == ["call.completed"] and endpoint.max_in_flight == 2
    assert endpoint.description == "old" and endpoint.client_ids == [client.id]
    assert endpoint.updated_at == NOW + dt.timedelta(minutes=5)


async def test_given_client_ids_null_in_an_update_then_every_clients_events_go_to_it(session, people):
    client = await make_client(session)
    endpoint = await make_endpoint(session, client_ids=[client.id])

    await service.update_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                  data=EndpointUpdate(client_ids=None))

    assert endpoint.client_ids is None


@pytest.mark.parametrize(("change", "field"), [({"client_ids": [999999]}, "client_ids"),
                                             ({"owner_id": 999999}, "owner_id")])
async def test_given_a_change_the_database_refutes_then_refused_naming_the_field_and_nothing_changed(
        session, people, change, field):
    endpoint = await make_endpoint(session, description="kept")

    with pytest.raises(InvalidInput) as refused:
        await service.update_endpoint(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                      data=EndpointUpdate(description="changed", **change))

    assert refused.value.extra["field"] == field
    assert endpoint.description == "kept" and endpoint.client_ids is None and endpoint.owner_id is None
    assert await audit_entries(session, action="webhook_endpoint.update") == []


async def test_given_a_rotation_then_the_old_secret_signs_until_the_overlap_ends_and_the_new_one_is_returned_once(
        session, people):
    endpoint = await make_endpoint(session)
    old = endpoint.secret

    issued = await service.rotate_secret(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id)

    assert issued.secret != old and issued.secret.startswith("whsec_") and endpoint.secret == issued.secret
    assert endpoint.previous_secret == old and endpoint.previous_secret_until == NOW + dt.timedelta(hours=24)
    entry, = await audit_entries(session, action="webhook_endpoint.rotate_secret")
    assert entry.entity_id == str(endpoint.id)
    text = await audit_text(session)
    assert old not in text and issued.secret not in text


@pytest.mark.parametrize(("rotated_ago", "old_verifies"), [(dt.timedelta(hours=1, minutes=59), True),
                                                           (dt.timedelta(hours=2), False)])
async def test_given_a_rotation_then_a_receiver_holding_the_old_secret_verifies_until_the_overlap_ends(
        session, people, rotated_ago, old_verifies):
    now = dt.datetime.now(dt.timezone.utc)  # the receiver's library checks the timestamp against its clock
    endpoint = await make_endpoint(session)
    old = endpoint.secret
    await service.rotate_secret(session, actor=people["admin"], now=now - rotated_ago, endpoint_id=endpoint.id,
                                overlap=dt.timedelta(hours=2))
    signer = Signer(endpoint.secret, previous=endpoint.previous_secret, previous_until=endpoint.previous_secret_until)
    body = b'{"type": "recording.stored"}'
    headers = signer.headers(msg_id="msg_1", body=body, at=now)

    def verifies(secret: str) -> bool:
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    assert (verifies(old), verifies(endpoint.secret)) == (old_verifies, True)


async def test_given_an_overlap_of_zero_then_the_old_secret_is_dropped_at_once(session, people):
    endpoint = await make_endpoint(session)

    await service.rotate_secret(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id,
                                overlap=dt.timedelta(0))

    assert endpoint.previous_secret is None and endpoint.previous_secret_until is None


@pytest.mark.parametrize("overlap", [dt.timedelta(days=7, seconds=1), dt.timedelta(hours=-1)])
async def test_given_an_overlap_out_of_bounds_then_refused_and_the_secret_kept(session, people, overlap):
    endpoint = await make_endpoint(session)
    secret = endpoint.secret

    with pytest.raises(InvalidInput, match="overlap: must be within 0 and 7 days"):
        await service.rotate_secret(session, actor=people["admin"], now=NOW, endpoint_id=endpoint.id, overlap=overlap)

    assert endpoint.secret == secret and endpoint.previous_secret is None


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_given_staff_but_not_admin_then_every_endpoint_function_is_refused(session, people, role):
    endpoint = await make_endpoint(session)
    actor = people[role]

    calls = [
        service.create_endpoint(session, actor=actor, now=NOW, data=_create()),
        service.list_endpoints(session, actor=actor),
        service.get_endpoint(session, actor=actor, endpoint_id=endpoint.id),
        service.update_endpoint(session, actor=actor, now=NOW, endpoint_id=endpoint.id,
                                data=EndpointUpdate(enabled=False)),
        service.rotate_secret(session, actor=actor, now=NOW, endpoint_id=endpoint.id),
    ]
    for call in calls:
        with pytest.raises(Forbidden, match=f"role '{role}'"):
            await call

    assert endpoint.active and await count(session, WebhookEndpoint) == 1


async def test_given_an_integration_user_then_it_reads_its_own_endpoints_only_and_may_not_change_them(
        session, people):
    mine = await make_endpoint(session, owner_id=people["integration"].user_id)
    theirs = await make_endpoint(session, owner_id=people["integration-2"].user_id)
    actor = people["integration"]

    listed = await service.list_endpoints(session, actor=actor)
    read = await service.get_endpoint(session, actor=actor, endpoint_id=mine.id)

    assert [e.id for e in listed] == [mine.id] and read is mine
    with pytest.raises(Forbidden, match=f"endpoint {theirs.id} is not one of yours"):
        await service.get_endpoint(session, actor=actor, endpoint_id=theirs.id)
    with pytest.raises(Forbidden, match="admin only"):
        await service.rotate_secret(session, actor=actor, now=NOW, endpoint_id=mine.id)
    with pytest.raises(Forbidden, match="admin only"):
        await service.create_endpoint(session, actor=actor, now=NOW, data=_create())
    with pytest.raises(Forbidden, match="admin only"):
        await service.update_endpoint(session, actor=actor, now=NOW, endpoint_id=mine.id,
                                      data=EndpointUpdate(event_types=[EventType.CALL_COMPLETED.value]))


async def test_given_no_such_endpoint_then_not_found_names_it(session, people):
    with pytest.raises(NotFound, match="integration endpoint 4242 not found"):
        await service.get_endpoint(session, actor=people["admin"], endpoint_id=4242)
