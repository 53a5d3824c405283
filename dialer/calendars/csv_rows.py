"""A year's days from a CSV file: ``date,kind,name`` rows, every bad row reported. Pure.

The header names the columns (``date``/``日期``, ``kind``/``类型``, ``name``/``名称``, in any order);
each row is one special day: ``2027-02-06,holiday,春节`` or ``2027-02-14,workday,春节调休``
(``休`` and ``班`` are read as holiday and workday). UTF-8 (a byte-order mark is fine) or GB18030,
as Excel saves a Chinese sheet. Nothing is returned when any row is bad: the caller saves all or
nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from dialer.calendars.days import KIND_WORDS, MAX_DAYS, day_problem, duplicates, name_problem
from dialer.kit.calendars import DayKind

HEADER_LINE = 1
COLUMNS = {"date": "date", "日期": "date", "kind": "kind", "类型": "kind", "name": "name", "名称": "name"}
MAX_ERRORS = 100


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None  # None: the whole row or file
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Parsed:
    days: list[tuple[dt.date, DayKind, str]]
    errors: list[RowError]


def decode(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def parse(content: bytes, *, year: int) -> Parsed:
    """The special days of ``year`` the file lists, or every error found (then no day)."""
    try:
        return _parse(content, year)
    except csv.Error as exc:
        return Parsed([], [RowError(HEADER_LINE, None, f"the file cannot be read as CSV ({exc})")])


def _parse(content: bytes, year: int) -> Parsed:
    text = decode(content)
    if text is None:
        return Parsed([], [RowError(HEADER_LINE, None, "the file is neither UTF-8 nor GB18030 text")])
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return Parsed([], [RowError(HEADER_LINE, None, "the file is empty: the first line names the columns date,kind,name")])
    columns = [COLUMNS.get(cell.strip().lower()) for cell in header]
    missing = [name for name in ("date", "kind", "name") if name not in columns]
    if missing:
        return Parsed([], [RowError(HEADER_LINE, None, f"the header lacks the column(s) {', '.join(missing)} "
                                                      "(expected date,kind,name)")])
    at = {name: columns.index(name) for name in ("date", "kind", "name")}
    errors: list[RowError] = []
    days: list[tuple[dt.date, DayKind, str]] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(days) + len(errors) >= MAX_DAYS:
            errors.append(RowError(line, None, f"a year lists at most {MAX_DAYS} special days"))
            break
        if len(row) != len(header):
            errors.append(RowError(line, None, f"{len(row)} fields where the header has {len(header)}"))
            continue
        before = len(errors)
        day = _day(row[at["date"]].strip(), year, line, errors)
        kind = KIND_WORDS.get(row[at["kind"]].strip().lower())
        if kind is None:
            errors.append(RowError(line, "kind", f"{row[at['kind']].strip()!r} is not a kind: holiday or workday"))
        name = row[at["name"]].strip()
        problem = name_problem(row[at["name"]])
        if problem is not None:
            errors.append(RowError(line, "name", problem))
        if len(errors) == before and day is not None and kind is not None:
            days.append((day, kind, name))
            lines.append(line)
        if len(errors) >= MAX_ERRORS:
            break
    for index, reason in duplicates([d for d, _, _ in days]).items():
        errors.append(RowError(lines[index], "date", reason))
    if errors:
        return Parsed([], sorted(errors, key=lambda e: e.line))
    return Parsed(days, [])


def _day(text: str, year: int, line: int, errors: list[RowError]) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors.append(RowError(line, "date", f"{text!r} is not a date: write it as YYYY-MM-DD"))
        return None
    problem = day_problem(year, day)
    if problem is not None:
        errors.append(RowError(line, "date", problem))
        return None
    return day
