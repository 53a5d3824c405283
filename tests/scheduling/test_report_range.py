"""The statistics over a range of days, as JSON, CSV and XLSX: the range is the sum of its days,
the workbook is the JSON's figures, formula-like names are neutralised, ranges are bounded, and
each role sees what it may."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from dialer.agents.models import AgentSession
from dialer.auth.models import Role
from dialer.compliance.models import Channel, Decision
from dialer.notes.models import Payment, PromiseStatus
from scheduling.endpoints import router
from scheduling.stats import MAX_DAYS, Period, report
from tests.clocks import DrivenClock
from tests.factories import make_case, make_client, make_seat, make_user
from tests.scheduling.helpers import make_call, make_promise, sh

NOW = sh(2026, 11, 26, 20)
ZONE = {"time_zone": "Asia/Shanghai"}
RANGE = {"from": "2026-11-23", "to": "2026-11-25", **ZONE}
DAYS = ("2026-11-23", "2026-11-24", "2026-11-25")
ADDITIVE = ("calls", "connects", "talk_seconds", "promises", "kept", "broken", "payments", "logged_in_seconds")


@pytest.fixture
async def week(app, headers, users):
    """Three days of work by two agents of team-a (one is ``agent-1``) and one of team-b."""
    app.include_router(router, prefix="/v1")
    app.state.container.clock = DrivenClock(NOW)
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        wang = await make_user(s, username="wang", team="team-a")
        li = await make_user(s, username="li", team="team-b")
        mine = await make_case(s, client=client, assigned_agent=wang)
        theirs = await make_case(s, client=client, assigned_agent=li, team="team-b")
        agent_1 = users["agent"]
        for day, hours in ((23, (9, 10)), (24, (9, 11, 15)), (25, (10,))):
            for hour in hours:
                await make_call(s, case=mine, agent_id=wang.id, at=sh(2026, 11, day, hour), answered=hour < 11,
                                talk_s=60 * hour)
            await make_call(s, case=theirs, agent_id=li.id, at=sh(2026, 11, day, 16), answered=day != 24, talk_s=30)
        await make_call(s, case=mine, agent_id=agent_1.id, at=sh(2026, 11, 24, 23, 59), answered=True, talk_s=5)
        await make_call(s, case=mine, agent_id=wang.id, at=sh(2026, 11, 22, 23, 59), answered=True)  # before
        await make_call(s, case=mine, agent_id=wang.id, at=sh(2026, 11, 26, 0, 0), answered=True)  # after
        await make_promise(s, case=mine, due_date=dt.date(2026, 11, 30), amount="1200.00",
                           created_at=sh(2026, 11, 23, 9, 5), created_by_id=wang.id)
        kept = await make_promise(s, case=mine, due_date=dt.date(2026, 11, 25), amount="600.00",
                                  created_at=sh(2026, 11, 24, 9, 5), created_by_id=wang.id,
                                  status=PromiseStatus.KEPT, settled_at=sh(2026, 11, 25, 12))
        await make_promise(s, case=theirs, due_date=dt.date(2026, 11, 24), amount="90.00",
                           created_at=sh(2026, 11, 20, 9), created_by_id=li.id, status=PromiseStatus.BROKEN,
                           settled_at=sh(2026, 11, 25, 0, 30))
        for reference, day in (("T1", 24), ("T2", 25)):
            s.add(Payment(client_id=client.id, case_id=mine.id, promise_id=kept.id, amount=Decimal("300.00"),
                          paid_at=sh(2026, 11, day, 13), reference=reference))
        s.add(Decision(client_id=client.id, agent_id=wang.id, channel=Channel.CALL, at=sh(2026, 11, 24, 10),
                       allowed=False, dry_run=False, violations=[{"rule": "calling_window"}]))
        seat = await make_seat(s)
        s.add(AgentSession(agent_id=wang.id, seat_id=seat.id, started_at=sh(2026, 11, 23, 22),
                           ended_at=sh(2026, 11, 24, 2)))  # across midnight: 2 hours on each day
        await s.commit()
    return {"wang": wang.id, "li": li.id}


def _rows(body: dict) -> dict[tuple[str, str | None], dict]:
    return {(row["scope"], row["agent"] or row["team"]): row for row in body["rows"]}


async def test_given_three_days_then_the_range_is_the_sum_of_its_days_with_the_series_of_the_days(
        api, headers, week):
    span = await api.get("/v1/reports/daily", params=RANGE, headers=headers["admin"])
    days = [await api.get("/v1/reports/daily", params={"day": day, **ZONE}, headers=headers["admin"]) for day in DAYS]

    assert span.status_code == 200, span.text
    body = span.json()
    assert (body["day"], body["from"], body["to"]) == (None, "2026-11-23", "2026-11-25")
    assert [d["day"] for d in body["days"]] == list(DAYS)
    ranged, daily = _rows(body), [_rows(d.json()) for d in days]
    assert ranged.keys() == daily[0].keys()
    for key, row in ranged.items():
        for name in ADDITIVE:
            assert row[name] == sum(day[key][name] for day in daily), (key, name)
        for name in ("promised_amount", "collected"):
            assert Decimal(row[name]) == sum(Decimal(day[key][name]) for day in daily), (key, name)
    for series, day in zip(body["days"], days, strict=True):  # each day of the series: that day's total
        total = _rows(day.json())[("total", None)]
        assert {n: series[n] for n in ADDITIVE} == {n: total[n] for n in ADDITIVE}
        assert series["kpis"]["connect_rate"] == total["kpis"]["connect_rate"]

    wang = ranged[("agent", "wang")]
    assert (wang["calls"], wang["connects"], wang["promises"], wang["kept"], wang["payments"]) == (6, 4, 2, 1, 2)
    assert (wang["promised_amount"], wang["collected"]) == ("1800.00", "600.00")
    assert wang["logged_in_seconds"] == 4 * 3600 and wang["refusals"] == {"calling_window": 1}
    assert wang["cases_called"] == 1  # one case, called on three days: counted once
    assert sum(day[("agent", "wang")]["cases_called"] for day in daily) == 3
    assert wang["kpis"]["connect_rate"] == round(4 / 6, 4) and wang["kpis"]["kept_rate"] == 1.0
    li = ranged[("agent", "li")]
    assert (li["calls"], li["connects"], li["broken"], li["kpis"]["kept_rate"]) == (3, 2, 1, 0.0)
    assert [d["calls"] for d in body["days"]] == [3, 5, 2]


async def test_given_a_range_then_the_workbook_holds_the_jsons_figures_and_the_series(api, headers, week):
    body = (await api.get("/v1/reports/daily", params=RANGE, headers=headers["admin"])).json()
    english = await api.get("/v1/reports/daily.xlsx", params=RANGE, headers=headers["admin"])
    chinese = await api.get("/v1/reports/daily.xlsx", params={**RANGE, "language": "zh"}, headers=headers["admin"])

    assert english.status_code == 200, english.text
    assert english.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="daily-2026-11-23_2026-11-25.xlsx"' in english.headers["content-disposition"]
    book = load_workbook(io.BytesIO(english.content))
    assert book.sheetnames == ["Statistics", "By day"]
    header, *lines = book["Statistics"].iter_rows(values_only=True)
    table = [dict(zip(header, line, strict=True)) for line in lines]
    assert [(r["scope"], r["agent"] or r["team"]) for r in table] == list(_rows(body))
    for line, row in zip(table, body["rows"], strict=True):
        assert line["day"] == "2026-11-23/2026-11-25"
        assert {n: line[n] for n in (*ADDITIVE, "cases_called")} == {n: row[n] for n in (*ADDITIVE, "cases_called")}
        assert Decimal(str(line["collected"])) == Decimal(row["collected"])
        assert line["connect_rate"] == row["kpis"]["connect_rate"]
    assert book["Statistics"]["A1"].font.bold and book["Statistics"].freeze_panes == "A2"
    rate = header.index("connect_rate") + 1
    assert book["Statistics"].cell(row=2, column=rate).number_format == "0.00%"
    by_day_header, *by_day = book["By day"].iter_rows(values_only=True)
    assert [(d[0], d[by_day_header.index("calls")]) for d in by_day] == [(d["day"], d["calls"]) for d in body["days"]]

    zh = load_workbook(io.BytesIO(chinese.content))
    assert zh.sheetnames == ["催收记录统计表", "每日趋势"]
    assert [c.value for c in zh["催收记录统计表"][1]][:5] == ["日期", "范围", "组别", "坐席", "拨打量"]


async def test_given_one_day_then_the_csv_and_workbook_keep_the_days_name(api, headers, week):
    as_csv = await api.get("/v1/reports/daily.csv", params={"day": "2026-11-24", **ZONE}, headers=headers["admin"])
    as_xlsx = await api.get("/v1/reports/daily.xlsx", params={"day": "2026-11-24", **ZONE}, headers=headers["admin"])
    ranged_csv = await api.get("/v1/reports/daily.csv", params=RANGE, headers=headers["admin"])

    assert 'filename="daily-2026-11-24.csv"' in as_csv.headers["content-disposition"]
    assert 'filename="daily-2026-11-24.xlsx"' in as_xlsx.headers["content-disposition"]
    assert load_workbook(io.BytesIO(as_xlsx.content))["Statistics"]["A2"].value == "2026-11-24"
    assert ranged_csv.text.lstrip("\ufeff").splitlines()[1].startswith("2026-11-23/2026-11-25,agent,")


async def test_given_formula_like_names_then_the_workbook_shows_them_as_text(api, headers, week, app):
    async with app.state.container.sessions() as s:
        await make_user(s, username='=HYPERLINK("http://evil")', team="+cmd|' /C calc'!A0")
        await make_user(s, username="@SUM(1+1)", team="-2+3")
        await s.commit()

    response = await api.get("/v1/reports/daily.xlsx", params={"day": "2026-11-24"}, headers=headers["admin"])

    sheet = load_workbook(io.BytesIO(response.content))["Statistics"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert {"'=HYPERLINK(\"http://evil\")", "'@SUM(1+1)", "'+cmd|' /C calc'!A0", "'-2+3"} <= texts
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert not [text for text in texts if text[0] in "=+-@\t\r"]


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-25", "to": "2026-11-23"}, "to"),
    ({"from": "2026-08-01", "to": "2026-11-01"}, "to"),  # 93 days
    ({"from": "2026-11-25"}, None),  # through today (2026-11-26): fine
    ({"to": "2026-11-25"}, "from"),
    ({"day": "2026-11-24", "from": "2026-11-23"}, "day"),
    ({"from": "2026-11-32", "to": "2026-11-25"}, "from"),
    ({"from": "2026-11-01", "to": "2027-01-31"}, None),  # 92 days: the longest range
])
async def test_given_a_range_then_it_runs_forwards_and_spans_at_most_92_days(api, headers, week, params, field):
    responses = [await api.get(f"/v1/reports/daily{suffix}", params=params, headers=headers["supervisor"])
                 for suffix in ("", ".csv", ".xlsx")]

    for response in responses:
        if field is None:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 422, response.text
            body = response.json()
            assert body.get("field") == field or [f["field"] for f in body.get("fields", [])] == [field], body
    assert MAX_DAYS == 92


async def test_given_roles_then_a_supervisor_sees_their_team_an_admin_any_an_agent_nothing(api, headers, week, app):
    async with app.state.container.sessions() as s:
        teamless = await make_user(s, username="sup-none", role=Role.SUPERVISOR, team=None)
        await s.commit()
        token, _ = app.state.container.tokens.issue(user_id=teamless.id, role=teamless.role,
                                                    now=app.state.container.clock())
    supervisor = await api.get("/v1/reports/daily", params={**RANGE, "team": "team-b"}, headers=headers["supervisor"])
    admin_b = await api.get("/v1/reports/daily", params={**RANGE, "team": "team-b"}, headers=headers["admin"])
    nobody = await api.get("/v1/reports/daily", params=RANGE, headers={"Authorization": f"Bearer {token}"})
    refused = [await api.get(f"/v1/reports/daily{suffix}", params=RANGE, headers=headers[role])
               for suffix in ("", ".csv", ".xlsx") for role in ("agent", "integration")]
    anonymous = await api.get("/v1/reports/daily.xlsx", params=RANGE)

    assert supervisor.status_code == 200
    assert {(r["scope"], r["team"]) for r in supervisor.json()["rows"]} == {
        ("agent", "team-a"), ("team", "team-a"), ("total", "team-a")}
    assert [d["calls"] for d in supervisor.json()["days"]] == [2, 4, 1]  # team-a's days only
    assert {r["agent"] for r in admin_b.json()["rows"] if r["scope"] == "agent"} == {"li"}
    assert [r["scope"] for r in nobody.json()["rows"]] == ["total"] and nobody.json()["rows"][0]["calls"] == 0
    assert [r.status_code for r in refused] == [403] * 6 and anonymous.status_code == 401


async def test_given_a_dst_change_then_each_day_is_counted_in_its_own_local_hours(session):
    """New York springs forward on 8 March 2026: that day has 23 hours."""
    client = await make_client(session)
    agent = await make_user(session, username="ny")
    case = await make_case(session, client=client, assigned_agent=agent)
    ny = dt.timezone(dt.timedelta(hours=-4))  # EDT, after the change
    await make_call(session, case=case, agent_id=agent.id, at=dt.datetime(2026, 3, 8, 23, 30, tzinfo=ny))
    await make_call(session, case=case, agent_id=agent.id, at=dt.datetime(2026, 3, 9, 0, 10, tzinfo=ny))
    seat = await make_seat(session)
    session.add(AgentSession(agent_id=agent.id, seat_id=seat.id, started_at=dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC),
                             ended_at=dt.datetime(2026, 3, 9, 4, tzinfo=dt.UTC)))  # local midnight to midnight
    await session.flush()

    stats = await report(session, period=Period(dt.date(2026, 3, 7), dt.date(2026, 3, 9)),
                         now=dt.datetime(2026, 3, 10, tzinfo=dt.UTC), time_zone="America/New_York")

    assert [(day.isoformat(), row.counts["calls"]) for day, row in stats.series] == [
        ("2026-03-07", 0), ("2026-03-08", 1), ("2026-03-09", 1)]
    assert [row.counts["logged_in_seconds"] for _, row in stats.series] == [0, 23 * 3600, 0]
