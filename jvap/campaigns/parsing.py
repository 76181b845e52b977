"""Safe reading of an uploaded questionnaire: file bytes -> raw cells keyed by field."""

import io
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any
from xml.etree import ElementTree

import numpy as np
import olefile
from python_calamine import CalamineError, CalamineWorkbook

from jvap.campaigns.issues import Issue, column_letter
from jvap.reference.countries import fold

METADATA_SHEET = "_jvap"
LISTS_SHEET = "_lists"
TEMPLATE_MARK = "jvap-questionnaire"
HEADER_SCAN_ROWS = 10  # the key and header rows are looked for in the first rows only
MIN_MATCHED_COLUMNS = 3
MAX_ZIP_MEMBERS = 2000
# Above this size a member whose compression ratio is higher is treated as a zip bomb;
# real sheet XML compresses 10-30 times, repetitive sheets rarely beyond 100.
RATIO_CHECK_FROM = 1024 * 1024
MAX_RATIO = 250

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

Cell = Any

MESSAGES: dict[str, tuple[str, str]] = {
    "empty_file": ("The file is empty.", "Le fichier est vide."),
    "not_a_spreadsheet": (
        "This file is not a spreadsheet: upload the questionnaire as .xlsx (or .xls, .ods).",
        "Ce fichier n'est pas un classeur : envoyez le questionnaire au format .xlsx "
        "(ou .xls, .ods).",
    ),
    "unreadable_file": (
        "The spreadsheet cannot be read ({reason}); save it again as .xlsx and retry.",
        "Le classeur est illisible ({reason}) ; enregistrez-le à nouveau en .xlsx et réessayez.",
    ),
    "encrypted_file": (
        "The spreadsheet is password-protected; remove the password and upload it again.",
        "Le classeur est protégé par un mot de passe ; retirez-le et envoyez-le à nouveau.",
    ),
    "too_large_uncompressed": (
        "The spreadsheet expands to {size} bytes once uncompressed, more than the {limit} "
        "allowed; it is refused as a possible zip bomb.",
        "Le classeur occupe {size} octets une fois décompressé, plus que les {limit} permis ; "
        "il est refusé (bombe de décompression possible).",
    ),
    "suspicious_compression": (
        "A part of the spreadsheet ({member}) is compressed {ratio} times, which only "
        "happens in zip bombs; the file is refused.",
        "Une partie du classeur ({member}) est compressée {ratio} fois, ce qui n'arrive que "
        "dans les bombes de décompression ; le fichier est refusé.",
    ),
    "too_many_parts": (
        "The spreadsheet has {count} internal parts; at most {limit} are accepted.",
        "Le classeur contient {count} parties internes ; {limit} au plus sont acceptées.",
    ),
    "no_questionnaire_sheet": (
        "No sheet has the questionnaire's columns (field keys or headers such as Title, Status, "
        "JVAP domains); start from the template downloaded for this campaign.",
        "Aucune feuille ne contient les colonnes du questionnaire (clés de champ ou en-têtes "
        "tels que Titre, Statut, Domaines du PACV) ; partez du modèle téléchargé pour cette "
        "campagne.",
    ),
    "unknown_column": (
        "Column {column} ({header!r}) is not part of the questionnaire and is ignored.",
        "La colonne {column} ({header!r}) ne fait pas partie du questionnaire et est ignorée.",
    ),
    "duplicate_column": (
        "Field {key!r} appears in columns {first} and {column}; keep one column per field.",
        "Le champ {key!r} apparaît dans les colonnes {first} et {column} ; gardez une seule "
        "colonne par champ.",
    ),
    "formula_cell": (
        "This cell contains a formula; formulas are not evaluated. Replace it by its value "
        "(copy, then paste special > values only).",
        "Cette cellule contient une formule ; les formules ne sont pas évaluées. Remplacez-la "
        "par sa valeur (copier, puis collage spécial > valeurs uniquement).",
    ),
}


def file_issue(code: str, *, severity: str = "error", **values: Any) -> Issue:
    english, french = MESSAGES[code]
    return Issue(
        severity=severity,  # type: ignore[arg-type]
        code=code,
        message_en=english.format(**values),
        message_fr=french.format(**values),
        sheet=values.get("sheet"),
        row=values.get("row"),
        column=values.get("column"),
        field=values.get("key"),
        value=values.get("value"),
    )


class FileRejected(Exception):
    """The file cannot be read at all; `issue` says why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message_en)
        self.issue = issue


@dataclass(frozen=True, slots=True)
class Column:
    index: int  # 0-based
    letter: str
    key: str
    header: str


@dataclass(slots=True)
class RawRow:
    number: int  # the spreadsheet's 1-based row number
    keys: tuple[str, ...]  # the field key of each cell: one tuple shared by every row
    values: tuple[Cell, ...]  # the cells, in the file's column order

    @property
    def cells(self) -> dict[str, Cell]:
        """Field key -> cell (built on demand: most rows are only read column by column)."""
        return dict(zip(self.keys, self.values, strict=True))


@dataclass(slots=True)
class ParsedFile:
    """What the reader found: format, template metadata, columns, rows and file-level issues."""

    format: str | None = None
    sheet: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    columns: dict[str, Column] = field(default_factory=dict)
    rows: list[RawRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # (sheet, 1-based row, 0-based column) of every formula cell found
    formula_cells: frozenset[tuple[str, int, int]] = frozenset()

    @property
    def readable(self) -> bool:
        return self.format is not None and self.sheet is not None

    def cells_of(self, key: str) -> list[Cell]:
        """One column's cells, row by row; none when the file lacks the column."""
        if not self.rows or key not in self.rows[0].keys:
            return []
        index = self.rows[0].keys.index(key)
        return [row.values[index] for row in self.rows]

    def column_cells(self) -> dict[str, tuple[Cell, ...]]:
        """Field key -> that column's cells, row by row (one transposition of the rows)."""
        if not self.rows:
            return {}
        columns = zip(*(row.values for row in self.rows), strict=True)
        return dict(zip(self.rows[0].keys, columns, strict=True))


# --- sniffing and zip safety -----------------------------------------------------------


def sniff_format(content: bytes) -> str | None:
    """`xlsx`, `ods` or `xls` from the file's bytes (never from its name), or None."""
    if content.startswith(OLE2_MAGIC):
        return "xls"
    if not content.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                return "xlsx"
            if (
                "mimetype" in names
                and archive.getinfo("mimetype").file_size < 200
                and archive.read("mimetype").strip() == ODS_MIMETYPE
            ):
                return "ods"
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


_SHEET_DATA_END = re.compile(rb"</\w+:sheetData>")
# A formula cell holds an <f> element (no other sheet-data tag is named "f"), possibly
# namespace-prefixed (<x:f>): an "f" after "<" or ":" and before a space, ">" or "/".
_TAG_END = np.zeros(256, dtype=bool)
_TAG_END[list(b" \t\r\n>/")] = True
_TAG_END.flags.writeable = False
_ODS_FORMULA = re.compile(rb"table:formula=")
_OVERLAP = 64


def _check_declared_sizes(archive: zipfile.ZipFile, max_uncompressed: int) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise FileRejected(file_issue("too_many_parts", count=len(infos), limit=MAX_ZIP_MEMBERS))
    total = sum(info.file_size for info in infos)
    if total > max_uncompressed:
        raise FileRejected(file_issue("too_large_uncompressed", size=total, limit=max_uncompressed))
    for info in infos:
        if info.file_size >= RATIO_CHECK_FROM:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_RATIO:
                raise FileRejected(
                    file_issue("suspicious_compression", member=info.filename, ratio=int(ratio))
                )


def has_formula_tag(xml: bytes) -> bool:
    """Whether sheet XML may hold an <f> element; a false alarm only costs the exact search.

    numpy looks at every "f" at once: a substring test for "<f" is slow on XML, where "<"
    and "f" are everywhere (6 ms against 1.5 ms on a 6 MB sheet).
    """
    data = np.frombuffer(xml, dtype=np.uint8)
    f_at = np.flatnonzero(data[1:-1] == ord("f")) + 1
    before = data[f_at - 1]
    tags = f_at[(before == ord("<")) | (before == ord(":"))]
    return bool(_TAG_END[data[tags + 1]].any())


def _scan_members(archive: zipfile.ZipFile, max_uncompressed: int, fmt: str) -> list[str]:
    """Inflate every member once, bounded; returns the members that hold formulas.

    zipfile stops each member at its declared size and checks its CRC, so a header
    that lies about the size fails here instead of inflating without bound later.
    """
    total = 0
    with_formulas: list[str] = []
    for info in archive.infolist():
        name = info.filename
        is_sheet = fmt == "xlsx" and name.startswith("xl/worksheets/") and name.endswith(".xml")
        is_ods_content = fmt == "ods" and name == "content.xml"
        tail = b""
        found = False
        in_data = True
        with archive.open(info) as member:
            while chunk := member.read(1 << 20):
                total += len(chunk)
                if total > max_uncompressed:
                    raise FileRejected(
                        file_issue("too_large_uncompressed", size=total, limit=max_uncompressed)
                    )
                if found or not (is_sheet or is_ods_content) or not in_data:
                    continue
                window = tail + chunk
                if is_sheet:
                    end = window.find(b"</sheetData>")
                    if end < 0 and b":sheetData>" in window:
                        found_end = _SHEET_DATA_END.search(window)
                        end = found_end.start() if found_end else -1
                    if end >= 0:
                        window = window[:end]
                        in_data = False
                    found = has_formula_tag(window)
                else:
                    found = _ODS_FORMULA.search(window) is not None
                tail = window[-_OVERLAP:]
        if found:
            with_formulas.append(name)
    return with_formulas


def _open_zip(content: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(file_issue("unreadable_file", reason=str(exc))) from exc


def _xlsx_sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part path -> sheet name, from the workbook and its relationships."""
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    ns_pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{ns_pkg}Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[rel.get("Id")] = target
    names = {}
    for sheet in workbook.iter(f"{ns_main}sheet"):
        target = targets.get(sheet.get(f"{ns_rel}id"))
        if target:
            names[target] = sheet.get("name", "")
    return names


_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _xlsx_formula_cells(archive: zipfile.ZipFile, member: str, sheet: str) -> set[tuple]:
    cells: set[tuple[str, int, int]] = set()
    with archive.open(member) as stream:
        for _event, element in ElementTree.iterparse(stream, events=("end",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "c":
                if any(child.tag.rsplit("}", 1)[-1] == "f" for child in element):
                    match = _CELL_REF.match(element.get("r", ""))
                    if match:
                        cells.add((sheet, int(match[2]), _column_index(match[1])))
                element.clear()
            elif tag == "sheetData":
                break
    return cells


def _ods_formula_cells(archive: zipfile.ZipFile) -> set[tuple]:
    table_ns = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    cells: set[tuple[str, int, int]] = set()
    sheet, row, col = "", 0, 0
    with archive.open("content.xml") as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == f"{{{table_ns}}}table":
                    sheet, row = element.get(f"{{{table_ns}}}name", ""), 0
                elif tag == f"{{{table_ns}}}table-row":
                    row += 1
                    col = 0
                continue
            if tag in (f"{{{table_ns}}}table-cell", f"{{{table_ns}}}covered-table-cell"):
                if element.get(f"{{{table_ns}}}formula") is not None:
                    cells.add((sheet, row, col))
                col += int(element.get(f"{{{table_ns}}}number-columns-repeated", "1"))
                element.clear()
            elif tag == f"{{{table_ns}}}table-row":
                row += int(element.get(f"{{{table_ns}}}number-rows-repeated", "1")) - 1
    return cells


def inspect_archive(content: bytes, fmt: str, max_uncompressed: int) -> frozenset[tuple]:
    """Zip-bomb checks for a zipped format; returns the formula cells it holds."""
    with _open_zip(content) as archive:
        _check_declared_sizes(archive, max_uncompressed)
        try:
            members = _scan_members(archive, max_uncompressed, fmt)
            cells: set[tuple[str, int, int]] = set()
            if fmt == "xlsx" and members:
                names = _xlsx_sheet_names(archive)
                for member in members:
                    cells |= _xlsx_formula_cells(archive, member, names.get(member, member))
            elif fmt == "ods" and members:
                cells = _ods_formula_cells(archive)
        except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, EOFError) as exc:
            raise FileRejected(file_issue("unreadable_file", reason=str(exc))) from exc
    return frozenset(cells)


# --- legacy .xls (BIFF in an OLE2 compound file) ----------------------------------------

_BIFF_BOF, _BIFF_EOF, _BIFF_BOUNDSHEET, _BIFF_FORMULA = 0x0809, 0x000A, 0x0085, 0x0006
_BIFF8 = 0x0600


def xls_formula_cells(content: bytes) -> frozenset[tuple]:
    """The formula cells of an .xls file as (sheet, row number, column index).

    calamine reads the values Excel cached for them; the cells are found here in the
    workbook stream so that they are flagged like those of .xlsx and .ods files.
    """
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if name is None:
                raise FileRejected(file_issue("unreadable_file", reason="no workbook stream"))
            stream = ole.openstream(name).read()
    except (OSError, ValueError, struct.error) as exc:  # olefile's ways of saying "damaged"
        raise FileRejected(file_issue("unreadable_file", reason=str(exc))) from exc
    return frozenset(biff_formula_cells(stream))


def _biff_records(stream: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    """(record type, body) from `start` to the end of that substream (its EOF record)."""
    position = start
    while position + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + size]
        position += 4 + size
        yield kind, body
        if kind == _BIFF_EOF:
            return


def biff_formula_cells(stream: bytes) -> set[tuple[str, int, int]]:
    """Formula cells of a BIFF5/BIFF8 workbook stream: the globals substream lists each
    sheet's name and offset (BOUNDSHEET); each sheet holds one FORMULA record per formula
    cell, 0-based row and column first."""
    sheets: list[tuple[int, str]] = []
    version = _BIFF8
    for kind, body in _biff_records(stream, 0):
        if kind == _BIFF_BOF and len(body) >= 2:
            version = struct.unpack_from("<H", body)[0]
        elif kind == _BIFF_BOUNDSHEET and len(body) >= 7:
            offset, count = struct.unpack_from("<I", body)[0], body[6]
            if version >= _BIFF8:
                wide = len(body) > 7 and body[7] & 1
                raw = body[8 : 8 + count * (2 if wide else 1)]
                sheet = raw.decode("utf-16-le" if wide else "latin-1")
            else:
                sheet = body[7 : 7 + count].decode("cp1252", errors="replace")
            sheets.append((offset, sheet))
    cells: set[tuple[str, int, int]] = set()
    for offset, sheet in sheets:
        for kind, body in _biff_records(stream, offset):
            if kind == _BIFF_FORMULA and len(body) >= 4:
                row, col = struct.unpack_from("<HH", body)
                cells.add((sheet, row + 1, col))
    return cells


# --- workbook reading --------------------------------------------------------------------


def _load(content: bytes) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(content))
    except CalamineError as exc:
        code = "encrypted_file" if "password" in str(exc).lower() else "unreadable_file"
        raise FileRejected(file_issue(code, reason=str(exc))) from exc
    except (OSError, ValueError) as exc:
        raise FileRejected(file_issue("unreadable_file", reason=str(exc))) from exc


def _sheet_rows(workbook: CalamineWorkbook, name: str) -> list[list[Cell]]:
    try:
        return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise FileRejected(file_issue("unreadable_file", reason=str(exc))) from exc


def read_metadata(rows: list[list[Cell]]) -> dict[str, str]:
    """Key/value pairs of the hidden metadata sheet (column A: key, column B: value)."""
    metadata = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str) and row[0].strip():
            value = row[1]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            metadata[row[0].strip()] = "" if value is None else str(value).strip()
    return metadata


def _find_columns(
    rows: list[list[Cell]], keys: Sequence[str], aliases: Mapping[str, str]
) -> tuple[int, int, dict[int, str], dict[int, str]] | None:
    """(header row index, first data row index, column -> key, column -> header) or None.

    The template's hidden row of field keys wins; without it, headers are matched by label
    (English or French, any case), so reordered, relabelled or translated headers parse.
    """
    known = set(keys)
    scan = rows[:HEADER_SCAN_ROWS]
    for index, row in enumerate(scan):
        found = {
            col: value.strip()
            for col, value in enumerate(row)
            if isinstance(value, str) and value.strip() in known
        }
        if len(found) >= MIN_MATCHED_COLUMNS:
            headers_row = rows[index + 1] if index + 1 < len(rows) else []
            headers = {
                col: str(value).strip()
                for col, value in enumerate(headers_row)
                if value not in (None, "")
            }
            for col, value in enumerate(row):
                if col not in found and value not in (None, ""):
                    headers.setdefault(col, str(value).strip())
                    found[col] = ""
            return index + 1, index + 2, found, headers
    for index, row in enumerate(scan):
        found = {}
        headers = {}
        for col, value in enumerate(row):
            if value in (None, ""):
                continue
            headers[col] = str(value).strip()
            found[col] = aliases.get(fold(str(value)), "")
        if sum(1 for key in found.values() if key) >= MIN_MATCHED_COLUMNS:
            return index, index + 1, found, headers
    return None


def _candidate_sheets(workbook: CalamineWorkbook, named: str | None) -> Iterator[str]:
    """The sheet the template metadata names first, then the others in workbook order."""
    names = [
        m.name for m in workbook.sheets_metadata if m.name not in (METADATA_SHEET, LISTS_SHEET)
    ]
    if named in names:
        yield named
    yield from (name for name in names if name != named)


def read_questionnaire(
    content: bytes,
    *,
    keys: Sequence[str],
    aliases: Mapping[str, str],
    max_uncompressed: int,
) -> ParsedFile:
    """Read the questionnaire sheet of `content` without evaluating anything.

    `keys` are the field keys in questionnaire order; `aliases` maps folded header labels
    (English, French, keys) to keys. A file that cannot be read at all comes back with a
    single error issue and no rows.
    """
    parsed = ParsedFile()
    try:
        _read_into(parsed, content, keys, aliases, max_uncompressed)
    except FileRejected as rejected:
        parsed.sheet = None
        parsed.rows = []
        parsed.issues = [rejected.issue]
    return parsed


def _read_into(
    parsed: ParsedFile,
    content: bytes,
    keys: Sequence[str],
    aliases: Mapping[str, str],
    max_uncompressed: int,
) -> None:
    if not content:
        raise FileRejected(file_issue("empty_file"))
    fmt = sniff_format(content)
    if fmt is None:
        raise FileRejected(file_issue("not_a_spreadsheet"))
    parsed.format = fmt
    if fmt in ("xlsx", "ods"):
        parsed.formula_cells = inspect_archive(content, fmt, max_uncompressed)
    else:
        parsed.formula_cells = xls_formula_cells(content)
    workbook = _load(content)
    with workbook:
        if METADATA_SHEET in workbook.sheet_names:
            parsed.metadata = read_metadata(_sheet_rows(workbook, METADATA_SHEET))
        for name in _candidate_sheets(workbook, parsed.metadata.get("sheet")):
            rows = _sheet_rows(workbook, name)
            located = _find_columns(rows, keys, aliases)
            if located is not None:
                parsed.sheet = name
                _collect(parsed, name, rows, *located)
                return
    raise FileRejected(file_issue("no_questionnaire_sheet"))


def _collect(
    parsed: ParsedFile,
    sheet: str,
    rows: list[list[Cell]],
    header_index: int,
    data_index: int,
    keys_by_column: dict[int, str],
    headers: dict[int, str],
) -> None:
    columns: dict[str, Column] = {}
    for col in sorted(set(keys_by_column) | set(headers)):
        key = keys_by_column.get(col, "")
        letter = column_letter(col)
        header = headers.get(col, "")
        if not key:
            if header:
                parsed.issues.append(
                    file_issue(
                        "unknown_column",
                        severity="warning",
                        sheet=sheet,
                        row=header_index + 1,
                        column=letter,
                        header=header,
                    )
                )
            continue
        if key in columns:
            parsed.issues.append(
                file_issue(
                    "duplicate_column",
                    sheet=sheet,
                    row=header_index + 1,
                    column=letter,
                    key=key,
                    first=columns[key].letter,
                )
            )
            continue
        columns[key] = Column(index=col, letter=letter, key=key, header=header)
    parsed.columns = columns
    keys = tuple(column.key for column in columns.values())
    indexes = [column.index for column in columns.values()]
    width = max(indexes, default=-1) + 1
    pick = itemgetter(*indexes) if len(indexes) > 1 else (lambda row: (row[indexes[0]],))
    formula_columns = {(row, col) for (name, row, col) in parsed.formula_cells if name == sheet}
    number = data_index
    for row in rows[data_index:]:
        number += 1
        if len(row) < width:
            row = [*row, *([""] * (width - len(row)))]
        values = pick(row) if indexes else ()
        # A blank row is skipped; a 0 or False alone on a row is a value, not a blank.
        if not any(values) and all(value == "" or value is None for value in values):
            continue
        parsed.rows.append(RawRow(number, keys, values))
    for row_number, col in sorted(formula_columns):
        key = keys_by_column.get(col) or None
        if row_number <= data_index or key is None:
            continue
        parsed.issues.append(
            file_issue(
                "formula_cell",
                sheet=sheet,
                row=row_number,
                column=column_letter(col),
                key=key,
            )
        )
