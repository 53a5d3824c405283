"""A client's payment file (还款明细) read into checked rows. Pure: no database, no clock.

Columns (English or Chinese header, simplified or traditional characters; case and surrounding
spaces do not matter; unknown columns are ignored):

===========  ================  ========  ====================================================
column       中文               required  rule
===========  ================  ========  ====================================================
account_ref  账号               yes       a case of this client (checked against the database)
amount       还款金额 / 金额     yes       more than 0, at most two decimals
paid_at      还款时间 / 还款日期  yes       ISO 8601; without an offset it is the client's local
                                         time (a bare date is that day's midnight)
reference    流水号 / 交易流水号  yes       the bank's transaction id, unique per client: a row
                                         already imported is skipped, so a file can be re-sent
promise_id   承诺编号           no        the promise the payment is for; else it is matched
===========  ================  ========  ====================================================

The file is read as the case import reads its files (:mod:`dialer.imports.parsing`): CSV in
UTF-8, UTF-16 or GB18030, or the encoding the caller declares (a Big5 or Shift-JIS file is
refused until it is declared); XLSX checked for bombs before it is opened; the limits of
:mod:`dialer.imports.limits`; text a spreadsheet would run as a formula refused per cell; and the
errors kept in a bounded :class:`~dialer.imports.report.ErrorLog`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from dialer.imports.cells import FieldError, amount
from dialer.imports.parsing import ParsedFile, RowReader, alias_resolver, missing_columns, read_table

COLUMNS: dict[str, tuple[str, ...]] = {  # simplified, then traditional (a Big5 file's) names
    "account_ref": ("账号", "合同号", "帳號", "賬號", "合同號"),
    "amount": ("还款金额", "金额", "還款金額", "金額"),
    "paid_at": ("还款时间", "还款日期", "交易时间", "還款時間", "還款日期", "交易時間"),
    "reference": ("流水号", "交易流水号", "流水號", "交易流水號"),
    "promise_id": ("承诺编号", "承諾編號"),
}
REQUIRED = ("account_ref", "amount", "paid_at", "reference")
MAX_REFERENCE, MAX_ACCOUNT_REF = 128, 64


@dataclass(frozen=True, slots=True)
class PaymentRow:
    line: int
    account_ref: str
    amount: Decimal
    paid_at: dt.datetime
    reference: str
    promise_id: int | None = None


def paid_at(text: str, tz: ZoneInfo) -> dt.datetime:
    """An instant from a bank file: ISO 8601 (``2026-11-24 14:03:00``, ``2026/11/24``); naive
    values are wall time in ``tz``."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise FieldError(f"{text!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def positive_amount(text: str) -> Decimal:
    value = amount(text)
    if value <= 0:
        raise FieldError(f"amount {text!r} must be more than 0")
    return value


def promise_ref(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise FieldError(f"{text!r} is not a promise id (a whole number)")
    return int(text)


def parse_payment_file(
    filename: str, content: bytes, tz: ZoneInfo, *, encoding: str | None = None,
) -> ParsedFile[PaymentRow]:
    """The file's valid rows and its errors (``log``: every one counted, the first of each kind kept).
    ``encoding``: the CSV's, when the caller declares it. Raises at a limit (413 / 422)."""
    table = read_table(filename, content, alias_resolver(COLUMNS), encoding=encoding)
    errors = table.errors
    if errors and not table.columns:  # unreadable or empty: nothing more to say
        return ParsedFile.of((), errors)
    errors += missing_columns(table, REQUIRED)
    rows: list[PaymentRow] = []
    for source in table.rows:
        r = RowReader(source, table.columns, errors)
        account_ref = r.text("account_ref", required=True, max_length=MAX_ACCOUNT_REF)
        value = r.parse("amount", positive_amount, required=True)
        at = r.parse("paid_at", lambda text: paid_at(text, tz), required=True)
        reference = r.text("reference", required=True, max_length=MAX_REFERENCE)
        promise_id = r.parse("promise_id", promise_ref)
        if r.ok and account_ref and value is not None and at is not None and reference:
            rows.append(PaymentRow(source.line, account_ref, value, at, reference, promise_id))
    return ParsedFile.of(rows, errors, data_rows=len(table.rows))
