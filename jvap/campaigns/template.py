"""The campaign questionnaire workbook (openpyxl): instructions, pre-filled initiatives, lists."""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import pycountry
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from jvap.campaigns.issues import column_letter
from jvap.campaigns.parsing import LISTS_SHEET, METADATA_SHEET, TEMPLATE_MARK
from jvap.initiatives import money
from jvap.initiatives.rules import FIELDS, InitiativeRecord
from jvap.reference.codelists import CODELISTS, TARGET_GROUPS, Code

TEMPLATE_VERSION = "1"
DATA_SHEET = "Initiatives"
KEY_ROW = 1  # hidden: the field keys that identify each column whatever its header says
HEADER_ROW = 2
FIRST_DATA_ROW = 3
LAST_ROW = 1048576
# Single-choice fields offered as a dropdown; the list shows labels in the template language.
DROPDOWN_FIELDS = ("kind", "status", "scope", "funder_category", "gender_marker", "currency")
WIDTHS = {
    "ref": 13,
    "revision": 9,
    "title": 45,
    "description": 60,
    "remarks": 40,
    "funders": 30,
    "implementers": 30,
    "countries": 22,
    "priorities": 18,
    "target_groups": 30,
    "funder_category": 26,
    "entity": 30,
    "website": 30,
    "external_ids": 22,
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "instructions": "Instructions",
        "codes": "Codes",
        "title": "JVAP questionnaire",
        "campaign": "Campaign",
        "partner": "Partner",
        "deadline": "Deadline",
        "version": "Questionnaire version",
        "generated": "Generated on",
        "how": "How to fill in this questionnaire",
        "steps": (
            "1. The sheet 'Initiatives' lists the initiatives already reported by your "
            "partner; update any value that has changed.\n"
            "2. Add each new project or policy on a new row at the bottom, leaving the "
            "reference (JVAP reference) blank.\n"
            "3. Do not change the JVAP reference or the hidden revision column: they link each "
            "row to the database.\n"
            "4. Choose single values from the dropdown lists; separate several values with "
            "semicolons (D1; D3). Write dates as YYYY-MM-DD or DD/MM/YYYY and amounts as "
            "plain numbers, with the currency in its own column.\n"
            "5. Type values, not formulas: formulas are not evaluated.\n"
            "6. You may reorder columns or translate headers; do not delete the hidden first "
            "row.\n"
            "7. Upload the file on the portal before the deadline. Every problem found is "
            "listed with its cell, and you get your workbook back with the cells marked."
        ),
        "columns": "Columns",
        "column": "Column",
        "help": "What to write",
        "code": "Code",
        "label": "Label",
        "domains": "JVAP domains",
        "priorities": "JVAP priorities",
        "domain": "Domain",
        "target_groups": "Target groups",
    },
    "fr": {
        "instructions": "Mode d'emploi",
        "codes": "Codes",
        "title": "Questionnaire du PACV",
        "campaign": "Campagne",
        "partner": "Partenaire",
        "deadline": "Date limite",
        "version": "Version du questionnaire",
        "generated": "Généré le",
        "how": "Comment remplir ce questionnaire",
        "steps": (
            "1. La feuille « Initiatives » liste les initiatives déjà déclarées par votre "
            "partenaire ; mettez à jour toute valeur qui a changé.\n"
            "2. Ajoutez chaque nouveau projet ou politique sur une nouvelle ligne en bas, en "
            "laissant la référence (Référence JVAP) vide.\n"
            "3. Ne modifiez ni la référence JVAP ni la colonne masquée de révision : elles "
            "relient chaque ligne à la base de données.\n"
            "4. Choisissez les valeurs uniques dans les listes déroulantes ; séparez plusieurs "
            "valeurs par des points-virgules (D1; D3). Écrivez les dates AAAA-MM-JJ ou "
            "JJ/MM/AAAA et les montants en chiffres, la devise dans sa propre colonne.\n"
            "5. Saisissez des valeurs, pas des formules : les formules ne sont pas évaluées.\n"
            "6. Vous pouvez réordonner les colonnes ou traduire les en-têtes ; ne supprimez pas "
            "la première ligne masquée.\n"
            "7. Déposez le fichier sur le portail avant la date limite. Chaque problème est "
            "signalé avec sa cellule et vous recevez votre classeur avec les cellules marquées."
        ),
        "columns": "Colonnes",
        "column": "Colonne",
        "help": "Quoi écrire",
        "code": "Code",
        "label": "Libellé",
        "domains": "Domaines du PACV",
        "priorities": "Priorités du PACV",
        "domain": "Domaine",
        "target_groups": "Groupes cibles",
    },
}


@dataclass(frozen=True, slots=True)
class TemplateRow:
    ref: str
    revision: int
    record: InitiativeRecord


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """Everything the workbook shows; gathered by the service, written without a session."""

    campaign_code: str
    campaign_title: str
    opens_on: date
    closes_on: date
    questionnaire_version: str
    partner_code: str
    partner_name: str
    lang: str
    rows: Sequence[TemplateRow]
    domains: Sequence[tuple[str, str]]  # (code, title in lang)
    priorities: Sequence[tuple[str, str, str]]  # (code, domain, title in lang)
    generated_at: datetime


@cache
def eur_currencies() -> tuple[str, ...]:
    """ISO 4217 codes with an EUR reference rate, EUR first: the currency dropdown."""
    codes = sorted(
        c.alpha_3
        for c in pycountry.currencies
        if c.alpha_3 != "EUR" and money.has_eur_rate(c.alpha_3)
    )
    return ("EUR", *codes)


def choices(field_key: str, lang: str) -> list[tuple[str, str]]:
    """(code, shown value) pairs of a dropdown field in `lang`."""
    if field_key == "currency":
        return [(code, code) for code in eur_currencies()]
    return [(item.code, item.label(lang)) for item in CODELISTS[field_key]]


def _label(codes: Sequence[Code], code: str | None, lang: str) -> str | None:
    for item in codes:
        if item.code == code:
            return item.label(lang)
    return code


def display_value(field_key: str, value: Any, lang: str) -> Any:
    """How a record value is written in the questionnaire (labels for codes, `; ` lists)."""
    if value is None or value == []:
        return None
    if field_key == "gender_marker":
        return _label(CODELISTS["gender_marker"], str(value), lang)
    if field_key == "target_groups":
        return "; ".join(_label(TARGET_GROUPS, v, lang) or v for v in value)
    if field_key in CODELISTS:
        return _label(CODELISTS[field_key], value, lang)
    if isinstance(value, list):
        return "; ".join(value)
    return value


def _row_values(row: TemplateRow, keys: Sequence[str], lang: str) -> list[Any]:
    record = row.record
    values: list[Any] = []
    for key in keys:
        if key == "ref":
            values.append(row.ref)
        elif key == "revision":
            values.append(row.revision)
        else:
            values.append(display_value(key, getattr(record, key), lang))
    return values


def build_template(context: TemplateContext) -> bytes:
    """The questionnaire as .xlsx bytes."""
    lang = context.lang if context.lang in TEXT else "en"
    text = TEXT[lang]
    keys = list(FIELDS)
    workbook = Workbook()
    instructions = workbook.active
    assert instructions is not None
    instructions.title = text["instructions"]
    data = workbook.create_sheet(DATA_SHEET)
    codes_sheet = workbook.create_sheet(text["codes"])
    lists = workbook.create_sheet(LISTS_SHEET)
    meta = workbook.create_sheet(METADATA_SHEET)

    _write_instructions(instructions, context, text, keys, lang)
    ranges = _write_lists(lists, lang)
    _write_data(data, context, keys, lang, ranges)
    _write_codes(codes_sheet, context, text, lang)
    _write_metadata(meta, context, lang)
    lists.sheet_state = "hidden"
    meta.sheet_state = "veryHidden"
    # Read-only parts: the guidance, the code tables and what identifies the file. The
    # initiatives sheet stays open: focal points add rows, reorder and translate columns.
    # No password: protection guards against slips, not against a determined user.
    for sheet in (instructions, codes_sheet, lists, meta):
        sheet.protection.sheet = True
    workbook.active = 0

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_instructions(
    sheet: Worksheet, context: TemplateContext, text: dict[str, str], keys: list[str], lang: str
) -> None:
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 100
    sheet.append([text["title"]])
    sheet["A1"].font = TITLE_FONT
    sheet.append([])
    facts = [
        (text["campaign"], f"{context.campaign_code} – {context.campaign_title}"),
        (text["partner"], f"{context.partner_code} – {context.partner_name}"),
        (text["deadline"], context.closes_on),
        (text["version"], context.questionnaire_version),
        (text["generated"], context.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    for label, value in facts:
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    sheet.cell(5, 2).number_format = "yyyy-mm-dd"
    sheet.append([])
    sheet.append([text["how"]])
    sheet.cell(sheet.max_row, 1).font = BOLD
    for line in text["steps"].split("\n"):
        sheet.append([None, line])
        sheet.cell(sheet.max_row, 2).alignment = WRAP
    sheet.append([])
    sheet.append([text["column"], text["help"]])
    for cell in sheet[sheet.max_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for key in keys:
        spec = FIELDS[key]
        sheet.append([spec.label(lang), spec.help(lang)])
        sheet.cell(sheet.max_row, 2).alignment = WRAP


def _write_lists(sheet: Worksheet, lang: str) -> dict[str, str]:
    """One column per dropdown field; returns field key -> absolute range for the dropdown."""
    ranges = {}
    for index, key in enumerate(DROPDOWN_FIELDS):
        letter = column_letter(index)
        sheet.cell(1, index + 1, key)
        values = [shown for _code, shown in choices(key, lang)]
        for row, value in enumerate(values, start=2):
            sheet.cell(row, index + 1, value)
        ranges[key] = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _write_data(
    sheet: Worksheet,
    context: TemplateContext,
    keys: list[str],
    lang: str,
    ranges: dict[str, str],
) -> None:
    sheet.append(keys)
    sheet.append([FIELDS[key].label(lang) for key in keys])
    sheet.row_dimensions[KEY_ROW].hidden = True
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    for index, key in enumerate(keys):
        letter = column_letter(index)
        spec = FIELDS[key]
        header = sheet.cell(HEADER_ROW, index + 1)
        header.font = HEADER_FONT
        header.fill = HEADER_FILL
        header.alignment = WRAP
        comment = Comment(spec.help(lang), "jvap")
        comment.width, comment.height = 300, 120
        header.comment = comment
        sheet.column_dimensions[letter].width = WIDTHS.get(key, 16)
        target = f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_ROW}"
        if key in ranges:
            validation = DataValidation(
                type="list",
                formula1=f"={ranges[key]}",
                allow_blank=True,
                # A warning, not a stop: the upload reads other spellings and explains.
                errorStyle="warning",
                showErrorMessage=True,
            )
        else:
            validation = DataValidation(allow_blank=True)
        validation.showInputMessage = True
        validation.promptTitle = spec.label(lang)[:32]
        validation.prompt = spec.help(lang)[:255]
        validation.add(target)
        sheet.add_data_validation(validation)
    sheet.column_dimensions[column_letter(keys.index("revision"))].hidden = True
    sheet.row_dimensions[HEADER_ROW].height = 32
    for row in context.rows:
        sheet.append(_row_values(row, keys, lang))
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{column_letter(len(keys) - 1)}{HEADER_ROW}"


def _write_codes(
    sheet: Worksheet, context: TemplateContext, text: dict[str, str], lang: str
) -> None:
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 100

    def heading(title: str, columns: list[str]) -> None:
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = BOLD
        sheet.append(columns)
        for cell in sheet[sheet.max_row]:
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL

    heading(text["domains"], [text["code"], "", text["label"]])
    for code, title in context.domains:
        sheet.append([code, None, title])
    sheet.append([])
    heading(text["priorities"], [text["code"], text["domain"], text["label"]])
    for code, domain, title in context.priorities:
        sheet.append([code, domain, title])
    sheet.append([])
    heading(text["target_groups"], [text["code"], "", text["label"]])
    for item in TARGET_GROUPS:
        sheet.append([item.code, None, item.label(lang)])


def _write_metadata(sheet: Worksheet, context: TemplateContext, lang: str) -> None:
    for key, value in (
        ("template", TEMPLATE_MARK),
        ("template_version", TEMPLATE_VERSION),
        ("campaign", context.campaign_code),
        ("partner", context.partner_code),
        ("questionnaire_version", context.questionnaire_version),
        ("language", lang),
        ("sheet", DATA_SHEET),
        ("generated_at", context.generated_at.isoformat(timespec="seconds")),
        ("rows", str(len(context.rows))),
    ):
        sheet.append([key, value])
