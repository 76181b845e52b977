"""Validation of a parsed questionnaire against the rules and the registry, without a database."""

import json
from decimal import Decimal
from typing import Any

import pycountry
import pytest

from jvap.campaigns.issues import Issue
from jvap.campaigns.parsing import ParsedFile, read_questionnaire
from jvap.campaigns.template import DATA_SHEET, TemplateRow
from jvap.campaigns.validation import (
    Expectation,
    ValidationResult,
    header_aliases,
    record_from_json,
    record_to_json,
    referenced_ids,
    validate,
)
from jvap.initiatives.rules import FIELDS, RECORD_FIELDS
from jvap.initiatives.service import StoredRecord
from jvap.reference.snapshot import build_snapshot
from tests.campaigns.workbooks import (
    NEW_ROW,
    cell_of,
    fill,
    open_book,
    record,
    save,
    template_bytes,
)

SNAPSHOT = build_snapshot(
    domains=[f"D{n}" for n in range(1, 6)],
    priorities=[("D1.01", "D1"), ("D3.01", "D3")],
    countries=[c.alpha_3 for c in pycountry.countries],
    partners=[
        ("SEN", "Senegal", "Sénégal", "african_country"),
        ("MLI", "Mali", "Mali", "african_country"),
        ("EU", "European Union", "Union européenne", "eu_institution"),
    ],
)
EXPECTED = Expectation(campaign_code="T2025", partner_code="SEN", questionnaire_version="1")
REGISTRY = {
    1: StoredRecord(1, "JV-000001", "SEN", 2, "published", record()),
    2: StoredRecord(2, "JV-000002", "SEN", 1, "published", record(title="Second")),
    3: StoredRecord(3, "JV-000003", "SEN", 4, "published", record(title="Third")),
    9: StoredRecord(9, "JV-000009", "MLI", 1, "published", record(title="Malian")),
}
PARTNER_IDS = [1, 2, 3]


def base() -> bytes:
    """SEN's template: initiatives 1 and 2 at their current revision, 3 as downloaded at 3."""
    return template_bytes(
        rows=[
            TemplateRow("JV-000001", 2, REGISTRY[1].record),
            TemplateRow("JV-000002", 1, REGISTRY[2].record),
            TemplateRow("JV-000003", 3, REGISTRY[3].record),
        ]
    )


def parse(content: bytes) -> ParsedFile:
    return read_questionnaire(
        content, keys=list(FIELDS), aliases=header_aliases(), max_uncompressed=10**8
    )


def check(content: bytes, expected: Expectation = EXPECTED) -> ValidationResult:
    return validate(
        parse(content), SNAPSHOT, expected=expected, stored=REGISTRY, partner_ids=PARTNER_IDS
    )


def find(result: ValidationResult, code: str) -> Issue:
    matches = [issue for issue in result.issues if issue.code == code]
    assert matches, f"no {code} in {[i.code for i in result.issues]}"
    return matches[0]


def errors(result: ValidationResult) -> list[str]:
    return [issue.code for issue in result.issues if issue.severity == "error"]


def test_an_untouched_template_is_all_unchanged_and_has_no_issues() -> None:
    result = check(base())
    assert result.issues == []
    assert result.unchanged == ["JV-000001", "JV-000002", "JV-000003"]
    assert result.new == result.changed == []
    assert result.not_reported == []


def test_diff_new_changed_field_by_field_unchanged_and_not_reported() -> None:
    book = open_book(fill(base(), new_rows=[NEW_ROW], edits={"JV-000001": {"status": "Completed"}}))
    book[DATA_SHEET].delete_rows(5)  # JV-000003 is not reported this cycle
    result = check(save(book))
    assert errors(result) == []
    assert result.summary() | {"warnings": 0} == {
        "rows": 3,
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "conflicting": 0,
        "not_reported": 1,
        "errors": 0,
        "warnings": 0,
    }
    [changed] = result.changed
    assert (changed.ref, changed.revision, changed.changes) == (
        "JV-000001",
        2,
        {"status": ("ongoing", "completed")},
    )
    assert result.unchanged == ["JV-000002"]
    assert result.not_reported == ["JV-000003"]
    new = result.new[0].record
    assert (new.kind, new.status, new.funder_category, new.target_groups) == (
        "project",
        "ongoing",
        "eu_institution",
        ["officials"],
    )
    assert result.diff()["changed"] == [
        {"row": 3, "ref": "JV-000001", "changes": {"status": ["ongoing", "completed"]}}
    ]


def test_change_set_round_trips_through_json() -> None:
    result = check(fill(base(), new_rows=[NEW_ROW], edits={"JV-000002": {"budget": "2 500 000"}}))
    change_set = json.loads(json.dumps(result.change_set()))
    [changed] = change_set["changed"]
    assert changed["initiative_id"] == 2
    assert record_from_json(changed["record"], change_set["fields"]) == result.changed[0].record
    assert record_from_json(changed["record"]).budget == Decimal(2500000)
    assert record_from_json(record_to_json(result.new[0].record)) == result.new[0].record
    # Values are listed in the change set's field order, which is what names them.
    fields = change_set["fields"]
    [new] = change_set["new"]
    assert dict(zip(fields, new["record"], strict=True))["title"] == NEW_ROW["title"]
    assert record_from_json(new["record"], fields) == result.new[0].record


def test_a_change_set_staged_with_named_fields_is_still_read() -> None:
    """Change sets staged before records became value lists hold field -> value mappings."""
    result = check(fill(base(), new_rows=[NEW_ROW]))
    record = result.new[0].record
    named = dict(zip(RECORD_FIELDS, record_to_json(record), strict=True))
    assert record_from_json(named) == record
    assert record_from_json({k: v for k, v in named.items() if v not in (None, [])}) == record


def test_a_stale_revision_is_a_conflict_located_on_the_revision_cell() -> None:
    content = fill(base(), edits={"JV-000003": {"title": "Renamed"}})
    result = check(content)
    issue = find(result, "stale_revision")
    assert (issue.severity, issue.row, issue.column, issue.field) == ("error", 5, "B", "revision")
    assert "revision 4 now, 3 in the file" in issue.message_en
    assert "révision 4" in issue.message_fr
    assert result.conflicting == ["JV-000003"]
    assert result.changed == []


def test_a_stale_row_left_as_it_is_is_no_conflict() -> None:
    result = check(base())
    assert "JV-000003" in result.unchanged


def test_referenced_ids_are_the_refs_validation_reads() -> None:
    """The stored records to load: well-formed refs, however typed, each once; new rows and
    malformed refs name none."""
    rows = [
        {**NEW_ROW, "ref": " jv-000009 ", "revision": 1},
        {**NEW_ROW, "ref": "JV-000001", "revision": 2},
        {**NEW_ROW, "ref": "ABC-12", "revision": 1},
        NEW_ROW,
    ]
    assert referenced_ids(parse(fill(base(), new_rows=rows))) == [1, 2, 3, 9]


@pytest.mark.parametrize(
    ("ref", "code", "extra"),
    [
        ("JV-000404", "unknown_ref", {}),
        ("JV-000009", "ref_of_other_partner", {"owner": "MLI"}),
        ("JV-000001", "duplicate_ref", {"first": 3}),
        ("ABC-12", "invalid_ref", {}),
    ],
)
def test_ref_errors_are_located_on_the_ref_cell(ref: str, code: str, extra: dict) -> None:
    content = fill(base(), new_rows=[{**NEW_ROW, "ref": ref, "revision": 1}])
    issue = find(check(content), code)
    assert (issue.severity, issue.sheet, issue.row, issue.column, issue.field) == (
        "error",
        DATA_SHEET,
        6,
        "A",
        "ref",
    )
    for value in extra.values():
        assert str(value) in issue.message_en


def test_identical_new_rows_are_duplicates() -> None:
    issue = find(check(fill(base(), new_rows=[NEW_ROW, NEW_ROW])), "duplicate_row")
    assert (issue.severity, issue.row) == ("error", 7)
    assert "row 6" in issue.message_en


@pytest.mark.parametrize(
    ("changes", "code", "key", "suggestion"),
    [
        ({"status": "ongoin"}, "unknown_code", "status", "ongoing"),
        ({"kind": "projet x"}, "unknown_code", "kind", "project"),
        ({"countries": "Senegl"}, "unknown_country", "countries", "SEN"),
        ({"domains": "D1; D9"}, "unknown_code", "domains", None),
        ({"priorities": "D1.1"}, "unknown_priority", "priorities", "D1.01"),
        ({"priorities": "D3.01"}, "priority_outside_domains", "priorities", "add domain D3"),
        ({"title": None}, "required", "title", None),
        ({"end_date": "01/01/2017"}, "end_before_start", "end_date", None),
        ({"budget": -5}, "negative_budget", "budget", None),
        ({"currency": "XYZ"}, "unknown_currency", "currency", None),
        ({"funders": None}, "funders_required_for_project", "funders", None),
        ({"title": "x" * 301}, "too_long", "title", None),
        ({"budget": "1.500"}, "number_ambiguous", "budget", None),
        ({"start_date": "12/25/2019"}, "month_day_swapped", "start_date", "2019-12-25"),
        ({"start_date": "soon"}, "invalid_date", "start_date", None),
    ],
)
def test_each_error_has_its_row_column_field_and_suggestion(
    changes: dict[str, Any], code: str, key: str, suggestion: str | None
) -> None:
    content = fill(base(), edits={"JV-000001": changes})
    row, column = cell_of(content, "JV-000001", key)
    issue = find(check(content), code)
    assert (issue.severity, issue.sheet, issue.row, issue.column, issue.field) == (
        "error",
        DATA_SHEET,
        row,
        column,
        key,
    )
    assert issue.message_en and issue.message_fr and issue.message_en != issue.message_fr
    assert issue.suggestion == suggestion


def test_a_cell_that_cannot_be_read_is_not_reported_twice() -> None:
    result = check(fill(base(), edits={"JV-000001": {"start_date": "soon"}}))
    assert [i.code for i in result.issues if i.field == "start_date"] == ["invalid_date"]


@pytest.mark.parametrize(
    ("value", "code", "stored"),
    [
        ("  Trimmed title ", "trimmed", "Trimmed title"),
        ("Cafe\u0301 programme", "unicode_normalised", "Café programme"),
    ],
)
def test_text_normalisation_warns_and_keeps_the_original(
    value: str, code: str, stored: str
) -> None:
    content = fill(base(), edits={"JV-000002": {"title": value}})
    result = check(content)
    issue = find(result, code)
    assert (issue.severity, issue.value, issue.column) == ("warning", value, "D")
    assert result.changed[0].record.title == stored


@pytest.mark.parametrize(
    ("key", "value", "code", "field_value"),
    [
        ("budget", "1 500 000", "number_read", Decimal(1500000)),
        ("budget", "1.500.000,00", "number_read", Decimal(1500000)),
        ("budget", "€ 2,5 M", "number_read", Decimal(2500000)),
        ("start_date", "05/03/2019", "date_read", "2019-03-05"),
        ("start_date", 43529, "excel_serial_date", "2019-03-05"),
        ("countries", "Sénégal; Mali", "country_read", ["SEN", "MLI"]),
        ("countries", "SN", "country_read", ["SEN"]),
        ("countries", "Senegal", "country_read", ["SEN"]),
        ("status", "COMPLETED", "code_read", "completed"),
        ("status", "achevé", "code_read", "completed"),
        ("status", "Achevée", "code_read", "completed"),
        ("scope", "Nationale", "code_read", "national"),
        ("scope", "régional(e)", "code_read", "regional"),
        ("currency", "usd", "code_read", "USD"),
        ("implementers", "IOM, GIZ", "split_on_commas", ["IOM", "GIZ"]),
    ],
)
def test_each_normalisation_warns_at_its_cell_and_is_applied(
    key: str, value: Any, code: str, field_value: Any
) -> None:
    # The title changes too, so that the row is staged even when the value read is the same.
    content = fill(base(), edits={"JV-000002": {key: value, "title": "Second, renamed"}})
    row, column = cell_of(content, "JV-000002", key)
    result = check(content)
    issue = find(result, code)
    assert (issue.severity, issue.row, issue.column, issue.field, issue.value) == (
        "warning",
        row,
        column,
        key,
        value,
    )
    assert errors(result) == []
    record_value = getattr(result.changed[0].record, key)
    assert (record_value.isoformat() if hasattr(record_value, "isoformat") else record_value) == (
        field_value
    )


def test_multiple_values_separated_by_semicolons_commas_or_line_breaks() -> None:
    for value in ("D1; D3", "D1, D3", "D1\nD3"):
        content = fill(base(), edits={"JV-000002": {"domains": value}})
        result = check(content)
        assert errors(result) == []
        assert result.changed[0].record.domains == ["D1", "D3"]


@pytest.mark.parametrize(
    ("expected", "code"),
    [
        (Expectation("OTHER", "SEN", "1"), "wrong_campaign"),
        (Expectation("T2025", "MLI", "1"), "wrong_partner"),
        (Expectation("T2025", "SEN", "2"), "wrong_questionnaire_version"),
    ],
)
def test_the_file_must_match_campaign_partner_and_version(expected: Expectation, code: str) -> None:
    issue = find(check(base(), expected), code)
    assert issue.severity == "error"
    assert issue.sheet == DATA_SHEET


def test_a_missing_column_keeps_stored_values_and_a_missing_ref_column_is_an_error() -> None:
    book = open_book(fill(base(), edits={"JV-000001": {"title": "Retitled"}}))
    sheet = book[DATA_SHEET]
    sheet.delete_cols(13)  # budget
    result = check(save(book))
    assert find(result, "column_not_found").severity == "warning"
    assert result.changed[0].record.budget == Decimal(1000000)
    assert result.changed[0].changes == {"title": ("Youth employment programme", "Retitled")}
    sheet.delete_cols(1)  # ref
    assert "missing_column" in errors(check(save(book)))


def test_a_file_without_template_metadata_gets_a_warning() -> None:
    book = open_book(base())
    del book["_jvap"]
    result = check(save(book))
    assert find(result, "not_from_template").severity == "warning"
    assert errors(result) == []


def test_an_empty_questionnaire_is_an_error() -> None:
    assert errors(check(template_bytes())) == ["no_rows"]


def test_issues_serialise_with_both_languages() -> None:
    issue = find(check(fill(base(), edits={"JV-000001": {"status": "ongoin"}})), "unknown_code")
    data = issue.to_dict("fr")
    assert data["message"] == data["message_fr"] != data["message_en"]
    assert set(data) >= {"severity", "sheet", "row", "column", "field", "code", "suggestion"}
