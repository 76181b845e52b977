"""Questionnaire workbooks for tests: the real template, filled in with openpyxl."""

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl

from jvap.campaigns.template import DATA_SHEET, TemplateContext, TemplateRow, build_template
from jvap.initiatives.rules import InitiativeRecord

DOMAINS = [(f"D{n}", f"Domain {n}") for n in range(1, 6)]
PRIORITIES = [("D1.01", "D1", "Priority one"), ("D3.01", "D3", "Priority three")]


def record(**overrides: Any) -> InitiativeRecord:
    """A complete, valid project record."""
    values: dict[str, Any] = {
        "kind": "project",
        "title": "Youth employment programme",
        "description": "Jobs and skills for young people",
        "status": "ongoing",
        "start_date": date(2018, 1, 1),
        "end_date": date(2022, 12, 31),
        "domains": ["D1"],
        "priorities": ["D1.01"],
        "scope": "national",
        "countries": ["SEN"],
        "budget": Decimal("1000000"),
        "currency": "EUR",
        "funders": ["European Union"],
        "funder_category": "eu_institution",
        "implementers": ["IOM"],
        "target_groups": ["youth"],
        "gender_marker": 1,
    }
    values.update(overrides)
    return InitiativeRecord(**values)


def template_bytes(
    *,
    campaign: str = "T2025",
    partner: str = "SEN",
    lang: str = "en",
    rows: Sequence[TemplateRow] = (),
    version: str = "1",
) -> bytes:
    return build_template(
        TemplateContext(
            campaign_code=campaign,
            campaign_title=f"Campaign {campaign}",
            opens_on=date(2025, 3, 1),
            closes_on=date(2026, 12, 31),
            questionnaire_version=version,
            partner_code=partner,
            partner_name="Senegal",
            lang=lang,
            rows=rows,
            domains=DOMAINS,
            priorities=PRIORITIES,
            generated_at=datetime(2025, 3, 1, tzinfo=UTC),
        )
    )


# A new project row as a focal point would type it (labels, names, text dates).
NEW_ROW: dict[str, Any] = {
    "kind": "Project",
    "title": "Border management training",
    "description": "Training of border officials",
    "status": "Ongoing",
    "start_date": date(2021, 5, 1),
    "end_date": date(2024, 4, 30),
    "domains": "D4",
    "scope": "National",
    "countries": "SEN",
    "budget": 250000,
    "currency": "EUR",
    "funders": "European Union",
    "funder_category": "EU institution",
    "target_groups": "Government officials",
}


def open_book(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def save(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def key_columns(sheet: Any) -> dict[str, int]:
    """Field key -> 1-based column, from the hidden key row."""
    return {cell.value: cell.column for cell in sheet[1] if cell.value}


def fill(
    content: bytes,
    *,
    new_rows: Iterable[Mapping[str, Any]] = (),
    edits: Mapping[str, Mapping[str, Any]] | None = None,
    sheet: str = DATA_SHEET,
) -> bytes:
    """The workbook with `edits` ({ref: {key: value}}) applied and `new_rows` appended."""
    workbook = open_book(content)
    worksheet = workbook[sheet]
    columns = key_columns(worksheet)
    rows_by_ref = {
        worksheet.cell(row, columns["ref"]).value: row for row in range(3, worksheet.max_row + 1)
    }
    for ref, changes in (edits or {}).items():
        for key, value in changes.items():
            _set(worksheet.cell(rows_by_ref[ref], columns[key]), value)
    for values in new_rows:
        row = worksheet.max_row + 1
        for key, value in values.items():
            _set(worksheet.cell(row, columns[key]), value)
    return save(workbook)


def _set(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, int | float) and not isinstance(value, bool):
        cell.number_format = "General"  # a number typed over a date shows as a number


def cell_of(content: bytes, ref: str, key: str, sheet: str = DATA_SHEET) -> tuple[int, str]:
    """(row, column letter) of field `key` on the row of `ref`."""
    worksheet = open_book(content)[sheet]
    columns = key_columns(worksheet)
    for row in range(3, worksheet.max_row + 1):
        if worksheet.cell(row, columns["ref"]).value == ref:
            return row, openpyxl.utils.get_column_letter(columns[key])
    raise KeyError(ref)
