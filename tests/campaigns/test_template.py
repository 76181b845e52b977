"""The questionnaire workbook: sheets, hidden key row, dropdowns, help, metadata."""

from datetime import date

import pytest

from jvap.campaigns.parsing import LISTS_SHEET, METADATA_SHEET, TEMPLATE_MARK
from jvap.campaigns.template import DATA_SHEET, TemplateRow, display_value
from jvap.initiatives.rules import FIELDS
from tests.campaigns.workbooks import key_columns, open_book, record, template_bytes


def test_template_has_instructions_initiatives_codes_and_hidden_parts() -> None:
    book = open_book(template_bytes())
    assert book.sheetnames == ["Instructions", DATA_SHEET, "Codes", LISTS_SHEET, METADATA_SHEET]
    assert book[LISTS_SHEET].sheet_state == "hidden"
    assert book[METADATA_SHEET].sheet_state == "veryHidden"
    # Guidance, codes and identification are read-only; the initiatives sheet is open.
    protected = [name for name in book.sheetnames if book[name].protection.sheet]
    assert protected == ["Instructions", "Codes", LISTS_SHEET, METADATA_SHEET]
    instructions = [c for row in book["Instructions"].iter_rows(values_only=True) for c in row]
    assert "T2025 – Campaign T2025" in instructions
    assert "SEN – Senegal" in instructions
    assert any(getattr(c, "year", None) == 2026 for c in instructions)  # the deadline


def test_metadata_identifies_campaign_partner_version_and_template() -> None:
    meta = open_book(template_bytes(campaign="C9", partner="MLI", version="2"))[METADATA_SHEET]
    values = {row[0]: row[1] for row in meta.iter_rows(values_only=True)}
    assert values["template"] == TEMPLATE_MARK
    assert (values["campaign"], values["partner"], values["questionnaire_version"]) == (
        "C9",
        "MLI",
        "2",
    )


def test_columns_carry_field_keys_in_a_hidden_row_and_help_on_headers() -> None:
    sheet = open_book(template_bytes())[DATA_SHEET]
    assert [c.value for c in sheet[1]] == list(FIELDS)
    assert sheet.row_dimensions[1].hidden
    headers = sheet[2]
    assert [c.value for c in headers] == [spec.label_en for spec in FIELDS.values()]
    assert all(c.comment is not None and c.comment.text for c in headers)
    assert sheet.column_dimensions["B"].hidden  # revision


def test_every_single_choice_field_has_a_dropdown_and_every_column_input_help() -> None:
    sheet = open_book(template_bytes())[DATA_SHEET]
    columns = key_columns(sheet)
    lists = {}
    prompts = set()
    for validation in sheet.data_validations.dataValidation:
        column = next(iter(validation.sqref.ranges)).min_col
        key = next(k for k, c in columns.items() if c == column)
        if validation.prompt:
            prompts.add(key)
        if validation.type == "list":
            lists[key] = validation.formula1
    assert set(lists) == {"kind", "status", "scope", "funder_category", "gender_marker", "currency"}
    assert all(LISTS_SHEET in formula for formula in lists.values())
    assert prompts == set(FIELDS)


def test_french_template_uses_french_labels_instructions_and_lists() -> None:
    book = open_book(template_bytes(lang="fr"))
    assert book.sheetnames[0] == "Mode d'emploi"
    sheet = book[DATA_SHEET]
    assert sheet["C2"].value == "Type d'initiative"
    lists = list(book[LISTS_SHEET].iter_rows(values_only=True))
    assert lists[0][0] == "kind"
    assert ("Projet" in [row[0] for row in lists]) and ("En cours" in [row[1] for row in lists])


def test_rows_are_prefilled_with_ref_revision_and_readable_values() -> None:
    rows = [
        TemplateRow(ref="JV-000007", revision=3, record=record()),
        TemplateRow(ref="JV-000009", revision=1, record=record(kind="policy", budget=None)),
    ]
    sheet = open_book(template_bytes(rows=rows, lang="fr"))[DATA_SHEET]
    columns = key_columns(sheet)
    first = {key: sheet.cell(3, col).value for key, col in columns.items()}
    assert first["ref"] == "JV-000007"
    assert first["revision"] == 3
    assert first["kind"] == "Projet"
    assert first["status"] == "En cours"
    assert first["start_date"].date() == date(2018, 1, 1)
    assert first["target_groups"] == "Jeunes"
    assert first["gender_marker"] == "1 – objectif significatif"
    assert first["countries"] == "SEN"
    assert sheet.cell(4, columns["budget"]).value is None
    assert sheet.max_row == 4


@pytest.mark.parametrize(
    ("key", "value", "lang", "shown"),
    [
        ("domains", ["D1", "D3"], "en", "D1; D3"),
        ("funder_category", "eu_institution", "fr", "Institution de l'UE"),
        ("gender_marker", 0, "en", "0 – not targeted"),
        ("target_groups", ["youth", "women"], "en", "Youth; Women"),
        ("funders", [], "en", None),
        ("currency", "XOF", "fr", "XOF"),
    ],
)
def test_display_value(key: str, value: object, lang: str, shown: object) -> None:
    assert display_value(key, value, lang) == shown
