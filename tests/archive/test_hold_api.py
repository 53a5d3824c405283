"""Legal holds and the completeness audit through the API: roles, errors, and what is kept."""

from __future__ import annotations

from sqlalchemy import select

from dialer.audit.models import AuditEntry
from tests.archive.records import answered_call, stored_recording
from tests.factories import make_case


async def _case_with_recording(app):
    async with app.state.container.sessions() as session:
        case = await make_case(session)
        recording = await stored_recording(session, app.state.container.storage,
                                           call=await answered_call(session, case=case))
        await session.commit()
        return case, recording


async def test_given_a_supervisor_when_holding_a_case_then_held_listed_and_lifted_with_reasons(api, app, headers):
    case, recording = await _case_with_recording(app)

    placed = await api.post("/v1/legal-holds", headers=headers["supervisor"],
                            json={"scope": "case", "scope_id": case.id, "reason": "bank's dispute D-7"})
    assert placed.status_code == 201, placed.text
    assert placed.json()["recordings_changed"] == 1
    listed = await api.get("/v1/legal-holds", headers=headers["admin"])
    assert [h["reason"] for h in listed.json()] == ["bank's dispute D-7"]

    lifted = await api.post(f"/v1/legal-holds/{placed.json()['id']}/lift", headers=headers["admin"],
                            json={"reason": "dispute closed"})
    assert lifted.status_code == 200 and lifted.json()["lift_reason"] == "dispute closed"
    assert lifted.json()["recordings_changed"] == 1
    assert (await api.get("/v1/legal-holds", headers=headers["admin"])).json() == []
    async with app.state.container.sessions() as session:
        actions = (await session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("legal_hold.%")).order_by(AuditEntry.id))).scalars().all()
    assert actions == ["legal_hold.place", "legal_hold.lift"]


async def test_given_an_agent_or_bad_input_then_refused_and_nothing_held(api, app, headers):
    case, _ = await _case_with_recording(app)

    agent = await api.post("/v1/legal-holds", headers=headers["agent"],
                           json={"scope": "case", "scope_id": case.id, "reason": "x"})
    assert agent.status_code == 403
    unknown = await api.post("/v1/legal-holds", headers=headers["admin"],
                             json={"scope": "case", "scope_id": 987654, "reason": "x"})
    assert unknown.status_code == 404 and "no case 987654 to hold" in unknown.json()["detail"]
    blank = await api.post("/v1/legal-holds", headers=headers["admin"],
                           json={"scope": "case", "scope_id": case.id, "reason": "   "})
    assert blank.status_code == 422 and "reason" in blank.text
    wrong_scope = await api.post("/v1/legal-holds", headers=headers["admin"],
                                 json={"scope": "client", "scope_id": case.id, "reason": "x"})
    assert wrong_scope.status_code == 422
    assert (await api.get("/v1/legal-holds?all=true", headers=headers["admin"])).json() == []


async def test_given_a_day_when_audited_over_the_api_then_its_gaps_listed(api, app, headers):
    _, recording = await _case_with_recording(app)

    report = await api.get("/v1/audit/recordings", params={"day": "2026-11-24"}, headers=headers["supervisor"])

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["calls"] == 1 and body["recordings_verified"] == 1
    assert body["gaps_by_kind"] == {"call_not_told": 1}  # built directly: no call.completed written
    assert (await api.get("/v1/audit/recordings", params={"day": "2026-11-24"},
                          headers=headers["agent"])).status_code == 403
