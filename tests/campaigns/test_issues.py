"""Issues as a submission's report stores them: packed, and read back as records."""

from datetime import date

from jvap.campaigns.issues import Issue, issue_records, pack_issues
from jvap.kit import jsontext


def issue(row: int, value: object = "Mauritanie", **changes: object) -> Issue:
    values: dict[str, object] = {
        "severity": "warning",
        "code": "country_read",
        "message_en": "'Mauritanie' was read as the country code MRT.",
        "message_fr": "'Mauritanie' a été lu comme le code pays MRT.",
        "sheet": "Initiatives",
        "row": row,
        "column": "L",
        "field": "countries",
        "value": value,
        "suggestion": None,
    }
    return Issue(**{**values, **changes})  # type: ignore[arg-type]


ISSUES = [
    issue(3),
    issue(3, date(2020, 3, 24), code="date_read", message_en="Read", message_fr="Lu"),
    issue(4, None, severity="error", column=None, field=None, suggestion="SEN"),
    issue(5),
]


def test_packed_issues_read_back_as_their_records() -> None:
    records = [each.to_record() for each in ISSUES]
    assert issue_records(pack_issues(ISSUES)) == records
    # As the database gives them back: tuples become lists.
    assert issue_records(jsontext.loads(jsontext.dumps(pack_issues(ISSUES)))) == records


def test_read_back_records_keep_the_record_order_of_keys() -> None:
    (record,) = issue_records(pack_issues(ISSUES[:1]))
    assert list(record) == list(ISSUES[0].to_record())


def test_each_message_is_stored_once() -> None:
    packed = pack_issues(ISSUES)
    assert len(packed["rows"]) == 4
    assert packed["messages"] == [
        (
            "'Mauritanie' was read as the country code MRT.",
            "'Mauritanie' a été lu comme le code pays MRT.",
        ),
        ("Read", "Lu"),
    ]


def test_records_stored_before_packing_are_read_as_they_are() -> None:
    records = [each.to_record() for each in ISSUES]
    assert issue_records(records) == records
    assert issue_records(None) == [] and issue_records([]) == []
