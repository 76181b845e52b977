"""CSV and xlsx rendering of initiative rows: types kept, formulas neutralised."""

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from jvap.initiatives.export import cell_text, neutralise, write_csv, write_xlsx

HEADER = ["ref", "title", "budget", "start_date", "countries", "updated_at"]
ROWS: list[list[Any]] = [
    [
        "JV-000001",
        '=HYPERLINK("http://evil")',
        Decimal("1500000.50"),
        date(2019, 3, 1),
        ["MLI", "SEN"],
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
    ["JV-000002", "Réinsertion des migrants de retour", None, None, [], None],
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23", "'+33 1 23"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Plain title", "Plain title"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (["A", "B"], "A; B"),
        (["=x"], "'=x"),
        (date(2020, 1, 2), "2020-01-02"),
        (Decimal("-5"), "-5"),
        (7, "7"),
        ("=cmd", "'=cmd"),
    ],
)
def test_cell_text(value: Any, expected: str) -> None:
    assert cell_text(value) == expected


def test_csv_has_a_bom_and_neutralised_text(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert write_csv(path, HEADER, ROWS) == 2
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == HEADER
    assert rows[1][1].startswith("'=") and rows[1][2] == "1500000.50"
    assert rows[1][4] == "MLI; SEN" and rows[1][5] == "2025-01-02T03:04:05+00:00"
    assert rows[2][1] == "Réinsertion des migrants de retour" and rows[2][2] == ""


def test_xlsx_keeps_types_and_never_writes_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    assert write_xlsx(path, HEADER, ROWS) == 2
    sheet = load_workbook(path).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADER
    first = values[1]
    assert first[1] == '=HYPERLINK("http://evil")'
    assert sheet.cell(row=2, column=2).data_type == "s"
    assert first[2] == 1500000.5
    assert first[3] == datetime(2019, 3, 1)
    assert first[4] == "MLI; SEN"
    assert values[2][2:] == [None, None, None, None]


def test_empty_export_still_has_a_header(tmp_path: Path) -> None:
    assert write_xlsx(tmp_path / "empty.xlsx", HEADER, []) == 0
    assert write_csv(tmp_path / "empty.csv", HEADER, []) == 0
    sheet = load_workbook(tmp_path / "empty.xlsx").active
    assert sheet is not None and [c.value for c in sheet[1]] == HEADER


@pytest.mark.parametrize(
    "text", ["<r>x</r>", '<r><t>a</t></r></is></c><c r="Z9"><f>1+1</f></c><c><is><r>', "<r>&</r>"]
)
def test_xlsx_keeps_markup_like_text_as_typed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [text], [[text], [[text]]])
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [[text]] * 3
