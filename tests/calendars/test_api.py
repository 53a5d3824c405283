"""``/v1/calendars`` on both databases: admins enter, replace, import and delete a year (audited);
everyone signed in reads; bad input changes nothing."""

from __future__ import annotations

import pytest

from tests.calendars.conftest import SPRING_FESTIVAL_2027, audit_actions

CSV_GOOD = (
    "date,kind,name\r\n"
    "2027-02-06,holiday,春节\r\n"
    "2027-02-07,休,春节\r\n"
    "2027-02-14,班,春节调休\r\n"
).encode()


async def test_given_admin_puts_2027_then_the_year_reads_back_with_each_day_and_its_origin(api, headers, users, app):
    put = await api.put("/v1/calendars/cn/2027", json={"days": SPRING_FESTIVAL_2027}, headers=headers["admin"])
    read = await api.get("/v1/calendars/cn/2027", headers=headers["agent"])

    assert put.status_code == 200, put.text
    assert read.status_code == 200 and read.json() == put.json()
    year = read.json()
    assert (year["shipped"], year["holidays"], year["workdays"]) == (False, 7, 1)
    assert year["entered"]["source"] == "api" and year["entered"]["saved_by_id"] == users["admin"].id
    assert year["days"][0] == {"day": "2027-02-06", "kind": "holiday", "name": "春节", "origin": "entered"}
    assert year["days"][-1] == {"day": "2027-02-14", "kind": "workday", "name": "春节调休", "origin": "entered"}
    [(action, actor, entity, detail)] = await audit_actions(app)
    assert (action, actor, entity) == ("calendar.year_saved", users["admin"].id, "cn/2027")
    assert (detail["holidays"], detail["workdays"], detail["source"], detail["replaced"]) == (7, 1, "api", None)
    assert detail["days"][-1] == {"day": "2027-02-14", "kind": "workday", "name": "春节调休"}


async def test_given_a_shipped_year_then_an_entered_day_overrides_only_that_date(api, headers):
    # 2026-10-10 (Saturday) is a shipped adjusted working day; the agency corrects it to a holiday.
    put = await api.put("/v1/calendars/cn/2026", headers=headers["admin"],
                        json={"days": [{"day": "2026-10-10", "kind": "holiday", "name": "国庆节"}]})

    days = {d["day"]: d for d in put.json()["days"]}
    assert put.status_code == 200 and put.json()["shipped"] is True
    assert days["2026-10-10"] == {"day": "2026-10-10", "kind": "holiday", "name": "国庆节", "origin": "entered"}
    assert days["2026-10-01"]["origin"] == "shipped" and days["2026-10-01"]["kind"] == "holiday"
    assert days["2026-02-14"] == {"day": "2026-02-14", "kind": "workday", "name": "Spring Festival (adjusted working day)",
                                  "origin": "shipped"}


async def test_given_a_second_put_then_it_replaces_the_year_and_the_audit_keeps_what_it_replaced(api, headers, app):
    await api.put("/v1/calendars/cn/2027", json={"days": SPRING_FESTIVAL_2027}, headers=headers["admin"])
    second = await api.put("/v1/calendars/cn/2027", headers=headers["admin"],
                           json={"days": [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}]})

    assert [d["day"] for d in second.json()["days"]] == ["2027-01-01"]
    saved = await audit_actions(app)
    assert [a for a, *_ in saved] == ["calendar.year_saved", "calendar.year_saved"]
    assert len(saved[1][3]["replaced"]) == len(SPRING_FESTIVAL_2027)


@pytest.mark.parametrize("role", ["agent", "supervisor", "integration"])
async def test_given_a_role_other_than_admin_then_it_reads_but_cannot_change_a_calendar(api, headers, role, app):
    body = {"days": SPRING_FESTIVAL_2027}
    answers = [
        await api.put("/v1/calendars/cn/2027", json=body, headers=headers[role]),
        await api.delete("/v1/calendars/cn/2027", headers=headers[role]),
        await api.post("/v1/calendars/cn/2027/import", files={"file": ("y.csv", CSV_GOOD, "text/csv")},
                       headers=headers[role]),
    ]
    read = await api.get("/v1/calendars", headers=headers[role])

    assert [(a.status_code, a.json()["error"]) for a in answers] == [(403, "forbidden")] * 3
    assert read.status_code == 200
    assert (await api.get("/v1/calendars/cn/2027", headers=headers["admin"])).status_code == 404
    assert await audit_actions(app) == []


async def test_given_no_credentials_then_reading_is_refused(api):
    assert (await api.get("/v1/calendars/cn/2026")).status_code == 401


async def test_given_a_good_csv_then_the_year_is_replaced_from_it_and_audited(api, headers, app, users):
    answer = await api.post("/v1/calendars/cn/2027/import", files={"file": ("2027.csv", CSV_GOOD, "text/csv")},
                            headers=headers["admin"])

    assert answer.status_code == 200, answer.text
    assert [(d["day"], d["kind"], d["name"]) for d in answer.json()["days"]] == [
        ("2027-02-06", "holiday", "春节"), ("2027-02-07", "holiday", "春节"), ("2027-02-14", "workday", "春节调休"),
    ]
    assert answer.json()["entered"]["source"] == "csv"
    [(action, actor, _, detail)] = await audit_actions(app)
    assert (action, actor, detail["source"]) == ("calendar.year_saved", users["admin"].id, "csv")


async def test_given_a_gb18030_csv_with_chinese_headers_then_it_is_read(api, headers):
    content = "日期,类型,名称\n2027-10-01,休,国庆节\n".encode("gb18030")

    answer = await api.post("/v1/calendars/cn/2027/import", files={"file": ("2027.csv", content, "text/csv")},
                            headers=headers["admin"])

    assert answer.status_code == 200, answer.text
    assert [(d["day"], d["name"]) for d in answer.json()["days"]] == [("2027-10-01", "国庆节")]


async def test_given_bad_csv_rows_then_each_is_reported_with_line_column_and_reason_and_nothing_is_saved(api, headers, app):
    content = (
        "date,kind,name\n"
        "2027-02-06,holiday,春节\n"  # line 2: good
        "2027-02-30,holiday,春节\n"  # line 3: no such date
        "2026-12-31,holiday,元旦前\n"  # line 4: not in 2027
        "2027-02-07,vacation,春节\n"  # line 5: unknown kind
        "2027-02-08,holiday,=HYPERLINK(\"http://x\")\n"  # line 6: a formula
        "2027-02-09,holiday,\n"  # line 7: no name
        "2027-02-06,workday,again\n"  # line 8: listed twice
        "2027-02-10,holiday\n"  # line 9: a field short
        "2027-02-11,holiday,春\x1b节\n"  # line 10: a control character
    ).encode()

    answer = await api.post("/v1/calendars/cn/2027/import", files={"file": ("bad.csv", content, "text/csv")},
                            headers=headers["admin"])

    assert answer.status_code == 422 and answer.json()["error"] == "import_rejected"
    errors = answer.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "date"), (4, "date"), (5, "kind"), (6, "name"), (7, "name"), (8, "date"), (9, None), (10, "name"),
    ]
    reasons = {e["line"]: e["reason"] for e in errors}
    assert "YYYY-MM-DD" in reasons[3] and "not in 2027" in reasons[4] and "holiday or workday" in reasons[5]
    assert "spreadsheet" in reasons[6] and "listed twice" in reasons[8] and "U+001B" in reasons[10]
    assert answer.json()["errors_total"] == 8
    assert (await api.get("/v1/calendars/cn/2027", headers=headers["admin"])).status_code == 404
    assert await audit_actions(app) == []


async def test_given_a_csv_without_the_columns_then_the_header_is_the_error(api, headers):
    answer = await api.post("/v1/calendars/cn/2027/import", headers=headers["admin"],
                            files={"file": ("x.csv", b"date,type,name\n2027-01-01,holiday,x\n", "text/csv")})

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["line"], error["column"]) == (1, None)
    assert error["reason"].startswith("the header lacks the column(s) kind ")


@pytest.mark.parametrize("name", ["春\x00节", "春\x1b[31m节", "\x7f"])
async def test_given_a_control_character_in_a_name_then_422_and_nothing_is_saved(api, headers, app, name):
    answer = await api.put("/v1/calendars/cn/2027", headers=headers["admin"],
                           json={"days": [{"day": "2027-02-06", "kind": "holiday", "name": name}]})

    assert answer.status_code == 422
    assert "control character" in answer.text
    assert (await api.get("/v1/calendars/cn/2027", headers=headers["admin"])).status_code == 404
    assert await audit_actions(app) == []


@pytest.mark.parametrize(("days", "field"), [
    ([{"day": "2028-01-01", "kind": "holiday", "name": "元旦"}], "days[0].day"),
    ([{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}, {"day": "2027-01-01", "kind": "workday", "name": "x"}],
     "days[1].day"),
    ([{"day": "2027-01-01", "kind": "holiday", "name": "@SUM(A1)"}], "days[0].name"),
])
async def test_given_a_day_that_breaks_a_rule_then_422_names_the_field(api, headers, days, field):
    answer = await api.put("/v1/calendars/cn/2027", json={"days": days}, headers=headers["admin"])

    assert answer.status_code == 422 and answer.json()["field"] == field


async def test_given_a_bad_calendar_name_or_year_in_the_path_then_422(api, headers):
    body = {"days": []}
    assert (await api.put("/v1/calendars/CN!/2027", json=body, headers=headers["admin"])).status_code == 422
    assert (await api.put("/v1/calendars/cn/1999", json=body, headers=headers["admin"])).status_code == 422


async def test_given_an_entered_year_when_deleted_then_the_shipped_data_applies_again_and_it_is_audited(api, headers, app):
    await api.put("/v1/calendars/cn/2026", headers=headers["admin"],
                  json={"days": [{"day": "2026-10-10", "kind": "holiday", "name": "国庆节"}]})

    deleted = await api.delete("/v1/calendars/cn/2026", headers=headers["admin"])
    again = await api.delete("/v1/calendars/cn/2026", headers=headers["admin"])

    assert deleted.status_code == 204 and again.status_code == 404
    year = (await api.get("/v1/calendars/cn/2026", headers=headers["agent"])).json()
    assert year["entered"] is None and {d["origin"] for d in year["days"]} == {"shipped"}
    assert next(d for d in year["days"] if d["day"] == "2026-10-10")["kind"] == "workday"
    assert [a for a, *_ in await audit_actions(app)] == ["calendar.year_saved", "calendar.year_deleted"]


async def test_given_calendars_then_the_list_names_each_years_layers(api, headers):
    await api.put("/v1/calendars/cn/2026", json={"days": []}, headers=headers["admin"])
    await api.put("/v1/calendars/cn-bank-x/2027", json={"days": SPRING_FESTIVAL_2027}, headers=headers["admin"])

    listed = (await api.get("/v1/calendars", headers=headers["auditor"])).json()

    calendars = {c["name"]: {y["year"]: (y["shipped"], y["entered"]) for y in c["years"]} for c in listed["calendars"]}
    assert calendars["cn"][2026] == (True, True) and calendars["cn"][2025] == (True, False)
    assert 2027 not in calendars["cn"]
    assert calendars["cn-bank-x"] == {2027: (False, True)}
    assert listed["revision"] == 2


async def test_given_december_without_next_year_then_the_status_names_it_until_an_admin_enters_it(api, headers, clock):
    before = (await api.get("/v1/calendars/status", headers=headers["supervisor"])).json()
    await api.put("/v1/calendars/cn/2027", json={"days": SPRING_FESTIVAL_2027}, headers=headers["admin"])
    after = (await api.get("/v1/calendars/status", headers=headers["supervisor"])).json()

    assert before["today"] == "2026-12-05" and before["ok"] is False
    assert [(m["calendar"], m["year"]) for m in before["missing"]] == [("cn", 2027)]
    assert "2027" in before["missing"][0]["message"] and "/v1/calendars/cn/2027" in before["missing"][0]["message"]
    assert after == {"today": "2026-12-05", "ok": True, "missing": []}
