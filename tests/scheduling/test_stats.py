"""The daily statistics (催收记录统计表) per agent, team and in total, with KPIs and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from dialer.agents.models import AgentSession
from dialer.calls.models import CallState
from dialer.compliance.models import Channel, Decision
from dialer.notes.models import Payment, PromiseStatus
from scheduling.stats import daily_report, render_csv
from tests.factories import make_case, make_client, make_seat, make_user
from tests.scheduling.helpers import make_call, make_promise, sh

DAY = dt.date(2026, 11, 24)
NOW = sh(2026, 11, 24, 20)


async def _day_of_work(session):
    client = await make_client(session)
    wang = await make_user(session, username="wang", team="team-a")
    li = await make_user(session, username="li", team="team-b")
    await make_user(session, username="idle", team="team-a")
    case = await make_case(session, client=client, assigned_agent=wang)
    other = await make_case(session, client=client, assigned_agent=wang)
    await make_case(session, client=client, assigned_agent=li)

    await make_call(session, case=case, agent_id=wang.id, at=sh(2026, 11, 24, 9), answered=True, talk_s=100)
    await make_call(session, case=case, agent_id=wang.id, at=sh(2026, 11, 24, 10), answered=True, talk_s=200)
    await make_call(session, case=other, agent_id=wang.id, at=sh(2026, 11, 24, 11))
    await make_call(session, case=other, agent_id=wang.id, at=sh(2026, 11, 24, 12), state=CallState.BLOCKED)
    await make_call(session, case=other, agent_id=wang.id, at=sh(2026, 11, 23, 23, 59), answered=True)  # yesterday
    await make_call(session, case=other, agent_id=li.id, at=sh(2026, 11, 24, 15))

    await make_promise(session, case=case, due_date=dt.date(2026, 11, 30), amount="1500.00",
                       created_at=sh(2026, 11, 24, 9, 5), created_by_id=wang.id)
    kept = await make_promise(session, case=other, due_date=DAY, amount="800.00", created_at=sh(2026, 11, 20, 9),
                              created_by_id=wang.id, status=PromiseStatus.KEPT, settled_at=sh(2026, 11, 24, 14))
    await make_promise(session, case=other, due_date=dt.date(2026, 11, 23), amount="50.00", created_at=sh(2026, 11, 19, 9),
                       created_by_id=wang.id, status=PromiseStatus.BROKEN, settled_at=sh(2026, 11, 24))
    for reference, amount in (("T1", "300.00"), ("T2", "500.00")):
        session.add(Payment(client_id=client.id, case_id=other.id, promise_id=kept.id, amount=Decimal(amount),
                            paid_at=sh(2026, 11, 24, 13), reference=reference))

    for rules in (["calling_window"], ["stop_contact", "calling_window"]):
        session.add(Decision(client_id=client.id, agent_id=wang.id, channel=Channel.CALL, at=sh(2026, 11, 24, 10),
                             allowed=False, dry_run=False, violations=[{"rule": r} for r in rules]))
    session.add(Decision(client_id=client.id, agent_id=wang.id, channel=Channel.CALL, at=sh(2026, 11, 24, 10),
                         allowed=False, dry_run=True, violations=[{"rule": "calling_window"}]))  # a dry run: not a refusal
    seat = await make_seat(session)
    session.add(AgentSession(agent_id=wang.id, seat_id=seat.id, started_at=sh(2026, 11, 24, 8), ended_at=sh(2026, 11, 24, 12)))
    await session.flush()
    return wang, li


async def test_given_a_day_of_work_then_per_agent_team_and_total_figures_and_kpis(session):
    wang, li = await _day_of_work(session)

    report = await daily_report(session, day=DAY, now=NOW, time_zone="Asia/Shanghai")

    rows = {(r.scope, r.agent or r.team): r.as_dict() for r in report.rows}
    assert [(r.scope, r.agent or r.team) for r in report.rows] == [
        ("agent", "idle"), ("agent", "wang"), ("agent", "li"), ("team", "team-a"), ("team", "team-b"), ("total", None),
    ]
    w = rows[("agent", "wang")]
    assert {k: w[k] for k in ("calls", "connects", "talk_seconds", "cases_called", "assigned_cases", "promises", "kept",
                              "broken", "payments", "logged_in_seconds")} == {
        "calls": 3, "connects": 2, "talk_seconds": 300, "cases_called": 2, "assigned_cases": 2, "promises": 1,
        "kept": 1, "broken": 1, "payments": 2, "logged_in_seconds": 4 * 3600,
    }
    assert (w["promised_amount"], w["collected"]) == (Decimal("1500.00"), Decimal("800.00"))
    assert w["refusals"] == {"calling_window": 2, "stop_contact": 1}
    assert w["kpis"] == {
        "connect_rate": 0.6667, "ptp_rate": 0.5, "kept_rate": 0.5, "penetration": 1.0,
        "average_payment": Decimal("400.00"), "collected_per_hour": Decimal("200.00"), "kept_per_hour": 0.25,
    }
    assert rows[("agent", "li")]["calls"] == 1 and rows[("agent", "li")]["kpis"]["connect_rate"] == 0.0
    assert rows[("agent", "idle")]["kpis"]["connect_rate"] is None  # nothing to divide by
    assert rows[("team", "team-a")]["calls"] == 3 and rows[("total", None)]["calls"] == 4


async def test_given_team_filter_then_only_that_teams_agents(session):
    await _day_of_work(session)

    report = await daily_report(session, day=DAY, now=NOW, team="team-b")

    assert [(r.scope, r.agent or r.team) for r in report.rows] == [("agent", "li"), ("team", "team-b"), ("total", "team-b")]


async def test_the_report_as_csv_in_english_and_chinese(session):
    await _day_of_work(session)
    report = await daily_report(session, day=DAY, now=NOW)

    english = list(csv.DictReader(io.StringIO(render_csv(report))))
    chinese = list(csv.reader(io.StringIO(render_csv(report, language="zh"))))

    wang = next(r for r in english if r["agent"] == "wang")
    assert (wang["day"], wang["calls"], wang["collected"], wang["connect_rate"]) == ("2026-11-24", "3", "800.00", "0.6667")
    assert (wang["refusals_total"], wang["refusals:calling_window"], wang["refusals:stop_contact"]) == ("3", "2", "1")
    assert english[0]["connect_rate"] == ""  # idle: no calls, no rate
    assert chinese[0][:5] == ["日期", "范围", "组别", "坐席", "拨打量"] and "拒拨:calling_window" in chinese[0]
