"""The client's stop-contact list: numbers and identities that must never be called.

Columns (English or Chinese header; case and surrounding spaces do not matter; unknown
columns are ignored):

===========  =========  ========  ==========================================================
column       中文        required  rule
===========  =========  ========  ==========================================================
number       电话        one of    one phone number per row, national (CN) or +E.164
id_number    身份证号     one of    18 characters with check digit, or 15 digits
name         姓名        no        for the reader of the file; not stored
account_ref  账号        no        must be a case of this client; the entry is linked to it
reason       原因        yes       why the client forbids contact
===========  =========  ========  ==========================================================

Every row needs a number or an id number (or both). The same number or id number on two rows
is an error. Whether an account exists is a database question, returned as a
:class:`~dialer.imports.parsing.Reference`; so is "already listed", which the service skips.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.imports.cells import id_number
from dialer.imports.parsing import (
    HEADER_LINE, ParsedFile, Reference, RowError, RowReader, alias_resolver, missing_columns, read_table,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("电话",),
    "id_number": ("身份证号",),
    "name": ("姓名",),
    "account_ref": ("账号",),
    "reason": ("原因",),
}
MAX_ACCOUNT_REF, MAX_NAME = 64, 128


@dataclass(frozen=True, slots=True)
class StopRow:
    line: int
    e164: str | None
    id_number: str | None
    name: str | None
    account_ref: str | None
    reason: str


def parse_stop_file(filename: str, content: bytes, *, encoding: str | None = None) -> ParsedFile[StopRow]:
    table = read_table(filename, content, alias_resolver(COLUMNS), encoding=encoding)
    errors = table.errors
    if errors and not table.columns:  # unreadable or empty: nothing more to say
        return ParsedFile.of((), errors)
    errors += missing_columns(table, ("reason",))
    if "number" not in table.columns and "id_number" not in table.columns:
        errors.append(RowError(HEADER_LINE, "number", "the header needs a 'number' or an 'id_number' column"))

    rows: list[StopRow] = []
    references: list[Reference] = []
    number_lines: dict[str, int] = {}
    id_lines: dict[str, int] = {}
    for source in table.rows:
        r = RowReader(source, table.columns, errors)
        numbers = r.phones("number")
        if len(numbers) > 1:
            r.error("number", f"one number per row, found {len(numbers)}: put each on its own row")
        e164 = numbers[0].e164 if len(numbers) == 1 else None
        ident = r.parse("id_number", id_number)
        if not r.has("number") and not r.has("id_number") and (r.knows("number") or r.knows("id_number")):
            r.error("number" if r.knows("number") else "id_number", "a row needs a number or an id_number")
        name = r.text("name", max_length=MAX_NAME)
        account_ref = r.text("account_ref", max_length=MAX_ACCOUNT_REF)
        reason = r.text("reason", required=True)
        _once(r, "number", e164, number_lines)
        _once(r, "id_number", ident, id_lines)
        if account_ref is not None:
            references.append(Reference(source.line, "account_ref", account_ref))
        if r.ok and reason is not None:
            rows.append(StopRow(source.line, e164, ident, name, account_ref, reason))
    return ParsedFile.of(rows, errors, references, len(table.rows))


def _once(r: RowReader, column: str, value: str | None, first_line: dict[str, int]) -> None:
    if value is None:
        return
    if value in first_line:
        r.error(column, f"{value} is listed twice: also on line {first_line[value]}")
    else:
        first_line[value] = r.line
