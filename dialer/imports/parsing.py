"""Reading a client's import file into checked rows. Pure: no database, no clock.

A file is CSV or XLSX. CSV may be UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's
"Unicode text") or GB18030 (what Chinese banks' systems often write) — or any encoding the
caller declares (:mod:`dialer.imports.text_encoding`); comma-, tab- or semicolon-separated, the
separator read from the header line. XLSX is read from its first sheet, after the archive has
been checked for bombs (:mod:`dialer.imports.xlsx_guard`). The first row is the header; header
names are matched case-insensitively with spaces trimmed (inner spaces and hyphens count as
``_``), in English or Chinese (see each file format's module:
:mod:`dialer.imports.case_rows`, :mod:`dialer.imports.stop_rows`).

Both formats are read as a stream of rows that stops at the first limit crossed
(:mod:`dialer.imports.limits`: rows, cells per row, characters per cell) with
:class:`~dialer.imports.limits.ImportTooLarge` (413) or
:class:`~dialer.imports.limits.ImportMalformed` (422). Free text that a spreadsheet would run
as a formula is refused per cell (:mod:`dialer.imports.formulas`).

Line numbers are spreadsheet row numbers: the header is line 1, the first data row line 2.
Blank rows are skipped but still counted. Every problem is collected as a :class:`RowError`
so a file is reported completely, not one error at a time — in an
:class:`~dialer.imports.report.ErrorLog`, which keeps the first errors of each kind.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from dialer.kit.text import refused_character
from dialer.imports.cells import FieldError, split_numbers
from dialer.imports.formulas import formula_like
from dialer.imports.limits import LIMITS, ImportLimits, ImportMalformed, ImportTooLarge
from dialer.imports.report import HEADER_LINE, ErrorLog, RowError
from dialer.imports.text_encoding import decode
from dialer.imports.xlsx_guard import check_xlsx
from dialer.kit.phones import ParsedNumber, PhoneNumberError, parse_phone

T = TypeVar("T")

__all__ = ["HEADER_LINE", "ErrorLog", "ParsedFile", "Reference", "RowError", "RowReader", "SourceRow", "Table",
           "alias_resolver", "missing_columns", "normalise_header", "read_table"]


@dataclass(frozen=True, slots=True)
class Reference:
    """A value on a line that only the database can confirm (an account, an agent)."""

    line: int
    column: str
    value: str


@dataclass(frozen=True, slots=True)
class ParsedFile(Generic[T]):
    """The outcome of reading a file: the valid rows, the errors, and what to look up.

    ``errors`` is the kept sample; ``log`` (when the format keeps one) counts them all."""

    rows: tuple[T, ...]
    errors: tuple[RowError, ...]
    references: tuple[Reference, ...] = ()
    data_rows: int = 0  # non-blank data rows, valid or not
    log: ErrorLog | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, rows: Iterable[T], log: ErrorLog, references: Iterable[Reference] = (),
           data_rows: int = 0) -> ParsedFile[T]:
        return cls(tuple(rows), log.kept, tuple(references), data_rows, log)

    def error_log(self) -> ErrorLog:
        """Every error so far, to add the database's findings to."""
        return self.log if self.log is not None else ErrorLog(self.errors)


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int
    cells: dict[str, str]  # canonical column -> trimmed text ("" when blank)


@dataclass(slots=True)
class Table:
    columns: tuple[str, ...]  # canonical names present in the header
    rows: list[SourceRow] = field(default_factory=list)
    errors: ErrorLog = field(default_factory=ErrorLog)


# --- reading -----------------------------------------------------------------------------


def normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def read_table(
    filename: str, content: bytes, resolve: Callable[[str], str | None], *, encoding: str | None = None,
    limits: ImportLimits = LIMITS,
) -> Table:
    """Read header and rows. ``resolve`` maps a normalised header to its canonical column name,
    or ``None`` for a column the format does not know (ignored). ``encoding`` is the CSV's
    encoding when the caller declares it. Raises at a limit (see the module)."""
    try:
        raw_rows = _xlsx_rows(content, limits) if _is_xlsx(filename, content) else _csv_rows(content, encoding, limits)
        header = next(raw_rows, None)
    except FieldError as exc:
        return _unreadable(str(exc))
    if header is None or not any(cell for cell in header):
        return _unreadable("the file is empty: no header row")

    table = Table(columns=())
    slots: list[str | None] = []
    seen: dict[str, str] = {}
    for raw in header:
        canonical = resolve(normalise_header(raw)) if raw else None
        if canonical is not None and canonical in seen:
            table.errors.append(
                RowError(HEADER_LINE, canonical, f"columns {seen[canonical]!r} and {raw!r} both mean {canonical}")
            )
            canonical = None
        elif canonical is not None:
            seen[canonical] = raw
        slots.append(canonical)
    table.columns = tuple(seen)

    try:
        for line, values in enumerate(raw_rows, start=HEADER_LINE + 1):
            if not any(values):
                continue
            cells: dict[str, str] = {}
            for index, value in enumerate(values):
                slot = slots[index] if index < len(slots) else None
                if slot is not None:
                    cells[slot] = value
                elif value and (index >= len(header) or not header[index]):
                    table.errors.append(
                        RowError(line, None, f"value {value!r} in column {index + 1}, which has no header "
                                             "(a separator inside an unquoted cell?)")
                    )
            table.rows.append(SourceRow(line, cells))
    except FieldError as exc:
        return _unreadable(str(exc))
    if not table.rows:
        table.errors.append(RowError(HEADER_LINE, None, "the file has a header but no data rows"))
    return table


def _unreadable(reason: str) -> Table:
    return Table(columns=(), errors=ErrorLog([RowError(HEADER_LINE, None, reason)]))


def _is_xlsx(filename: str, content: bytes) -> bool:
    if content[:4] == b"PK\x03\x04":
        return True
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or filename.lower().endswith(".xls"):
        raise FieldError("legacy .xls files are not supported: save the sheet as .xlsx or CSV")
    return filename.lower().endswith((".xlsx", ".xlsm"))


def _csv_rows(content: bytes, encoding: str | None, limits: ImportLimits) -> Iterator[list[str]]:
    text = decode(content, encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    return _capped(_csv_records(text, delimiter, limits), limits)


def _csv_records(text: str, delimiter: str, limits: ImportLimits) -> Iterator[list[str]]:
    # csv's own field limit stops a runaway quoted cell while it is read, not after.
    previous = csv.field_size_limit(max(limits.cell_chars * 4, 1024))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise ImportMalformed(f"line {reader.line_num}: a cell longer than {limits.cell_chars} characters",
                                          limit="cell_chars", line=reader.line_num) from None
                raise FieldError(f"not a readable CSV file (line {reader.line_num}): {exc}") from None
            yield [cell.strip() for cell in row]
    finally:
        csv.field_size_limit(previous)


def _capped(rows: Iterator[list[str]], limits: ImportLimits) -> Iterator[list[str]]:
    """Rows until a limit is crossed: the count of rows, the cells of a row, a cell's length."""
    for line, row in enumerate(rows, start=HEADER_LINE):
        if line - HEADER_LINE > limits.rows:
            raise ImportTooLarge(f"the file has more than {limits.rows} data rows", limit="rows", maximum=limits.rows)
        if len(row) > limits.columns:
            raise ImportMalformed(f"line {line} has {len(row)} cells, more than {limits.columns}",
                                  limit="columns", line=line)
        for index, cell in enumerate(row):
            if len(cell) > limits.cell_chars:
                raise ImportMalformed(
                    f"line {line}, column {index + 1}: a cell longer than {limits.cell_chars} characters",
                    limit="cell_chars", line=line,
                )
        yield row


def _xlsx_rows(content: bytes, limits: ImportLimits) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    check_xlsx(content, limits)
    # The file is untrusted: whatever breaks inside openpyxl (zip, XML, styles) means the
    # same thing to the person who sent it.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise FieldError(f"not a readable XLSX workbook: {exc}") from None
    if not workbook.worksheets:
        workbook.close()
        raise FieldError("the workbook has no sheet")
    return _capped(_sheet_rows(workbook, limits), limits)


def _sheet_rows(workbook: Any, limits: ImportLimits) -> Iterator[list[str]]:
    # Bounds passed to openpyxl so a sheet's declared dimension (say A1:XFD1048576) cannot
    # make it pad rows out to 16,384 cells or yield a million empty rows.
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(max_row=limits.rows + HEADER_LINE + 1, max_col=limits.columns, values_only=True):
            yield [_cell_text(value) for value in row]
    except (FieldError, ImportTooLarge, ImportMalformed):
        raise
    except Exception as exc:  # noqa: BLE001
        raise FieldError(f"not a readable XLSX workbook: {exc}") from None
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps every number as a float: 13800138000.0 is a phone number, 45.0 a count.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# --- one row -----------------------------------------------------------------------------


class RowReader:
    """Reads one row's cells, recording every problem instead of stopping at the first.

    A column absent from the header yields ``None`` without a per-row error: the header
    check reports it once, on line 1.
    """

    def __init__(self, row: SourceRow, columns: Iterable[str], errors: list[RowError] | ErrorLog) -> None:
        self.line = row.line
        self._cells = row.cells
        self._columns = frozenset(columns)
        self._errors = errors
        self._count = len(errors)
        self._formulas: set[str] = set()

    @property
    def ok(self) -> bool:
        return len(self._errors) == self._count

    def error(self, column: str | None, reason: str) -> None:
        self._errors.append(RowError(self.line, column, reason))

    def has(self, column: str) -> bool:
        """The cell holds a value."""
        return bool(self._cells.get(column))

    def knows(self, column: str) -> bool:
        """The header has this column."""
        return column in self._columns

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        """A free-text cell; text a spreadsheet would run as a formula is refused (once per cell)."""
        value = self._value(column, required=required, max_length=max_length)
        if value is None or not formula_like(value):
            return value
        if column not in self._formulas:
            self._formulas.add(column)
            self.error(column, f"{column} {_excerpt(value)} starts like a spreadsheet formula "
                               f"({value[0]!r}): remove the leading character")
        return None

    def _value(self, column: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        value = self._cells.get(column, "")
        if not value:
            if required and column in self._columns:
                self.error(column, f"{column} is required")
            return None
        if max_length is not None and len(value) > max_length:
            self.error(column, f"{column} is longer than {max_length} characters")
            return None
        refused = refused_character(value)
        if refused is not None:
            self.error(column, f"{column} holds a control character ({refused}); it cannot be stored")
            return None
        return value

    def parse(self, column: str, parser: Callable[[str], T], *, required: bool = False) -> T | None:
        """A typed cell: ``parser``'s own rule decides (a number is no formula)."""
        value = self._value(column, required=required)
        if value is None:
            return None
        try:
            return parser(value)
        except FieldError as exc:
            self.error(column, str(exc))
            return None

    def phones(self, column: str, *, required: bool = False) -> tuple[ParsedNumber, ...]:
        """Every number in the cell, parsed; bad and repeated numbers are reported by name."""
        value = self._value(column, required=required)
        if value is None:
            return ()
        numbers: list[ParsedNumber] = []
        bad = False
        for piece in split_numbers(value):
            try:
                parsed = parse_phone(piece, default_region="CN")
            except PhoneNumberError as exc:
                self.error(column, str(exc))
                bad = True
                continue
            if any(n.e164 == parsed.e164 for n in numbers):
                self.error(column, f"phone number {piece!r} is listed twice ({parsed.e164})")
                bad = True
                continue
            numbers.append(parsed)
        if not numbers and not bad:
            self.error(column, f"{column} has no phone number")
        return tuple(numbers)


def _excerpt(value: str, size: int = 40) -> str:
    return repr(value if len(value) <= size else value[:size] + "…")


def missing_columns(table: Table, required: Iterable[str]) -> list[RowError]:
    return [
        RowError(HEADER_LINE, column, f"required column {column!r} is missing from the header")
        for column in required
        if column not in table.columns
    ]


def alias_resolver(aliases: Mapping[str, Iterable[str]]) -> Callable[[str], str | None]:
    """``{"account_ref": ("账号",)}`` → a resolver matching the canonical name or an alias."""
    table = {normalise_header(name): name for name in aliases}
    for name, others in aliases.items():
        table.update({normalise_header(alias): name for alias in others})
    return table.get
