"""POST /v1/recordings/{id}/link and the media through a signed expiring link: works without
credentials until it expires, refused (403, with the reason) when altered or expired; audited."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from dialer.calls.models import RecordingStatus
from tests.recordings_api.conftest import wav



def _freeze(app) -> dt.datetime:
    """Stop the service's clock at this whole second (the bearer tokens, issued on the real clock, stay valid)."""
    now = app.state.container.clock().replace(microsecond=0)
    app.state.container.clock = lambda: now
    return now


def _path_and_query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}


async def test_given_a_supervisor_when_a_link_is_issued_then_it_serves_the_media_without_credentials(
        api, app, headers, users, make_recording, audit_rows):
    content = wav()
    recording = await make_recording(content=content)
    now = _freeze(app)

    issued = await api.post(f"/v1/recordings/{recording.id}/link", json={"ttl_s": 600}, headers=headers["supervisor"])

    assert issued.status_code == 201, issued.text
    url, expires_at = issued.json()["url"], dt.datetime.fromisoformat(issued.json()["expires_at"])
    assert url.startswith(f"http://127.0.0.1:8000/v1/recordings/{recording.id}/media?expires=")
    assert expires_at == now + dt.timedelta(seconds=600)
    path, query = _path_and_query(url)
    assert query["expires"] == str(int(expires_at.timestamp()))

    whole = await api.get(path, params=query)
    part = await api.get(path, params=query, headers={"Range": "bytes=-100"})

    assert (whole.status_code, whole.content) == (200, content)
    assert (part.status_code, part.content) == (206, content[-100:])
    issue, *fetches = await audit_rows()
    assert (issue.action, issue.actor_id, issue.detail["ttl_s"], issue.detail["status"]) == (
        "recording.link", users["supervisor"].id, 600, 201)
    assert issue.detail["expires_at"] == expires_at.isoformat()
    assert [(f.action, f.actor_id, f.detail["who"], f.detail["via"], f.detail["range"], f.detail["status"])
            for f in fetches] == [("recording.media", None, "signed link", "signed_link", None, 200),
                                  ("recording.media", None, "signed link", "signed_link", "bytes=-100", 206)]


async def test_given_no_body_when_a_link_is_issued_then_it_lasts_an_hour(api, app, headers, make_recording):
    recording = await make_recording()
    now = _freeze(app)

    issued = await api.post(f"/v1/recordings/{recording.id}/link", headers=headers["integration"])

    assert issued.status_code == 201, issued.text
    assert dt.datetime.fromisoformat(issued.json()["expires_at"]) == now + dt.timedelta(hours=1)


async def test_given_a_ttl_out_of_bounds_when_a_link_is_asked_then_422(api, headers, make_recording):
    recording = await make_recording()

    too_long = await api.post(f"/v1/recordings/{recording.id}/link", json={"ttl_s": 7 * 86400 + 1},
                              headers=headers["admin"])
    week = await api.post(f"/v1/recordings/{recording.id}/link", json={"ttl_s": 7 * 86400}, headers=headers["admin"])
    zero = await api.post(f"/v1/recordings/{recording.id}/link", json={"ttl_s": 0}, headers=headers["admin"])

    assert (too_long.status_code, too_long.json()["fields"][0]["field"]) == (422, "ttl_s")
    assert week.status_code == 201 and zero.status_code == 422


async def test_given_a_link_when_it_is_altered_then_403_with_the_reason_and_the_attempt_audited(
        api, headers, make_recording, audit_rows):
    recording = await make_recording()
    other = await make_recording(content=wav(seconds=1))
    issued = await api.post(f"/v1/recordings/{recording.id}/link", headers=headers["admin"])
    path, query = _path_and_query(issued.json()["url"])

    another_path = await api.get(f"/v1/recordings/{other.id}/media", params=query)
    later = await api.get(path, params={**query, "expires": str(int(query["expires"]) + 86400)})
    forged = await api.get(path, params={**query, "signature": query["signature"][:-2] + "AA"})
    no_signature = await api.get(path, params={"expires": query["expires"]})
    malformed = await api.get(path, params={**query, "expires": "soon"})

    refused = [another_path, later, forged, no_signature, malformed]
    assert [(r.status_code, r.json()["error"], r.json()["reason"]) for r in refused] == [
        (403, "link_refused", "bad_signature"), (403, "link_refused", "bad_signature"),
        (403, "link_refused", "bad_signature"), (403, "link_refused", "missing"), (403, "link_refused", "malformed")]
    assert all("this link is refused" in r.json()["detail"] for r in refused)
    rows = (await audit_rows())[1:]
    assert [(r.entity_id, r.detail["via"], r.detail["status"], r.detail["refused"]) for r in rows] == [
        (str(other.id), "signed_link", 403, "bad_signature"), (str(recording.id), "signed_link", 403, "bad_signature"),
        (str(recording.id), "signed_link", 403, "bad_signature"), (str(recording.id), "signed_link", 403, "missing"),
        (str(recording.id), "signed_link", 403, "malformed")]


async def test_given_a_link_when_the_clock_passes_its_expiry_then_403_expired(api, app, headers, make_recording):
    recording = await make_recording()
    container = app.state.container
    now = _freeze(app)
    issued = await api.post(f"/v1/recordings/{recording.id}/link", json={"ttl_s": 60}, headers=headers["admin"])
    path, query = _path_and_query(issued.json()["url"])

    container.clock = lambda: now + dt.timedelta(seconds=59)
    just_before = await api.get(path, params=query)
    container.clock = lambda: now + dt.timedelta(seconds=60)
    at_expiry = await api.get(path, params=query)

    assert just_before.status_code == 200
    assert (at_expiry.status_code, at_expiry.json()["reason"]) == (403, "expired")


async def test_given_a_link_and_a_bearer_token_when_both_are_sent_then_the_link_decides(
        api, headers, make_recording):
    recording = await make_recording()
    issued = await api.post(f"/v1/recordings/{recording.id}/link", headers=headers["admin"])
    path, query = _path_and_query(issued.json()["url"])

    agent_with_link = await api.get(path, params=query, headers=headers["agent"])
    admin_with_bad_link = await api.get(path, params={**query, "signature": "x"}, headers=headers["admin"])

    assert agent_with_link.status_code == 200
    assert admin_with_bad_link.status_code == 403 and admin_with_bad_link.json()["reason"] == "bad_signature"


async def test_given_a_recording_not_there_when_a_link_is_asked_then_refused_clearly(
        api, headers, storage, make_recording):
    pending = await make_recording(status=RecordingStatus.PENDING)
    gone = await make_recording(content=wav(seconds=1))
    await storage.delete(f"sha256/{gone.sha256}")

    answers = [await api.post(f"/v1/recordings/{r_id}/link", headers=headers["admin"])
               for r_id in (pending.id, gone.id, 9999)]
    agent = await api.post(f"/v1/recordings/{pending.id}/link", headers=headers["agent"])

    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (409, "recording_not_stored"), (410, "recording_gone"), (404, "recording_not_found")]
    assert agent.status_code == 403


async def test_given_the_link_an_event_carries_when_its_receiver_follows_it_then_the_media_is_served(
        api, app, make_recording):
    """The outbox's delivery worker signs ``/v1/recordings/{id}/media`` itself (``Container.media_link``)."""
    content = wav(seconds=1)
    recording = await make_recording(content=content)
    container = app.state.container

    path, query = _path_and_query(container.media_link(recording.id, container.clock()))
    response = await api.get(path, params=query)

    assert (response.status_code, response.content) == (200, content)
