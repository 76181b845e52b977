"""Shaping stored upload reports for the result page: issues by row, the diff."""

import pytest

from jvap.web import views


def _issue(row: int | None, column: str | None, severity: str = "error", **extra: object) -> dict:
    return {
        "severity": severity,
        "sheet": "Initiatives" if row else None,
        "row": row,
        "column": column,
        "field": "title",
        "code": "required",
        "message_en": f"problem at {column}{row}",
        "message_fr": f"problème en {column}{row}",
        **extra,
    }


def test_issues_are_grouped_by_row_file_level_first_then_rows_in_order() -> None:
    issues = [_issue(7, "AA"), _issue(5, "C"), _issue(7, "B", "warning"), _issue(None, None)]
    groups = views.group_issues(issues, lang="en", titles={7: "Border training"})
    assert [g.row for g in groups] == [None, 5, 7]
    seventh = groups[2]
    # Errors before warnings, then columns in spreadsheet order.
    assert [(i["column"], i["severity"]) for i in seventh.issues] == [
        ("AA", "error"),
        ("B", "warning"),
    ]
    assert seventh.title == "Border training"
    assert seventh.errors == 1


@pytest.mark.parametrize(("lang", "expected"), [("en", "problem at C5"), ("fr", "problème en C5")])
def test_messages_are_in_the_page_language(lang: str, expected: str) -> None:
    (group,) = views.group_issues([_issue(5, "C")], lang=lang)
    assert group.issues[0]["message"] == expected


def test_columns_sort_like_a_spreadsheet() -> None:
    (group,) = views.group_issues(
        [_issue(3, "AB"), _issue(3, "Z"), _issue(3, "A"), _issue(3, "AA")], lang="en"
    )
    assert [i["column"] for i in group.issues] == ["A", "Z", "AA", "AB"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "–"), ("", "–"), ([], "–"), (["D1", "D3"], "D1, D3"), (1500, "1500"), ("x", "x")],
)
def test_show_value(value: object, shown: str) -> None:
    assert views.show_value(value) == shown


@pytest.mark.parametrize(
    ("field_key", "value", "lang", "shown"),
    [
        ("status", "ongoing", "en", "Ongoing"),
        ("status", "ongoing", "fr", "En cours"),
        ("target_groups", ["youth", "women"], "fr", "Jeunes, Femmes"),
        ("gender_marker", 2, "en", "2 – principal objective"),
        ("status", None, "en", "–"),
        ("status", "unknown-code", "en", "unknown-code"),
        ("title", "Youth jobs", "fr", "Youth jobs"),
    ],
)
def test_show_field_names_codes_in_the_page_language(
    field_key: str, value: object, lang: str, shown: str
) -> None:
    assert views.show_field(field_key, value, lang) == shown


def test_submission_view_lists_new_changed_and_not_reported_rows() -> None:
    report = {
        "summary": {"errors": 0, "warnings": 1},
        "issues": [_issue(4, "F", "warning")],
        "diff": {
            "new": [{"row": 5, "title": "Border training"}],
            "changed": [
                {
                    "row": 4,
                    "ref": "JV-000001",
                    "changes": {
                        "status": ["ongoing", "completed"],
                        "domains": [["D1"], ["D1", "D2"]],
                    },
                }
            ],
            "unchanged": ["JV-000002", "JV-000003"],
            "conflicting": [],
            "not_reported": ["JV-000009"],
        },
    }
    view = views.submission_view(
        report,
        lang="en",
        field_label=str.upper,
        titles={"JV-000001": "Youth jobs", "JV-000009": "Old project"},
    )
    assert (view.errors, view.warnings, view.unchanged) == (0, 1, 2)
    assert view.new == [{"row": 5, "title": "Border training"}]
    (changed,) = view.changed
    assert (changed.ref, changed.title, changed.row) == ("JV-000001", "Youth jobs", 4)
    assert changed.fields == [
        {"field": "STATUS", "old": "Ongoing", "new": "Completed"},
        {"field": "DOMAINS", "old": "D1", "new": "D1, D2"},
    ]
    assert view.not_reported == [{"ref": "JV-000009", "title": "Old project"}]
    # The issue's row is labelled with the initiative it belongs to.
    assert view.groups[0].title == "Youth jobs"


def test_a_changed_title_is_shown_as_the_new_title() -> None:
    report = {
        "diff": {"changed": [{"row": 3, "ref": "JV-000001", "changes": {"title": ["Old", "New"]}}]}
    }
    view = views.submission_view(report, lang="en", field_label=str, titles={"JV-000001": "Old"})
    assert view.changed[0].title == "New"


def test_an_empty_report_shows_nothing_to_do() -> None:
    view = views.submission_view({}, lang="fr", field_label=str, titles={})
    assert (view.groups, view.new, view.changed, view.not_reported, view.unchanged) == (
        [],
        [],
        [],
        [],
        0,
    )
