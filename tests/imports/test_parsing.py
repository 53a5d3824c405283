"""Reading case files and stop lists: pure, no database."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from dialer.cases.models import Relation
from dialer.imports.case_rows import parse_case_file
from dialer.imports.cells import FieldError, amount, id_number, split_numbers
from dialer.imports.parsing import RowError
from dialer.imports.stop_rows import parse_stop_file

HEADER = "account_ref,debtor_name,debtor_id_number,debtor_numbers,total_owed,overdue_days"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_at(errors: tuple[RowError, ...], line: int) -> dict[str | None, str]:
    return {e.column: e.reason for e in errors if e.line == line}


# --- case files ----------------------------------------------------------------------------


def test_given_a_good_csv_when_parsed_then_every_field_is_typed_and_numbers_are_e164():
    content = csv_bytes(
        HEADER + ",principal,interest_fees,currency,debtor_time_zone,product,team,assigned_agent,"
        "contact1_name,contact1_relation,contact1_numbers,contact1_debt_related",
        'A001,张三,11010519491231002x,"13800138000; 010-62345678",'
        '"¥12,345.60",45,12000,345.6,cny,Asia/Urumqi,信用卡,team-b,agent7,李四,配偶,13900139000,是',
    )

    parsed = parse_case_file("cases.csv", content)

    assert parsed.errors == ()
    [row] = parsed.rows
    assert (row.line, row.account_ref, row.debtor_name) == (2, "A001", "张三")
    assert row.debtor_id_number == "11010519491231002X"
    assert [n.e164 for n in row.debtor_numbers] == ["+8613800138000", "+861062345678"]
    assert [n.kind for n in row.debtor_numbers] == ["mobile", "home"]
    assert row.debtor_numbers[0].time_zone == "Asia/Shanghai"
    assert (row.total_owed, row.principal, row.interest_fees) == (
        Decimal("12345.60"), Decimal("12000.00"), Decimal("345.60"))
    assert (row.currency, row.overdue_days, row.debtor_time_zone) == ("CNY", 45, "Asia/Urumqi")
    assert (row.product, row.team, row.assigned_agent) == ("信用卡", "team-b", "agent7")
    [contact] = row.contacts
    assert (contact.name, contact.relation, contact.debt_related) == ("李四", Relation.SPOUSE, True)
    assert [n.e164 for n in contact.numbers] == ["+8613900139000"]


def test_given_optional_columns_absent_then_defaults_apply():
    parsed = parse_case_file("c.csv", csv_bytes(HEADER, "A1,张三,,13800138000,100,0"))

    [row] = parsed.rows
    assert (row.principal, row.interest_fees, row.currency) == (Decimal("0.00"), Decimal("0.00"), "CNY")
    assert row.debtor_id_number is None and row.contacts == () and row.assigned_agent is None


def test_given_chinese_headers_in_gb18030_when_parsed_then_same_as_english_utf8():
    chinese = csv_bytes(
        " 账号 ,姓名,电话,欠款总额,逾期天数,联系人1姓名,联系人1关系,联系人1电话,联系人1涉债",
        "A1,张三,13800138000,¥800.00,61,张父,父亲,13900139000,否",
        encoding="gb18030",
    )
    with pytest.raises(UnicodeDecodeError):
        chinese.decode("utf-8")

    parsed = parse_case_file("银行案件.csv", chinese)

    assert parsed.errors == ()
    [row] = parsed.rows
    assert (row.debtor_name, row.total_owed, row.overdue_days) == ("张三", Decimal("800.00"), 61)
    assert row.contacts[0].name == "张父"
    assert row.contacts[0].relation is Relation.PARENT


def test_given_utf8_with_bom_and_mixed_case_headers_then_header_is_recognised():
    content = "\ufeffAccount_Ref, Debtor Name ,DEBTOR_NUMBERS,Total_Owed,overdue_days\nA1,张三,13800138000,1,1\n"

    parsed = parse_case_file("c.csv", content.encode("utf-8"))

    assert parsed.errors == ()
    assert parsed.rows[0].account_ref == "A1"


def test_given_a_tab_separated_file_then_it_is_read():
    content = csv_bytes(HEADER.replace(",", "\t"), "A1\t张三\t\t13800138000, 13900139000\t1,000\t3")

    [row] = parse_case_file("c.txt", content).rows

    assert len(row.debtor_numbers) == 2 and row.total_owed == Decimal("1000.00")


def test_given_an_xlsx_with_numeric_cells_when_parsed_then_numbers_and_amounts_are_exact():
    content = xlsx_bytes([
        ["account_ref", "debtor_name", "debtor_numbers", "total_owed", "overdue_days",
         "contact1_name", "contact1_relation", "contact1_numbers"],
        [6225880012345678, "张三", 13800138000, 15800.5, 45.0, "王五", "Colleague", 13900139000],
        [None, None, None, None, None, None, None, None],
        ["A2", "李四", "+86 138 0013 8001", "¥1,000", 3, None, None, None],
    ])

    parsed = parse_case_file("cases.xlsx", content)

    assert parsed.errors == ()
    first, second = parsed.rows
    assert (first.line, first.account_ref, first.total_owed, first.overdue_days) == (
        2, "6225880012345678", Decimal("15800.50"), 45)
    assert first.debtor_numbers[0].e164 == "+8613800138000"
    assert first.contacts[0].relation is Relation.COLLEAGUE
    assert second.line == 4  # the blank row still counts as a spreadsheet line
    assert second.debtor_numbers[0].e164 == "+8613800138001"


def test_given_several_kinds_of_bad_rows_then_every_error_names_line_column_and_reason():
    content = csv_bytes(
        HEADER + ",contact1_name,contact1_relation,contact1_numbers,debtor_time_zone",
        "A1,张三,,13800138000,100,10,李四,boss,13900139000,",
        "A2,王五,,12345,100,10,,,,Mars/Olympus",
        "A3,,,13800138002,abc,ten,,,,",
        "A1,赵六,110105194912310021,13800138003,1.234,-1,周七,friend,,",
        "A5,孙八,,13800138004;13800138004,5,5,,,,",
    )

    parsed = parse_case_file("cases.csv", content)

    assert parsed.rows == ()
    assert "unknown relation 'boss'" in errors_at(parsed.errors, 2)["contact1_relation"]
    assert "spouse, parent" in errors_at(parsed.errors, 2)["contact1_relation"]
    line3 = errors_at(parsed.errors, 3)
    assert "'12345'" in line3["debtor_numbers"]
    assert "Mars/Olympus" in line3["debtor_time_zone"]
    line4 = errors_at(parsed.errors, 4)
    assert line4["debtor_name"] == "debtor_name is required"
    assert "not an amount" in line4["total_owed"]
    assert "'ten'" in line4["overdue_days"]
    line5 = errors_at(parsed.errors, 5)
    assert line5["account_ref"] == "account_ref 'A1' is duplicated: also on line 2"
    assert "check digit" in line5["debtor_id_number"]
    assert "more than two decimals" in line5["total_owed"]
    assert "'-1'" in line5["overdue_days"]
    assert "required when contact 1 is given" in line5["contact1_numbers"]
    assert "listed twice" in errors_at(parsed.errors, 6)["debtor_numbers"]
    assert [e.line for e in parsed.errors] == sorted(e.line for e in parsed.errors)


def test_given_a_missing_required_column_then_header_error_once_and_rows_still_checked():
    content = csv_bytes("account_ref,debtor_name,debtor_numbers,overdue_days", "A1,张三,123,5", "A2,李四,13800138000,5")

    parsed = parse_case_file("c.csv", content)

    assert RowError(1, "total_owed", "required column 'total_owed' is missing from the header") in parsed.errors
    assert [(e.line, e.column) for e in parsed.errors] == [(1, "total_owed"), (2, "debtor_numbers")]


def test_given_a_header_with_no_known_column_then_every_required_column_is_reported():
    parsed = parse_case_file("c.csv", csv_bytes("foo,bar", "1,2"))

    assert parsed.rows == ()
    assert [(e.line, e.column) for e in parsed.errors] == [
        (1, "account_ref"), (1, "debtor_name"), (1, "debtor_numbers"), (1, "total_owed"), (1, "overdue_days")]


def test_given_a_contact_group_without_relation_column_then_header_error():
    content = csv_bytes(HEADER + ",contact2_name,contact2_numbers", "A1,张三,,13800138000,1,1,李四,13900139000")

    parsed = parse_case_file("c.csv", content)

    assert [(e.line, e.column) for e in parsed.errors] == [(1, "contact2_relation")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty: no header row"),
        (b"\n\n", "the file is empty: no header row"),
        (HEADER.encode() + b"\n", "the file has a header but no data rows"),
        (HEADER.encode() + b"\n,,,,,\n", "the file has a header but no data rows"),
    ],
)
def test_given_an_empty_file_then_one_file_level_error(content, reason):
    parsed = parse_case_file("c.csv", content)

    assert parsed.errors == (RowError(1, None, reason),)


def test_given_an_empty_xlsx_then_one_file_level_error():
    parsed = parse_case_file("c.xlsx", xlsx_bytes([]))

    assert parsed.errors == (RowError(1, None, "the file is empty: no header row"),)


def test_given_bytes_that_are_neither_utf8_nor_gb18030_then_refused():
    parsed = parse_case_file("c.csv", b"account_ref\n\xff\xff\xff\n")

    assert "neither UTF-8 nor GB18030" in parsed.errors[0].reason


def test_given_a_legacy_xls_then_refused_with_advice():
    parsed = parse_case_file("c.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)

    assert ".xlsx or CSV" in parsed.errors[0].reason


def test_given_a_corrupt_xlsx_then_refused():
    parsed = parse_case_file("c.xlsx", b"PK\x03\x04 not really a zip")

    assert "not a readable XLSX" in parsed.errors[0].reason


def test_given_a_cell_beyond_the_header_then_error_rather_than_silent_shift():
    content = csv_bytes(HEADER, "A1,张三,,13800138000,13900139000,100,5")

    parsed = parse_case_file("c.csv", content)

    assert any(e.line == 2 and "no header" in e.reason for e in parsed.errors)


def test_given_unknown_columns_then_they_are_ignored():
    parsed = parse_case_file("c.csv", csv_bytes(HEADER + ",address", "A1,张三,,13800138000,1,1,北京"))

    assert parsed.errors == () and len(parsed.rows) == 1


def test_given_the_same_column_twice_in_two_languages_then_header_error():
    parsed = parse_case_file("c.csv", csv_bytes(HEADER + ",账号", "A1,张三,,13800138000,1,1,A1"))

    assert [(e.line, e.column) for e in parsed.errors] == [(1, "account_ref")]


def test_given_a_value_longer_than_its_column_then_error():
    parsed = parse_case_file("c.csv", csv_bytes(HEADER, f"{'A' * 65},张三,,13800138000,1,1"))

    assert errors_at(parsed.errors, 2)["account_ref"] == "account_ref is longer than 64 characters"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000;13900139000", ["13800138000", "13900139000"]),
        ("13800138000, 13900139000 / 13700137000", ["13800138000", "13900139000", "13700137000"]),
        ("13800138000 13900139000", ["13800138000", "13900139000"]),
        ("13800138000，13900139000、13700137000", ["13800138000", "13900139000", "13700137000"]),
        ("+86 138 0013 8000", ["+86 138 0013 8000"]),
    ],
)
def test_given_numbers_with_any_separator_then_split(text, expected):
    assert split_numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", "0.00"), ("12,345.6", "12345.60"), ("¥1,000.00", "1000.00"), ("￥ 7", "7.00"), ("CNY 5.5", "5.50")],
)
def test_given_an_amount_as_written_by_a_bank_then_exact(text, expected):
    assert amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["-1", "1.001", "abc", "NaN", "Infinity", ""])
def test_given_a_bad_amount_then_field_error(text):
    with pytest.raises(FieldError):
        amount(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("11010519491231002X", "11010519491231002X"), ("11010519491231002x", "11010519491231002X"),
     ("440304199001010011", "440304199001010011"), ("110105491231002", "110105491231002")],
)
def test_given_a_valid_id_number_then_accepted_and_normalised(text, expected):
    assert id_number(text) == expected


@pytest.mark.parametrize(
    "text", ["110105194912310021", "11010519491331002X", "1101051949123100", "ABCDEFGHIJKLMNOPQR", "110105491331002"],
)
def test_given_a_bad_id_number_then_field_error(text):
    with pytest.raises(FieldError):
        id_number(text)


# --- stop lists ----------------------------------------------------------------------------


def test_given_a_good_stop_list_then_rows_with_number_or_id():
    content = csv_bytes(
        "电话,身份证号,姓名,账号,原因",
        "13800138000,,张三,A1,客户投诉",
        ",11010519491231002X,,,律师函",
        "010-62345678,440304199001010011,李四,,停催",
    )

    parsed = parse_stop_file("stop.csv", content)

    assert parsed.errors == ()
    first, second, third = parsed.rows
    assert (first.e164, first.id_number, first.account_ref, first.reason) == ("+8613800138000", None, "A1", "客户投诉")
    assert (second.e164, second.id_number) == (None, "11010519491231002X")
    assert (third.e164, third.id_number) == ("+861062345678", "440304199001010011")
    assert [(r.line, r.value) for r in parsed.references] == [(2, "A1")]


def test_given_bad_stop_rows_then_every_error_reported():
    content = csv_bytes(
        "number,id_number,name,account_ref,reason",
        ",,张三,,no target",
        "12345,,,,bad number",
        "13800138000,,,,first",
        "+8613800138000,,,,again",
        "13900139000;13700137000,,,,two numbers",
        "13600136000,,,,",
    )

    parsed = parse_stop_file("stop.csv", content)

    assert [r.line for r in parsed.rows] == [4]
    assert errors_at(parsed.errors, 2) == {"number": "a row needs a number or an id_number"}
    assert "'12345'" in errors_at(parsed.errors, 3)["number"]
    assert errors_at(parsed.errors, 5)["number"] == "+8613800138000 is listed twice: also on line 4"
    assert "one number per row" in errors_at(parsed.errors, 6)["number"]
    assert errors_at(parsed.errors, 7)["reason"] == "reason is required"
    assert {e.line for e in parsed.errors} == {2, 3, 5, 6, 7}


def test_given_a_stop_list_without_number_or_id_columns_then_header_errors():
    parsed = parse_stop_file("stop.csv", csv_bytes("name,account_ref", "张三,A1"))

    assert [(e.line, e.column) for e in parsed.errors] == [(1, "reason"), (1, "number")]
