"""The auditor reads the evidence of every team: calls and their pages, the ledger, the audit log,
notes, stop-contacts and recordings (each recording reached is audited in the auditor's name)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.audit.models import AuditEntry
from tests.auditor.conftest import Floor, at


async def _get(api, path: str, headers: dict[str, str], **params) -> dict:
    answer = await api.get(path, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_given_calls_of_two_teams_when_the_auditor_lists_them_then_every_call_with_its_page(api, floor: Floor):
    listed = await _get(api, "/v1/calls", floor.headers["auditor"])
    page_b = await _get(api, f"/v1/calls/{floor.calls['b_1030']}/timeline", floor.headers["auditor"])
    page_a = await _get(api, f"/v1/calls/{floor.calls['friend_1000']}/timeline", floor.headers["auditor"])
    call_b = await _get(api, f"/v1/calls/{floor.calls['b_1030']}", floor.headers["auditor"])

    assert {item["id"] for item in listed["items"]} == set(floor.calls.values())
    assert page_b["decision"]["id"] == floor.decisions["b_1030"] and page_b["decision"]["allowed"] is True
    assert page_a["recordings"][0]["sha256"] == floor.sha256
    assert call_b["agent_id"] == floor.users["agent-3"].id


async def test_given_the_ledger_when_the_auditor_reads_it_then_every_decision_newest_first_with_filters(
        api, floor: Floor):
    everything = await _get(api, "/v1/audit/decisions", floor.headers["auditor"])
    refused = await _get(api, "/v1/audit/decisions", floor.headers["auditor"], allowed="false", dry_run="false")
    client_b = await _get(api, "/v1/audit/decisions", floor.headers["auditor"], client_id=floor.client_b)
    friend_range = await _get(api, "/v1/audit/decisions", floor.headers["auditor"], party_id=floor.friend_a,
                              **{"from": at(5).isoformat(), "to": at(60).isoformat()})

    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(floor.decisions.values(), reverse=True)
    assert [item["id"] for item in refused["items"]] == [floor.decisions["friend_1020"]]
    assert refused["items"][0]["rule_results"]["third_party_hourly_cap"] == "fail"
    assert [v["rule"] for v in refused["items"][0]["violations"]] == ["third_party_hourly_cap"]
    assert refused["items"][0]["policy_version"] == 1
    assert [item["id"] for item in client_b["items"]] == [floor.decisions["b_1030"]]
    assert [item["id"] for item in friend_range["items"]] == [floor.decisions["friend_1020"],
                                                              floor.decisions["friend_1010"]]


async def test_given_pages_of_two_when_followed_then_every_decision_once(api, floor: Floor):
    seen, before = [], None
    while True:
        page = await _get(api, "/v1/audit/decisions", floor.headers["admin"], limit=2,
                          **({"before": before} if before else {}))
        seen += [item["id"] for item in page["items"]]
        before = page["next_before"]
        if before is None:
            break

    assert seen == sorted(floor.decisions.values(), reverse=True)


async def test_given_a_supervisor_when_reading_the_ledger_then_only_their_teams_decisions(api, floor: Floor):
    theirs = await _get(api, "/v1/audit/decisions", floor.headers["supervisor"])

    assert {item["id"] for item in theirs["items"]} == {floor.decisions[name] for name in (
        "friend_1000", "friend_1010", "friend_1020", "debtor_a_dry_run")}


async def test_given_the_audit_log_when_the_auditor_reads_it_then_entries_of_every_team_by_filter(api, floor: Floor):
    stops = await _get(api, "/v1/audit/log", floor.headers["auditor"], action="stop_contact.add")
    by_actor = await _get(api, "/v1/audit/log", floor.headers["auditor"], actor_id=floor.users["agent-3"].id)
    by_entity = await _get(api, "/v1/audit/log", floor.headers["auditor"], entity="stop_contact",
                           entity_id=str(floor.stop_id))
    nothing_yet = await _get(api, "/v1/audit/log", floor.headers["auditor"], to="2000-01-01T00:00:00+00:00")

    assert len(stops["items"]) == 1
    entry = stops["items"][0]
    assert (entry["actor_id"], entry["actor_name"], entry["actor_role"]) == (floor.users["agent-3"].id,
                                                                            "Agent Three", "agent")
    assert entry["entity_id"] == str(floor.stop_id) and entry["detail"]["reason"] == "asked not to be called"
    assert [e["id"] for e in by_actor["items"]] == [entry["id"]] == [e["id"] for e in by_entity["items"]]
    assert nothing_yet["items"] == []


async def test_given_notes_and_stop_contacts_of_another_team_then_the_auditor_reads_them(api, floor: Floor):
    note = await _get(api, f"/v1/calls/{floor.calls['b_1030']}/wrap-up", floor.headers["auditor"])
    case_notes = await _get(api, f"/v1/cases/{floor.case_a}/notes", floor.headers["auditor"])
    stop_list = await _get(api, "/v1/stop-contacts", floor.headers["auditor"], client_id=floor.client_b)

    assert note["call_id"] == floor.calls["b_1030"] and note["result"] == "note of b_1030"
    assert {n["call_id"] for n in case_notes["items"]} == {floor.calls["friend_1000"], floor.calls["friend_1010"]}
    assert [s["id"] for s in stop_list["items"]] == [floor.stop_id]
    assert stop_list["items"][0]["party_id"] == floor.debtor_b


async def test_given_a_recording_when_the_auditor_listens_then_the_media_and_an_audit_row_in_their_name(
        app, api, floor: Floor):
    media = await api.get(f"/v1/recordings/{floor.recording_id}/media", headers=floor.headers["auditor"])
    facts = await _get(api, f"/v1/recordings/{floor.recording_id}", floor.headers["auditor"])
    link = await api.post(f"/v1/recordings/{floor.recording_id}/link", json={}, headers=floor.headers["auditor"])

    assert media.status_code == 200 and media.content.startswith(b"RIFF")
    assert facts["sha256"] == floor.sha256
    assert link.status_code == 403  # a signed link outlives the read: the auditor may not make one
    async with app.state.container.sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "recording",
                                                         AuditEntry.entity_id == str(floor.recording_id))
                                .order_by(AuditEntry.id))).scalars().all()
    assert [(r.action, r.actor_id, r.actor_role, r.detail["status"]) for r in rows] == [
        ("recording.media", floor.users["auditor"].id, "auditor", 200),
        ("recording.read", floor.users["auditor"].id, "auditor", 200),
    ]
    assert rows[0].detail["who"] == floor.users["auditor"].username


async def test_given_the_auditor_then_the_client_reports_are_read_and_a_calls_recording_has_no_signed_link(
        api, floor: Floor):
    reports = await api.get("/v1/client-reports", headers=floor.headers["auditor"])
    facts = await _get(api, f"/v1/recordings/{floor.recording_id}", floor.headers["auditor"])
    page = await _get(api, f"/v1/calls/{facts['call_id']}/timeline", floor.headers["auditor"])
    admin_page = await _get(api, f"/v1/calls/{facts['call_id']}/timeline", floor.headers["admin"])

    assert reports.status_code == 200 and "items" in reports.json()
    [mine], [theirs] = page["recordings"], admin_page["recordings"]
    assert mine["links"]["media"] == theirs["links"]["media"] and mine["links"]["signed_link"] is None
    assert theirs["links"]["signed_link"].endswith("/link")


@pytest.mark.parametrize(("role", "path"), [
    ("agent", "/v1/audit/decisions"), ("agent", "/v1/audit/log"), ("supervisor", "/v1/audit/log"),
    ("integration", "/v1/audit/decisions"),
])
async def test_given_a_role_not_admitted_then_403(api, headers, role, path):
    answer = await api.get(path, headers=headers[role])

    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/audit/log", {"from": "2026-11-24T10:00:00"}, "from"),
    ("/v1/audit/log", {"from": "2026-11-24T10:00:00+08:00", "to": "2026-11-24T09:00:00+08:00"}, "to"),
    ("/v1/audit/log", {"actor_id": "0"}, "actor_id"),
    ("/v1/audit/log", {"limit": "501"}, "limit"),
    ("/v1/audit/decisions", {"allowed": "maybe"}, "allowed"),
    ("/v1/audit/decisions", {"party_id": str(2**63)}, "party_id"),
    ("/v1/audit/decisions", {"colour": "red"}, "colour"),
])
async def test_given_a_bad_filter_then_422_naming_it(api, headers, path, params, field):
    answer = await api.get(path, params=params, headers=headers["auditor"])

    assert answer.status_code == 422, answer.text
    assert field in [f["field"] for f in answer.json()["fields"]]
