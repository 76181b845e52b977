"""Safe reading of uploads: sniffing, zip bombs, formulas, columns found by key or header."""

import io
import struct
import zipfile
from datetime import datetime

import openpyxl
import pytest

from jvap.campaigns.parsing import (
    METADATA_SHEET,
    ParsedFile,
    _scan_members,
    biff_formula_cells,
    has_formula_tag,
    read_questionnaire,
    sniff_format,
)
from jvap.campaigns.template import DATA_SHEET, TemplateRow
from jvap.campaigns.validation import header_aliases
from jvap.initiatives.rules import FIELDS
from tests.campaigns.workbooks import NEW_ROW, fill, open_book, record, save, template_bytes

LIMIT = 200 * 1024 * 1024


def read(content: bytes, limit: int = LIMIT) -> ParsedFile:
    return read_questionnaire(
        content, keys=list(FIELDS), aliases=header_aliases(), max_uncompressed=limit
    )


def codes(parsed: ParsedFile) -> list[str]:
    return [issue.code for issue in parsed.issues]


def prefilled() -> bytes:
    rows = [
        TemplateRow(ref="JV-000001", revision=2, record=record()),
        TemplateRow(ref="JV-000002", revision=1, record=record(title="Second")),
    ]
    return template_bytes(rows=rows)


def minimal_ods(rows: list[list[str]], formula_at: tuple[int, int] | None = None) -> bytes:
    """A hand-made OpenDocument spreadsheet: one table, string cells, maybe one formula."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"'
    )
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            if formula_at == (r, c):
                cells.append(
                    '<table:table-cell table:formula="of:=1+1" office:value-type="float" '
                    'office:value="2"><text:p>2</text:p></table:table-cell>'
                )
            else:
                cells.append(
                    f'<table:table-cell office:value-type="string"><text:p>{value}</text:p>'
                    "</table:table-cell>"
                )
        body.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Initiatives">'
        f"{''.join(body)}</table:table></office:spreadsheet></office:body>"
        f"</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_reads_the_template_rows_by_field_key_with_metadata() -> None:
    parsed = read(prefilled())
    assert parsed.format == "xlsx"
    assert parsed.sheet == DATA_SHEET
    assert parsed.metadata["campaign"] == "T2025"
    assert parsed.metadata["partner"] == "SEN"
    assert list(parsed.columns) == list(FIELDS)
    assert [row.number for row in parsed.rows] == [3, 4]
    assert parsed.rows[0].cells["ref"] == "JV-000001"
    assert parsed.rows[0].cells["revision"] == 2
    assert parsed.rows[1].cells["title"] == "Second"
    assert parsed.issues == []


def test_blank_rows_are_skipped_and_row_numbers_kept() -> None:
    book = open_book(fill(prefilled(), new_rows=[NEW_ROW]))
    sheet = book[DATA_SHEET]
    sheet.insert_rows(4, 2)  # two blank rows between the first and second initiative
    parsed = read(save(book))
    assert [row.number for row in parsed.rows] == [3, 6, 7]


def test_reordered_columns_parse_by_key() -> None:
    book = open_book(prefilled())
    sheet = book[DATA_SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    order = list(reversed(range(len(FIELDS))))
    for r, row in enumerate(values, start=1):
        for c, source in enumerate(order, start=1):
            sheet.cell(r, c).value = row[source]
    parsed = read(save(book))
    assert parsed.columns["ref"].letter == "W"
    assert parsed.columns["remarks"].letter == "A"
    assert parsed.rows[0].cells["ref"] == "JV-000001"
    assert parsed.rows[1].cells["title"] == "Second"


def test_relabelled_headers_still_parse_when_the_key_row_is_there() -> None:
    book = open_book(prefilled())
    sheet = book[DATA_SHEET]
    for cell in sheet[2]:
        cell.value = f"Column {cell.column}"
    parsed = read(save(book))
    assert parsed.columns["title"].header == "Column 4"
    assert parsed.rows[1].cells["title"] == "Second"


def test_without_the_key_row_translated_headers_are_matched_by_label() -> None:
    book = open_book(template_bytes(lang="fr", rows=[TemplateRow("JV-000001", 1, record())]))
    book[DATA_SHEET].delete_rows(1)
    parsed = read(save(book))
    assert parsed.sheet == DATA_SHEET
    assert set(parsed.columns) == set(FIELDS)
    assert parsed.rows[0].number == 2
    assert parsed.rows[0].cells["kind"] == "Projet"


def test_a_hand_made_sheet_with_english_headers_parses() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title", "Type of initiative", "STATUS", "Notes of mine"])
    sheet.append(["A project", "Project", "Ongoing", "x"])
    parsed = read(save(book))
    assert set(parsed.columns) == {"title", "kind", "status"}
    assert parsed.metadata == {}
    assert codes(parsed) == ["unknown_column"]
    assert parsed.issues[0].severity == "warning"
    assert parsed.issues[0].column == "D"


def test_a_column_given_twice_is_an_error() -> None:
    book = open_book(prefilled())
    sheet = book[DATA_SHEET]
    sheet.cell(1, 25, "title")
    sheet.cell(2, 25, "Title again")
    parsed = read(save(book))
    [issue] = parsed.issues
    assert (issue.code, issue.severity, issue.column, issue.row) == (
        "duplicate_column",
        "error",
        "Y",
        2,
    )


def test_formula_cells_are_flagged_at_their_cell_and_not_evaluated() -> None:
    content = fill(prefilled(), edits={"JV-000002": {"budget": "=1000*2"}})
    parsed = read(content)
    [issue] = parsed.issues
    assert (issue.code, issue.severity, issue.sheet, issue.row, issue.column, issue.field) == (
        "formula_cell",
        "error",
        DATA_SHEET,
        4,
        "M",
        "budget",
    )
    assert parsed.rows[1].cells["budget"] == ""  # no cached value, nothing computed


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<c r="M4"><f>1000*2</f><v></v></c>', True),
        (b'<x:c r="M4"><x:f>SUM(A1:A3)</x:f></x:c>', True),
        (b'<c r="M5"><f t="shared" si="0"/></c>', True),
        (b"<c><f/></c>", True),
        (b'<c r="D4" t="inlineStr"><is><t>of fish: f &lt;f</t></is></c>', False),
        (b'<worksheet xmlns:fx="urn:x"><formula1>"a,b"</formula1></worksheet>', False),
        (b"f", False),
        (b"", False),
    ],
)
def test_formula_tags_are_told_from_text_and_other_tags(xml: bytes, expected: bool) -> None:
    assert has_formula_tag(xml) is expected


@pytest.mark.parametrize("offset", [-3, -2, -1, 0, 1])
def test_a_formula_tag_split_between_two_read_chunks_is_found(offset: int) -> None:
    """The scan reads members 1 MiB at a time: a tag cut at the boundary still counts."""
    head = b"<worksheet><sheetData><row><c>"
    start = (1 << 20) + offset  # where "<f>" begins in the sheet XML
    xml = head + b" " * (start - len(head)) + b"<f>1+1</f></c></row></sheetData></worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", xml)
    with zipfile.ZipFile(buffer) as archive:
        assert _scan_members(archive, LIMIT, "xlsx") == ["xl/worksheets/sheet1.xml"]


def biff_record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def biff_stream(sheets: dict[str, list[tuple[int, int]]]) -> bytes:
    """A BIFF8 workbook stream: globals naming each sheet, then one substream per sheet
    with a number cell (NUMBER, 0x0203) and the given FORMULA (0x0006) cells."""
    bof = biff_record(0x0809, struct.pack("<HH", 0x0600, 0x0005) + b"\0" * 12)
    eof = biff_record(0x000A, b"")

    def boundsheet(offset: int, name: str) -> bytes:
        wide = not name.isascii()
        chars = name.encode("utf-16-le" if wide else "latin-1")
        return biff_record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), wide) + chars)

    bodies = []
    for cells in sheets.values():
        body = bof.replace(b"\x05\x00", b"\x10\x00", 1)  # a worksheet substream
        body += biff_record(0x0203, struct.pack("<HHHd", 0, 0, 15, 1.0))
        for row, col in cells:
            body += biff_record(0x0006, struct.pack("<HHH", row, col, 15) + b"\0" * 14)
        bodies.append(body + eof)
    globals_size = len(bof) + len(eof) + sum(len(boundsheet(0, n)) for n in sheets)
    offsets, offset = [], globals_size
    for body in bodies:
        offsets.append(offset)
        offset += len(body)
    head = bof + b"".join(boundsheet(o, n) for o, n in zip(offsets, sheets, strict=True)) + eof
    return head + b"".join(bodies)


def test_biff_formula_cells_are_found_per_sheet_with_one_based_rows() -> None:
    stream = biff_stream({"Initiatives": [(3, 12), (9, 0)], "Données é": [(0, 1)]})
    assert biff_formula_cells(stream) == {
        ("Initiatives", 4, 12),
        ("Initiatives", 10, 0),
        ("Données é", 1, 1),
    }
    assert biff_formula_cells(biff_stream({"Initiatives": []})) == set()
    assert biff_formula_cells(stream[:30]) == set()  # cut short: nothing made up


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not_a_spreadsheet"),
        (b"title,kind\nA,project\n", "not_a_spreadsheet"),
        (b"PK\x03\x04 truncated zip", "not_a_spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "unreadable_file"),
    ],
)
def test_files_that_are_not_spreadsheets_are_refused(content: bytes, code: str) -> None:
    parsed = read(content)
    assert codes(parsed) == [code]
    assert parsed.issues[0].severity == "error"
    assert not parsed.readable
    assert parsed.rows == []


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert sniff_format(buffer.getvalue()) is None
    assert codes(read(buffer.getvalue())) == ["not_a_spreadsheet"]


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    content = buffer.getvalue()
    assert len(content) < 1024 * 1024
    parsed = read(content)
    assert codes(parsed) == ["suspicious_compression"]
    parsed = read(content, limit=16 * 1024 * 1024)
    assert codes(parsed) == ["too_large_uncompressed"]


def test_the_uncompressed_size_limit_applies_to_ordinary_workbooks_too() -> None:
    parsed = read(prefilled(), limit=20_000)
    assert codes(parsed) == ["too_large_uncompressed"]


def test_a_zip_whose_headers_lie_about_sizes_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * 100_000)
    content = bytearray(buffer.getvalue())
    # Shrink the declared uncompressed size of the sheet in its central directory entry.
    name = b"xl/worksheets/sheet1.xml"
    entry = content.rfind(b"PK\x01\x02", 0, content.rfind(name))
    content[entry + 24 : entry + 28] = (100).to_bytes(4, "little")
    assert codes(read(bytes(content))) == ["unreadable_file"]


def test_ods_files_are_read_and_their_formulas_flagged() -> None:
    rows = [
        ["ref", "kind", "title", "status"],
        ["JVAP reference", "Type", "Title", "Status"],
        ["", "Project", "From LibreOffice", "Ongoing"],
    ]
    parsed = read(minimal_ods(rows, formula_at=(2, 2)))
    assert parsed.format == "ods"
    assert parsed.rows[0].cells["kind"] == "Project"
    [issue] = parsed.issues
    assert (issue.code, issue.row, issue.column) == ("formula_cell", 3, "C")


def test_no_questionnaire_sheet() -> None:
    book = openpyxl.Workbook()
    book.active.append(["Name", "Date"])
    book.active.append(["x", datetime(2020, 1, 1)])
    assert codes(read(save(book))) == ["no_questionnaire_sheet"]


def test_metadata_sheet_is_never_taken_for_the_questionnaire() -> None:
    book = open_book(prefilled())
    del book[DATA_SHEET]
    parsed = read(save(book))
    assert METADATA_SHEET not in (parsed.sheet or "")
    assert codes(parsed) == ["no_questionnaire_sheet"]
