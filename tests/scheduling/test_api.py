"""The scheduling endpoints over HTTP: tasks, under-minimum, payments, daily report, running a job."""

from __future__ import annotations

import datetime as dt

import pytest

from dialer.auth.models import Role
from scheduling.endpoints import router
from tests.factories import make_case, make_client, make_user
from tests.clocks import DrivenClock
from tests.scheduling.helpers import debtor_of, make_call, make_promise, make_stop, sh

NOW = sh(2026, 11, 24, 10)


@pytest.fixture
async def world(app, headers, users):
    """The router mounted under /v1, a fixed clock, and a case with a promise due tomorrow."""
    app.include_router(router, prefix="/v1")
    app.state.container.clock = DrivenClock(NOW)  # after the tokens were issued with the real clock
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        other_agent = await make_user(s, role=Role.AGENT, username="agent-2")
        case = await make_case(s, client=client, account_ref="ACC-1", assigned_agent=users["agent"])
        promise = await make_promise(s, case=case, due_date=dt.date(2026, 11, 25), amount="900.00",
                                     created_at=sh(2026, 11, 23, 9), created_by_id=users["agent"].id)
        stopped = await make_case(s, client=client, account_ref="ACC-2", assigned_agent=other_agent)
        await make_stop(s, case=stopped, party=await debtor_of(s, stopped))
        await make_call(s, case=case, agent_id=users["agent"].id, at=sh(2026, 11, 24, 9), answered=True, talk_s=60)
        await s.commit()
    return {"client_id": client.id, "promise_id": promise.id}


async def test_given_jobs_run_then_agent_sees_and_closes_own_tasks_only(api, headers, world):
    run = await api.post("/v1/scheduler/jobs/promises/run", headers=headers["admin"])
    assert run.status_code == 200 and run.json()["ran"] and run.json()["summary"]["tasks_created"] == 4
    await api.post("/v1/scheduler/jobs/follow_ups/run", headers=headers["admin"])

    mine = await api.get("/v1/tasks", params={"kind": "ptp_due"}, headers=headers["agent"])
    everyone = await api.get("/v1/tasks", headers=headers["supervisor"])

    assert mine.status_code == 200
    assert [t["dedupe_key"] for t in mine.json()["items"]] == [f"ptp_due:{world['promise_id']}:{c}" for c in ("09:00", "12:30", "18:30")]
    assert {t["kind"] for t in everyone.json()["items"]} >= {"ptp_reminder", "ptp_due", "min_frequency"}
    task_id = mine.json()["items"][0]["id"]
    done = await api.patch(f"/v1/tasks/{task_id}", json={"status": "done"}, headers=headers["agent"])
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["done_at"] is not None
    again = await api.patch(f"/v1/tasks/{task_id}", json={"status": "cancelled"}, headers=headers["agent"])
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    unknown = await api.post("/v1/scheduler/jobs/nope/run", headers=headers["admin"])
    assert unknown.status_code == 404


async def test_under_minimum_list_names_the_reason_for_supervisors(api, headers, world):
    response = await api.get("/v1/reports/under-minimum", headers=headers["supervisor"])
    forbidden = await api.get("/v1/reports/under-minimum", headers=headers["agent"])

    assert response.status_code == 200 and forbidden.status_code == 403
    [stopped] = [u for u in response.json() if u["account_ref"] == "ACC-2"]
    assert stopped["will_miss"] and stopped["reasons"][0]["code"] == "stop_contact"
    assert stopped["period"] == "2026-W48" and stopped["required"] == 3


async def test_payments_import_by_api_marks_the_promise_kept_and_refuses_bad_input(api, headers, world):
    body = {"client_id": world["client_id"], "payments": [
        {"account_ref": "ACC-1", "amount": "900.00", "paid_at": "2026-11-24T09:30:00+08:00", "reference": "TX1"},
    ]}
    created = await api.post("/v1/payments/import", json=body, headers=headers["integration"])
    repeat = await api.post("/v1/payments/import", json=body, headers=headers["integration"])
    naive = await api.post("/v1/payments/import", headers=headers["integration"], json={
        "client_id": world["client_id"],
        "payments": [{"account_ref": "ACC-1", "amount": "1.00", "paid_at": "2026-11-24T09:30:00", "reference": "TX2"}],
    })
    unknown = await api.post("/v1/payments/import", headers=headers["integration"], json={
        "client_id": world["client_id"],
        "payments": [{"account_ref": "ACC-9", "amount": "1.00", "paid_at": "2026-11-24T01:30:00Z", "reference": "TX3"}],
    })

    assert created.status_code == 201, created.text
    assert created.json()["promises"] == {"kept": 1, "broken": 0, "reopened": 0}
    assert repeat.status_code == 201 and repeat.json()["created"]["duplicates"] == 1
    assert naive.status_code == 422 and "offset" in naive.json()["detail"]
    assert unknown.status_code == 422 and unknown.json()["error"] == "import_rejected"
    assert unknown.json()["errors"] == [{"line": 1, "column": "account_ref",
                                         "reason": "no case with account_ref 'ACC-9' for this client"}]


async def test_payments_import_by_file(api, headers, world):
    content = "account_ref,amount,paid_at,reference\nACC-1,450.00,2026-11-24 09:00,F1\n".encode()
    response = await api.post(f"/v1/clients/{world['client_id']}/imports/payments", headers=headers["supervisor"],
                              files={"file": ("payments.csv", content, "text/csv")})
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"payments": 1, "duplicates": 0, "matched_to_promise": 1}


async def test_daily_report_as_json_and_csv(api, headers, world):
    report = await api.get("/v1/reports/daily", params={"day": "2026-11-24"}, headers=headers["supervisor"])
    today = await api.get("/v1/reports/daily", headers=headers["admin"])
    as_csv = await api.get("/v1/reports/daily.csv", params={"language": "zh"}, headers=headers["supervisor"])
    agent = await api.get("/v1/reports/daily", headers=headers["agent"])

    assert report.status_code == 200 and today.json()["day"] == "2026-11-24"
    [mine] = [r for r in report.json()["rows"] if r["agent"] == "agent-1"]
    assert (mine["calls"], mine["connects"], mine["talk_seconds"], mine["kpis"]["connect_rate"]) == (1, 1, 60, 1.0)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith("\ufeff日期".encode())
    assert 'filename="daily-2026-11-24.csv"' in as_csv.headers["content-disposition"]
    assert agent.status_code == 403
