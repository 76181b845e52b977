"""Initiative rows -> CSV (UTF-8 with BOM) or xlsx files, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import xlsxwriter

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
FORMATS = ("csv", "xlsx")


def neutralise(text: str) -> str:
    """Text that a spreadsheet shows as typed: a leading formula trigger gets a quote."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def xlsx_text(text: str) -> str:
    """Text for xlsxwriter's constant-memory mode, shown as typed.

    That mode copies a string that starts with <r> and ends with </r> into the sheet as raw
    XML (its rich-text form), so such text would vanish or inject cells and formulas. It
    goes in as one rich-text run holding the text, escaped.
    """
    if text.startswith("<r>") and text.endswith("</r>"):
        return f'<r><t xml:space="preserve">{xml_escape(text)}</t></r>'
    return text


def cell_text(value: Any) -> str:
    """A value as CSV text: lists joined with '; ', dates in ISO form, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralise(LIST_SEPARATOR.join(str(v) for v in value))
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(value)
    return neutralise(str(value))


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV file with a BOM (so Excel reads UTF-8); returns the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([cell_text(v) for v in row])
            count += 1
    return count


def write_xlsx(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "initiatives"
) -> int:
    """Write one sheet in constant memory (rows stream to disk); returns the data rows.

    Text is always written as text, never as a formula; numbers and dates keep their type.
    """
    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    try:
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for column, name in enumerate(header):
            worksheet.write_string(0, column, xlsx_text(name), bold)
        worksheet.freeze_panes(1, 1)
        count = 0
        for count, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                _write_cell(worksheet, count, column, value, day=day, moment=moment)
        worksheet.autofilter(0, 0, max(count, 1), len(header) - 1)
    finally:
        workbook.close()
    return count


def _write_cell(worksheet: Any, row: int, column: int, value: Any, **formats: Any) -> None:
    if value is None or value == []:
        return
    if isinstance(value, list):
        worksheet.write_string(row, column, xlsx_text(LIST_SEPARATOR.join(str(v) for v in value)))
    elif isinstance(value, datetime):
        # Excel has no time zones; times are UTC.
        worksheet.write_datetime(row, column, value.replace(tzinfo=None), formats["moment"])
    elif isinstance(value, date):
        worksheet.write_datetime(row, column, value, formats["day"])
    elif isinstance(value, Decimal):
        worksheet.write_number(row, column, float(value))
    elif isinstance(value, int):
        worksheet.write_number(row, column, value)
    else:
        worksheet.write_string(row, column, xlsx_text(str(value)))
