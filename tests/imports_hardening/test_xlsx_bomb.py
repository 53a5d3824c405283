"""XLSX zip bombs and endless sheets stop at the first limit, before openpyxl sees them."""

from __future__ import annotations

import pytest

from dialer.imports.case_rows import parse_case_file
from dialer.imports.limits import ImportLimits, ImportMalformed, ImportTooLarge
from dialer.imports.parsing import read_table
from dialer.imports.stop_rows import parse_stop_file
from dialer.imports.xlsx_guard import check_xlsx
from tests.imports_hardening.xlsx_files import SHEET_HEAD, repeated, row, xlsx

HEADER = ("account_ref", "debtor_name", "debtor_numbers", "total_owed", "overdue_days")
CELL = b'<c t="inlineStr"><is><t>x</t></is></c>'


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """~360 KB that inflates to 120 MB: one row of ten million repeated cells."""
    return xlsx([row(1, *HEADER), b'<row r="2">', *repeated(CELL, 120 * 1024 * 1024), b"</row>"])


def test_given_a_zip_bomb_when_parsed_then_413_names_the_unpacked_size_limit(bomb):
    assert len(bomb) < 1024 * 1024

    with pytest.raises(ImportTooLarge) as refused:
        parse_case_file("bomb.xlsx", bomb)

    assert refused.value.status == 413
    assert refused.value.extra["limit"] == "unpacked_bytes"
    assert "unpacks to 120 MiB, more than 100 MiB" in refused.value.detail


def test_given_a_member_inflating_past_the_ratio_when_checked_then_413_names_the_ratio():
    small_bomb = xlsx([row(1, *HEADER), b'<row r="2">', *repeated(CELL, 8 * 1024 * 1024), b"</row>"])

    with pytest.raises(ImportTooLarge) as refused:
        parse_stop_file("stop.xlsx", small_bomb)

    assert refused.value.extra["limit"] == "ratio"
    assert "xl/worksheets/sheet1.xml" in refused.value.detail and "more than 100:1" in refused.value.detail


def test_given_a_row_of_thousands_of_cells_under_the_size_caps_then_422_names_the_column_limit():
    wide = xlsx([row(1, *HEADER), b'<row r="2">', CELL * 5000, b"</row>"], stored=True)

    with pytest.raises(ImportMalformed) as refused:
        parse_case_file("wide.xlsx", wide)

    assert refused.value.status == 422
    assert refused.value.extra["limit"] == "columns"
    assert refused.value.extra["errors"] == [
        {"line": 2, "column": None, "reason": "row 2 has cells beyond column 256"}
    ]


def test_given_one_cell_far_right_then_422_before_openpyxl_pads_rows_out_to_it():
    far = xlsx([row(1, *HEADER), b'<row r="2"><c r="XFD2"><v>1</v></c></row>'], stored=True)

    with pytest.raises(ImportMalformed) as refused:
        check_xlsx(far)

    assert refused.value.extra["limit"] == "columns"


def test_given_a_last_row_a_million_lines_down_then_413_names_the_row_limit():
    tall = xlsx([row(1, *HEADER), row(2, "A-1", "张三", "13800138000", "1", "1"), b'<row r="1048576"/>'])

    with pytest.raises(ImportTooLarge) as refused:
        parse_case_file("tall.xlsx", tall)

    assert refused.value.extra == {"limit": "rows", "maximum": 100_000}


def test_given_more_rows_than_the_cap_then_413_on_xlsx_and_on_csv():
    limits = ImportLimits(rows=3)
    rows = [row(n, "A", "B") for n in range(2, 7)]
    sheet = xlsx([row(1, "account_ref", "reason"), *rows])
    csv = ("account_ref,reason\n" + "A,B\n" * 5).encode()

    for name, content in (("rows.xlsx", sheet), ("rows.csv", csv)):
        with pytest.raises(ImportTooLarge) as refused:
            read_table(name, content, {"account_ref": "account_ref", "reason": "reason"}.get, limits=limits)
        assert refused.value.extra == {"limit": "rows", "maximum": 3}, name


def test_given_an_endless_cell_then_422_names_the_cell_limit_on_xlsx_and_csv():
    endless = "x" * 5000
    sheet = xlsx([row(1, *HEADER), row(2, "A-1", endless)])
    csv = (",".join(HEADER) + f'\nA-1,"{endless}",13800138000,1,1\n').encode()

    for name, content in (("cell.xlsx", sheet), ("cell.csv", csv)):
        with pytest.raises(ImportMalformed) as refused:
            parse_case_file(name, content)
        assert refused.value.extra["limit"] == "cell_chars", name
        assert refused.value.extra["errors"][0]["line"] == 2, name


def test_given_a_sheet_with_a_dtd_then_422_refuses_the_entity_bomb():
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    sheet = xlsx([row(1, *HEADER)], head=laughs + SHEET_HEAD.split(b"?>", 1)[1])

    with pytest.raises(ImportMalformed) as refused:
        parse_case_file("dtd.xlsx", sheet)

    assert refused.value.extra["limit"] == "dtd"


def test_given_a_hand_made_normal_workbook_then_it_still_imports():
    sheet = xlsx([row(1, *HEADER), row(2, "A-1", "张三", "13800138000", "15800.00", "45")])

    parsed = parse_case_file("cases.xlsx", sheet)

    assert parsed.errors == ()
    assert [(r.account_ref, r.debtor_name, r.total_owed) for r in parsed.rows] == [("A-1", "张三", 15800)]


async def test_given_a_zip_bomb_upload_then_the_api_answers_413_and_imports_nothing(api, headers, bomb):
    cid = (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])).json()["id"]

    response = await api.post(
        f"/v1/clients/{cid}/imports/cases", files={"file": ("bomb.xlsx", bomb)}, headers=headers["admin"],
    )

    assert response.status_code == 413, response.text
    assert response.json()["error"] == "import_too_large" and response.json()["limit"] == "unpacked_bytes"
    assert (await api.get("/v1/cases", headers=headers["admin"])).json()["items"] == []
