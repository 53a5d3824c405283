"""An export's file: CSV, XLSX or JSON, written row by row into a spooled temporary file (memory up
to ``SPOOL_BYTES``, then disk), never held whole.

The tables (CSV, XLSX) show the structured columns as text and every text cell through ``text``:
the caller passes the one neutraliser of formula-like text (``dialer.imports.formulas.neutralise``),
which this low layer may not import. JSON keeps the values as they are: a JSON reader runs no formula.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dialer.audit.exports import COLUMNS
from dialer.audit.schemas import ExportFormat

SPOOL_BYTES = 8 * 2**20
XLSX_CELL_MAX = 32_767  # Excel's longest cell

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}

TABLE_COLUMNS = (*(c for c in COLUMNS if c != "recordings"), "recording_ids", "recording_statuses",
                 "recording_sha256")
"""The tables' columns: a call's recordings as three columns (ids, statuses, SHA-256s, each space-separated)."""

Text = Callable[[str], str]


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


def _structured(name: str, value: Any) -> str:
    """A structured column as one line of text."""
    if name == "rule_results":
        return "; ".join(f"{rule}={result}" for rule, result in value.items())
    if name == "violations":
        return " | ".join(f"{v.get('rule')}: {v.get('message') or v.get('message_en') or ''}" for v in value)
    if name == "zones":
        return "; ".join(f"{z['zone']} ({', '.join(z['sources'])})" for z in value)
    if name == "counts":
        return "; ".join(f"{c['rule']} {c['used']}/{c['limit']} ({c['window']})" for c in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def table_cells(row: Mapping[str, Any], text: Text) -> list[Any]:
    """One row of a table: numbers and booleans as they are, instants in UTC ISO 8601, the rest as
    text through ``text``."""
    recordings = row.get("recordings") or []
    values = {**row, "recording_ids": " ".join(str(r["id"]) for r in recordings),
              "recording_statuses": " ".join(r["status"] for r in recordings),
              "recording_sha256": " ".join(r["sha256"] or "-" for r in recordings)}
    cells: list[Any] = []
    for name in TABLE_COLUMNS:
        value = values.get(name)
        if isinstance(value, (dict, list, tuple)):
            value = _structured(name, value)
        elif isinstance(value, dt.datetime):
            value = _stamp(value)
        cells.append(text(value) if isinstance(value, str) else value)
    return cells


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _stamp(value)
    return str(value)


async def write(rows: AsyncIterator[dict[str, Any]], *, fmt: ExportFormat, about: dict[str, Any],
                text: Text) -> tuple[IO[bytes], int]:
    """The file of ``rows`` (rewound) and how many rows it holds; ``about`` (the scope, who, when)
    heads the JSON and fills the XLSX's second sheet."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned open)
    try:
        if fmt == "csv":
            count = await _csv(rows, out, text)
        elif fmt == "xlsx":
            count = await _xlsx(rows, out, about, text)
        else:
            count = await _json(rows, out, about)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, count


async def _csv(rows: AsyncIterator[dict[str, Any]], out: IO[bytes], text: Text) -> int:
    out.write(codecs.BOM_UTF8)  # so a spreadsheet reads the Chinese text as UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TABLE_COLUMNS)
    count = 0
    async for row in rows:
        writer.writerow([_csv_cell(cell) for cell in table_cells(row, text)])
        count += 1
        out.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue().encode())
    return count


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_CELL_MAX]
    return value


async def _xlsx(rows: AsyncIterator[dict[str, Any]], out: IO[bytes], about: dict[str, Any], text: Text) -> int:
    """A write-only workbook: each row goes to the sheet's own temporary file as it comes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(TABLE_COLUMNS)
    count = 0
    async for row in rows:
        sheet.append([_xlsx_cell(cell) for cell in table_cells(row, text)])
        count += 1
    notes = book.create_sheet("about")
    for key, value in {**about, "rows": count}.items():
        shown = json.dumps(value, ensure_ascii=False, default=_json_default) if isinstance(value, dict) else value
        notes.append([key, _xlsx_cell(text(shown) if isinstance(shown, str) else shown)])
    await asyncio.to_thread(book.save, out)  # compressing is the slow part: off the event loop
    return count


async def _json(rows: AsyncIterator[dict[str, Any]], out: IO[bytes], about: dict[str, Any]) -> int:
    def dumped(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, default=_json_default).encode()

    out.write(b'{"about": ' + dumped(about) + b', "columns": ' + dumped(COLUMNS) + b', "rows": [')
    count = 0
    async for row in rows:
        out.write((b",\n" if count else b"\n") + dumped(row))
        count += 1
    out.write(b'\n], "row_count": ' + str(count).encode() + b"}\n")
    return count
