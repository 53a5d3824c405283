"""GET /v1/recordings/{id}: a recording's metadata, for supervisors, admins and integrations; audited."""

from __future__ import annotations

import hashlib

from dialer.calls.models import RecordingStatus
from tests.recordings_api.conftest import wav


async def test_given_a_stored_recording_when_a_supervisor_reads_it_then_its_metadata_and_an_audit_row(
        api, headers, users, make_recording, audit_rows):
    content = wav(channels=2)
    recording = await make_recording(content=content, carrier="sip")

    response = await api.get(f"/v1/recordings/{recording.id}", headers=headers["supervisor"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": recording.id, "call_id": recording.call_id, "carrier": "sip", "carrier_call_id": body["carrier_call_id"],
        "status": "stored", "content_type": "audio/wav", "channels": 2,
        "channel_sides": {"1": "agent", "2": "party"}, "duration_s": 3, "size_bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(), "partial": False,
        "stored_at": "2026-11-24T03:01:00Z", "retain_until": "2029-11-25", "legal_hold": False,
        "purged_at": None, "purge_rule": None,
        "media_path": f"/v1/recordings/{recording.id}/media",
    }
    assert body["carrier_call_id"].startswith("CA-")
    [row] = await audit_rows()
    assert (row.action, row.entity_id, row.actor_id, row.actor_role) == (
        "recording.read", str(recording.id), users["supervisor"].id, "supervisor")
    assert row.detail == {"who": "supervisor-1", "status": 200}


async def test_given_a_twilio_recording_and_a_voicemail_when_read_then_the_channel_sides_follow_the_carrier(
        api, headers, make_recording):
    two = await make_recording(carrier="twilio", channels=2)
    one = await make_recording(content=wav(channels=1), carrier="twilio", channels=1)

    sides = [(await api.get(f"/v1/recordings/{r.id}", headers=headers["integration"])).json()["channel_sides"]
             for r in (two, one)]

    assert sides == [{"1": "party", "2": "agent"}, {"1": "party"}]


async def test_given_each_role_when_it_reads_a_recording_then_agents_are_refused_with_the_reason(
        api, headers, make_recording):
    recording = await make_recording()

    answers = {role: await api.get(f"/v1/recordings/{recording.id}", headers=headers[role])
               for role in ("supervisor", "admin", "integration", "auditor", "agent")}
    anonymous = await api.get(f"/v1/recordings/{recording.id}")

    assert {role: r.status_code for role, r in answers.items()} == {
        "supervisor": 200, "admin": 200, "integration": 200, "auditor": 200, "agent": 403}
    assert answers["agent"].json() == {
        "error": "forbidden",
        "detail": "role 'agent' may not do this; allowed: admin, auditor, integration, supervisor"}
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"


async def test_given_an_integration_api_key_when_it_reads_a_recording_then_it_is_admitted_and_audited_as_the_key(
        api, headers, users, make_recording, audit_rows):
    created = await api.post(f"/v1/users/{users['integration'].id}/api-keys", json={"name": "archive"},
                             headers=headers["admin"])
    recording = await make_recording()

    response = await api.get(f"/v1/recordings/{recording.id}", headers={"X-API-Key": created.json()["key"]})

    assert response.status_code == 200
    [row] = await audit_rows()
    assert (row.actor_id, row.actor_role, row.detail["who"]) == (users["integration"].id, "integration", "integration-1")


async def test_given_a_pending_recording_when_read_then_its_metadata_says_pending(api, headers, make_recording):
    recording = await make_recording(status=RecordingStatus.PENDING)

    body = (await api.get(f"/v1/recordings/{recording.id}", headers=headers["admin"])).json()

    assert (body["status"], body["sha256"], body["size_bytes"], body["stored_at"]) == ("pending", None, None, None)


async def test_given_no_such_recording_when_read_then_404_with_a_code_and_the_attempt_audited(
        api, headers, audit_rows):
    response = await api.get("/v1/recordings/9999", headers=headers["admin"])

    assert response.status_code == 404
    assert response.json() == {"error": "recording_not_found", "detail": "no recording 9999"}
    [row] = await audit_rows()
    assert (row.action, row.entity_id, row.detail["status"]) == ("recording.read", "9999", 404)


async def test_given_the_router_when_the_openapi_document_is_built_then_it_lists_the_recordings_operations(api):
    paths = (await api.get("/openapi.json")).json()["paths"]

    assert set(paths["/v1/recordings/{recording_id}/media"]) >= {"get", "head"}
    assert "expires" in {p["name"] for p in paths["/v1/recordings/{recording_id}/media"]["get"]["parameters"]}
    assert "post" in paths["/v1/recordings/{recording_id}/link"] and "get" in paths["/v1/recordings/{recording_id}"]
