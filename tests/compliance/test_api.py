"""The compliance endpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.audit.models import AuditEntry
from dialer.compliance import service as compliance
from dialer.compliance.models import Decision
from dialer.kit.deps import SessionDep

AT = "2026-11-24T12:00:00+08:00"


async def _setup(api, headers, preset="agency-default"):
    cid = (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行", "preset": preset},
                          headers=headers["admin"])).json()["id"]
    case = (await api.post("/v1/cases", json={
        "client_id": cid, "account_ref": "A-1", "total_owed": "1000", "overdue_days": 30, "team": "team-a",
        "parties": [
            {"role": "debtor", "name": "张三", "numbers": [{"number": "13800138000"}]},
            {"role": "third_party", "relation": "friend", "name": "李四", "numbers": [{"number": "13900139000"}]},
        ]}, headers=headers["admin"])).json()
    debtor, friend = case["parties"]
    return cid, debtor, friend


async def test_given_allowed_call_then_decision_with_id_and_version(api, headers):
    _, debtor, _ = await _setup(api, headers)
    response = await api.post("/v1/compliance/check", json={"party_id": debtor["id"], "at": AT}, headers=headers["agent"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is True and body["violations"] == []
    assert body["policy_version"] == 1 and body["decision_id"] > 0
    assert body["number_id"] == debtor["numbers"][0]["id"]


async def test_given_late_evening_then_refused_with_chinese_message_and_next_morning(api, headers):
    _, debtor, _ = await _setup(api, headers)
    response = await api.post("/v1/compliance/check", json={"number_id": debtor["numbers"][0]["id"],
                              "at": "2026-11-24T22:00:00+08:00"}, headers=headers["supervisor"])
    body = response.json()
    assert body["allowed"] is False
    violation = body["violations"][0]
    assert violation["rule"] == "calling_window"
    assert violation["message"] == violation["message_zh"] and "时段" in violation["message"]
    assert dt.datetime.fromisoformat(body["next_allowed_at"]) == dt.datetime.fromisoformat("2026-11-25T08:00:00+08:00")


async def test_given_sms_then_refused_by_default(api, headers):
    _, debtor, _ = await _setup(api, headers)
    body = (await api.post("/v1/compliance/check", json={"party_id": debtor["id"], "channel": "sms", "at": AT},
                           headers=headers["agent"])).json()
    assert [v["rule"] for v in body["violations"]] == ["sms_blocked"]
    assert body["next_allowed_at"] is None


async def test_given_naive_instant_then_422_names_at(api, headers):
    _, debtor, _ = await _setup(api, headers)
    response = await api.post("/v1/compliance/check", json={"party_id": debtor["id"], "at": "2026-11-24T12:00:00"},
                              headers=headers["agent"])
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "at"
    assert "naive" in response.json()["detail"]


async def test_given_both_or_neither_target_then_422(api, headers):
    response = await api.post("/v1/compliance/check", json={"at": AT}, headers=headers["agent"])
    assert response.status_code == 422


async def test_given_imported_history_then_caps_continue(api, headers):
    _, _, friend = await _setup(api, headers)
    number_id = friend["numbers"][0]["id"]
    history = [{"number_id": number_id, "started_at": f"2026-11-20T{9 + i:02d}:00:00+08:00", "outcome": "no_answer"}
               for i in range(6)]
    imported = await api.post("/v1/attempts/import", json={"attempts": history}, headers=headers["integration"])
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"imported": 6}

    body = (await api.post("/v1/compliance/check", json={"number_id": number_id, "at": "2026-11-20T16:00:00+08:00"},
                           headers=headers["agent"])).json()
    assert [v["rule"] for v in body["violations"]] == ["third_party_daily_cap"]
    assert dt.datetime.fromisoformat(body["next_allowed_at"]) == dt.datetime.fromisoformat("2026-11-21T08:00:00+08:00")

    status = (await api.get(f"/v1/parties/{friend['id']}/contact-status", params={"at": "2026-11-20T16:00:00+08:00"},
                            headers=headers["agent"])).json()
    daily = next(c for c in status["caps"] if c["rule"] == "third_party_daily_cap")
    assert (daily["used"], daily["limit"]) == (6, 6)
    assert dt.datetime.fromisoformat(daily["resets_at"]) == dt.datetime.fromisoformat("2026-11-21T00:00:00+08:00")
    hourly = next(c for c in status["caps"] if c["rule"] == "third_party_hourly_cap")
    assert (hourly["used"], hourly["limit"]) == (0, 2)  # the last attempt was at 14:00


async def test_given_bad_history_rows_then_nothing_imported_and_each_named(api, headers):
    _, debtor, _ = await _setup(api, headers)
    number_id = debtor["numbers"][0]["id"]
    rows = [
        {"number_id": number_id, "started_at": "2026-11-20T10:00:00+08:00", "outcome": "busy"},
        {"number_id": 99999, "started_at": "2026-11-20T10:00:00+08:00", "outcome": "busy"},
        {"number_id": number_id, "started_at": "2099-01-01T10:00:00+08:00", "outcome": "busy"},
        {"number_id": number_id, "started_at": "2026-11-20T10:00:00+08:00", "outcome": "busy", "conversation": True},
    ]
    response = await api.post("/v1/attempts/import", json={"attempts": rows}, headers=headers["admin"])
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (1, "number_id"), (2, "started_at"), (3, "conversation")]
    status = (await api.get(f"/v1/parties/{debtor['id']}/contact-status", params={"at": "2026-11-20T12:00:00+08:00"},
                            headers=headers["admin"])).json()
    assert all(c["used"] == 0 for c in status["caps"])


async def test_given_third_party_asks_not_to_be_called_then_blocked_reported_and_lift_audited(api, headers, app):
    cid, _, friend = await _setup(api, headers)
    added = await api.post(f"/v1/parties/{friend['id']}/stop-contact",
                           json={"source": "party_request", "reason": "本人要求不再来电"}, headers=headers["agent"])
    assert added.status_code == 201, added.text
    stop_id = added.json()["id"]

    body = (await api.post("/v1/compliance/check", json={"party_id": friend["id"], "at": AT}, headers=headers["agent"])).json()
    assert [v["rule"] for v in body["violations"]] == ["stop_contact"] and body["next_allowed_at"] is None

    queue = (await api.get("/v1/client-reports", params={"status": "open"}, headers=headers["supervisor"])).json()["items"]
    assert [(q["party_id"], q["stop_contact_id"]) for q in queue] == [(friend["id"], stop_id)]
    reported = await api.post(f"/v1/client-reports/{queue[0]['id']}/reported", json={"reference": "邮件 2026-11-24"},
                              headers=headers["supervisor"])
    assert reported.json()["status"] == "reported"

    by_agent = await api.post(f"/v1/stop-contacts/{stop_id}/lift", json={"reason": "mistake"}, headers=headers["agent"])
    assert by_agent.status_code == 403
    no_reason = await api.post(f"/v1/stop-contacts/{stop_id}/lift", json={}, headers=headers["supervisor"])
    assert no_reason.status_code == 422
    lifted = await api.post(f"/v1/stop-contacts/{stop_id}/lift", json={"reason": "party called back and consented"},
                            headers=headers["supervisor"])
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    body = (await api.post("/v1/compliance/check", json={"party_id": friend["id"], "at": AT}, headers=headers["agent"])).json()
    assert body["allowed"] is True

    async with app.state.container.sessions() as s:
        actions = (await s.execute(select(AuditEntry.action, AuditEntry.actor_role).order_by(AuditEntry.id))).all()
    assert ("stop_contact.add", "agent") in actions and ("stop_contact.lift", "supervisor") in actions


async def test_given_debtor_stop_then_no_client_report_item(api, headers):
    _, debtor, _ = await _setup(api, headers)
    await api.post(f"/v1/parties/{debtor['id']}/stop-contact", json={"source": "hostile", "reason": "辱骂"},
                   headers=headers["agent"])
    queue = (await api.get("/v1/client-reports", headers=headers["supervisor"])).json()["items"]
    assert queue == []


async def test_given_refused_reservation_over_http_then_409_policy_blocked_and_refusal_kept(app, api, headers, users):
    """The dialer's endpoints reserve through the service; a refusal is a 409 whose ledger entry survives."""
    @app.post("/test/reserve/{number_id}")
    async def reserve(number_id: int, session: SessionDep) -> dict:
        checked = await compliance.reserve(session, number_id=number_id, at=dt.datetime.fromisoformat(AT),
                                           agent_id=users["agent"].id, seat_id=None, mode="preview")
        return {"attempt_id": checked.attempt.id}

    _, debtor, _ = await _setup(api, headers)
    response = await api.post(f"/test/reserve/{debtor['numbers'][0]['id']}")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "policy_blocked"
    assert [v["rule"] for v in body["violations"]] == ["seat_only"]
    assert body["next_allowed_at"] is None and body["decision_id"] > 0
    async with app.state.container.sessions() as s:
        kept = await s.get(Decision, body["decision_id"])
    assert kept is not None and kept.allowed is False and kept.dry_run is False
