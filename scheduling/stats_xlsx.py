"""The statistics (催收记录统计表) as an XLSX workbook: the report's rows on the first sheet, the
series of the days on the second. The cells are the CSV's (:func:`scheduling.stats.table`: text
neutralised against formulas, numbers as numbers); rates are shown as percentages, amounts with
two decimals."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scheduling.stats import AMOUNTS, DailyReport, Table, series_table, table

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATES = ("connect_rate", "ptp_rate", "kept_rate", "penetration")
MONEY = (*AMOUNTS, "average_payment", "collected_per_hour")
SHEETS = {"zh": ("催收记录统计表", "每日趋势"), "en": ("Statistics", "By day")}


def render_xlsx(report: DailyReport, *, language: str = "en") -> bytes:
    """The workbook's bytes. ``language="zh"``: Chinese headers and sheet names."""
    names = SHEETS["zh" if language.startswith("zh") else "en"]
    workbook = Workbook()
    first = workbook.active
    assert first is not None  # a new workbook has its sheet
    first.title = names[0]
    _fill(first, table(report, language=language))
    _fill(workbook.create_sheet(names[1]), series_table(report, language=language))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _fill(sheet: Worksheet, rows: Table) -> None:
    sheet.append([_text(name) for name in rows.header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows.rows:
        sheet.append([_text(value) for value in values])
    for index, column in enumerate(rows.columns, start=1):
        letter = get_column_letter(index)
        shown = "0.00%" if column in RATES else "#,##0.00" if column in MONEY else None
        if shown:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = shown
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(rows.header[index - 1])) * 2 + 2))
    sheet.freeze_panes = "A2"


def _text(value: Any) -> Any:
    """A cell as openpyxl takes it: control characters a worksheet cannot hold are dropped."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
