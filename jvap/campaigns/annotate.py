"""The partner's own workbook sent back with flagged cells coloured and commented."""

import io
import re
import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook as WorkbookType
from python_calamine import CalamineError, CalamineWorkbook

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
ISSUES_TITLE = {"en": "Issues", "fr": "Problèmes"}
HEADERS = {
    "en": ["Severity", "Sheet", "Cell", "Field", "Code", "Message", "Value", "Suggestion"],
    "fr": ["Gravité", "Feuille", "Cellule", "Champ", "Code", "Message", "Valeur", "Suggestion"],
}
SEVERITY = {
    "en": {"error": "error", "warning": "warning"},
    "fr": {"error": "erreur", "warning": "avertissement"},
}
# Control characters a worksheet cannot hold (openpyxl refuses them); an uploaded cell can
# carry one (Excel writes it as _x0000_), and the report quotes the cell.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

NOTE = {
    "en": "The uploaded file could not be opened; the problems are listed below.",
    "fr": "Le fichier déposé n'a pas pu être ouvert ; les problèmes sont listés ci-dessous.",
}


def _open_original(content: bytes, fmt: str | None, sheet: str | None) -> WorkbookType | None:
    """The upload as an openpyxl workbook: the file itself for .xlsx, a copy of the
    questionnaire sheet's values for .xls and .ods."""
    if fmt == "xlsx":
        try:
            with warnings.catch_warnings():
                # openpyxl drops extensions it does not know (LibreOffice's, Excel's) and warns.
                warnings.simplefilter("ignore")
                return load_workbook(io.BytesIO(content), rich_text=False)
        except (InvalidFileException, KeyError, ValueError, OSError, TypeError):
            return None
    if fmt in ("xls", "ods") and sheet:
        try:
            with CalamineWorkbook.from_filelike(io.BytesIO(content)) as source:
                rows = source.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except CalamineError:
            return None
        workbook = Workbook()
        copy = workbook.active
        assert copy is not None
        copy.title = sheet[:31]
        for row in rows:
            copy.append([_visible(value) if isinstance(value, str) else value for value in row])
        return workbook
    return None


def annotate(
    content: bytes,
    *,
    fmt: str | None,
    sheet: str | None,
    issues: Sequence[dict[str, Any]],
    lang: str = "en",
) -> bytes:
    """Bytes of an .xlsx: the upload with every located issue marked, plus an Issues sheet.

    `issues` are the stored issue dicts (sheet, row, column, severity, messages...). A file
    that cannot be opened at all comes back as a workbook with the Issues sheet alone.
    """
    lang = lang if lang in HEADERS else "en"
    workbook = _open_original(content, fmt, sheet) if sheet else None
    opened = workbook is not None
    if workbook is None:
        workbook = Workbook()
        default = workbook.active
        if default is not None:
            workbook.remove(default)
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for issue in issues:
        if issue.get("sheet") and issue.get("row"):
            cell = f"{issue.get('column') or 'A'}{issue['row']}"
            by_cell[(issue["sheet"], cell)].append(issue)
    for (sheet_name, ref), found in by_cell.items():
        if sheet_name not in workbook.sheetnames:
            continue
        cell = workbook[sheet_name][ref]
        is_error = any(item.get("severity") == "error" for item in found)
        cell.fill = ERROR_FILL if is_error else WARNING_FILL
        text = "\n".join(_message(item, lang) for item in found)
        comment = Comment(_visible(text)[:30000], "jvap")
        comment.width, comment.height = 320, min(60 + 40 * len(found), 400)
        cell.comment = comment

    title = ISSUES_TITLE[lang]
    if title in workbook.sheetnames:
        workbook.remove(workbook[title])
    report = workbook.create_sheet(title, 0)
    if not opened:
        report.append([NOTE[lang]])
    report.append(HEADERS[lang])
    for cell in report[report.max_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for issue in issues:
        location = f"{issue.get('column') or ''}{issue.get('row') or ''}"
        report.append(
            [
                SEVERITY[lang].get(issue.get("severity", ""), issue.get("severity")),
                issue.get("sheet"),
                location or None,
                issue.get("field"),
                issue.get("code"),
                _visible(_message(issue, lang)),
                _cell_value(issue.get("value")),
                _cell_value(issue.get("suggestion")),
            ]
        )
        fill = ERROR_FILL if issue.get("severity") == "error" else WARNING_FILL
        report.cell(report.max_row, 1).fill = fill
    for letter, width in zip("ABCDEFGH", (12, 14, 8, 16, 24, 90, 24, 20), strict=True):
        report.column_dimensions[letter].width = width
    # Freeze below the header row (the second row when a note comes first).
    report.freeze_panes = "A2" if opened else "A3"
    workbook.active = 0
    for worksheet in workbook.worksheets:
        worksheet.sheet_view.tabSelected = worksheet is report
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _message(issue: dict[str, Any], lang: str) -> str:
    text = issue.get(f"message_{lang}") or issue.get("message") or issue.get("code", "")
    if issue.get("suggestion"):
        text += f" → {issue['suggestion']}"
    return str(text)


def _visible(text: str) -> str:
    """`text` with each control character shown as its symbol (U+2400 + code: ␀, ␁, ...)."""
    return CONTROL_CHARACTERS.sub(lambda found: chr(0x2400 + ord(found.group())), text)


def _cell_value(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    return _visible(str(value))
