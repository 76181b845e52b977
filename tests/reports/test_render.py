"""xlsx and CSV rendering, without a database."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from jvap.reports import render
from jvap.reports.schemas import Counts, Gaps, Summary, SummaryFilters, SummaryRow

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+33 1 23", "'+33 1 23"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tleading tab", "'\tleading tab"),
        ("Youth employment", "Youth employment"),
        ("Budget = 3", "Budget = 3"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert render.neutralise(text) == expected


def counts(initiatives: int, budget: float, **extra: Any) -> dict[str, Any]:
    return {
        "initiatives": initiatives,
        "projects": initiatives,
        "policies": 0,
        "by_status": {"planned": 0, "ongoing": initiatives, "completed": 0, "suspended": 0},
        "budget_eur": budget,
        "projects_without_budget": 0,
        "partners_reporting": 1,
        "by_start_year": {"2019": initiatives},
        **extra,
    }


def make_summary(dimension: str = "domains") -> Summary:
    rows = [
        SummaryRow(
            key="D1",
            label_en=FORMULA,
            label_fr="Développement",
            shared_initiatives=1,
            shared_budget_eur=1000.0,
            **counts(2, 1500.5),
        ),
        SummaryRow(
            key="D3",
            label_en="Protection and asylum",
            label_fr="Protection et asile",
            shared_initiatives=1,
            shared_budget_eur=1000.0,
            **counts(1, 1000.0),
        ),
    ]
    return Summary(
        dimension=dimension,  # type: ignore[arg-type]
        filters=SummaryFilters(),
        generated_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        rows=rows,
        total=Counts(**counts(2, 1500.5)),
        rows_sum=3,
        counted_in_several_rows=1,
        budget_eur_in_several_rows=1000.0,
        outside_rows=0,
        change_window=None,
    )


def test_summary_csv_has_a_bom_french_headers_and_the_distinct_total_last() -> None:
    buffer = io.BytesIO()
    render.write_summary_csv(buffer, make_summary(), lang="fr")
    raw = buffer.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Code,Nom,Initiatives,Projets,Politiques,Prévu,En cours")
    assert lines[1].startswith("D1,Développement,2,2,0,0,2,0,0,1500.50,")
    assert lines[-1].startswith(",Total (compte distinct),2,")
    assert len(lines) == 4


def test_summary_csv_neutralises_formula_like_labels() -> None:
    buffer = io.BytesIO()
    render.write_summary_csv(buffer, make_summary(), lang="en")
    assert "'=HYPERLINK" in buffer.getvalue().decode("utf-8-sig").splitlines()[1]


INITIATIVE_ROW = (
    7,
    "SEN",
    "project",
    FORMULA,
    "ongoing",
    date(2019, 6, 1),
    None,
    "regional",
    "SEN;ETH;MLI",
    "D3;D1",
    None,
    Decimal("1000000.00"),
    "USD",
    Decimal("912345.67"),
    "FRA;EU",
    "published",
)


def test_initiatives_csv_writes_a_header_and_the_database_lines() -> None:
    buffer = io.BytesIO()
    seen: list[int] = []
    batches = [["JV-000007,SEN,Projet", 'JV-000008,MLI,"a, b"'], [], ["JV-000009,ETH,Politique"]]
    written = render.write_initiatives_csv(buffer, batches, lang="fr", progress=seen.append)
    assert written == 3 and seen == [2, 0, 1]
    data = buffer.getvalue()
    assert data.startswith("\ufeff".encode()) and data.endswith(b"\r\n")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",")[:3] == ["Référence", "Partenaire déclarant", "Type"]
    assert lines[1:] == [*batches[0], *batches[2], ""]


def test_initiatives_xlsx_reads_back_with_text_kept_as_text() -> None:
    buffer = io.BytesIO()
    render.write_initiatives_xlsx(buffer, [[INITIATIVE_ROW]], lang="en")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    [header, row] = workbook.get_sheet_by_name("Initiatives").to_python()
    assert header[:4] == ["Reference", "Reporting partner", "Kind", "Title"]
    assert row[3] == "'" + FORMULA
    assert row[5] == date(2019, 6, 1)
    assert row[13] == pytest.approx(912345.67)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Initiatives"]
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == "A1:P2"
    assert sheet["N2"].number_format == '#,##0.00 "EUR"'
    # No cell of the file is a formula.
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


def test_summary_workbook_has_sheets_charts_and_french_labels() -> None:
    summaries = {
        dimension: make_summary(dimension)
        for dimension in ("countries", "regions", "processes", "domains", "priorities")
    }
    gaps = Gaps(
        filters=SummaryFilters(),
        active_statuses=["ongoing"],
        few=2,
        priorities=[],
        countries=[],
        overlaps=[],
    )
    buffer = io.BytesIO()
    render.write_summary_xlsx(
        buffer,
        summaries=summaries,
        gaps=gaps,
        initiatives=[[INITIATIVE_ROW]],
        lang="fr",
        generated_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
    assert workbook.sheet_names == [
        "Résumé",
        "Pays",
        "Régions",
        "Processus",
        "Domaines",
        "Priorités",
        "Année de début",
        "Lacunes - priorités",
        "Lacunes - pays",
        "Chevauchements",
        "Initiatives",
    ]
    domains = workbook.get_sheet_by_name("Domaines").to_python()
    assert domains[1][:3] == ["D1", "Développement", 2.0]
    assert domains[-1][1:3] == ["Total (compte distinct)", 2.0]
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 2  # domains and processes
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Pays"]
    assert sheet.freeze_panes == "C2"
    assert sheet["K1"].value == "Budget mis en œuvre (EUR)"


# xlsxwriter's constant-memory mode copies text that starts with <r> and ends with </r>
# into the sheet as raw XML: this one would add a formula cell.
RICH_INJECTION = (
    '<r><t>a</t></r></is></c><c r="Z9"><f>HYPERLINK("http://evil")</f></c><c t="inlineStr"><is><r>'
)
ODD_TEXT = ["<r>x</r>", RICH_INJECTION, "<r>a & b < c</r>", "<b>bold</b>"]


@pytest.mark.parametrize("text", ODD_TEXT)
def test_initiatives_xlsx_keeps_markup_like_titles_and_funders_as_typed(text: str) -> None:
    buffer = io.BytesIO()
    row = (*INITIATIVE_ROW[:3], text, *INITIATIVE_ROW[4:14], text, INITIATIVE_ROW[15])
    render.write_initiatives_xlsx(buffer, [[row]], lang="en")
    [_header, read] = (
        CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue()))
        .get_sheet_by_name("Initiatives")
        .to_python()
    )
    assert (read[3], read[14]) == (text, text)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Initiatives"]
    assert sheet["D2"].value == text and sheet.max_column == 16
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
