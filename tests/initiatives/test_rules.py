"""Field rules of an initiative: each rule passes on a good value and fails on a bad one."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from jvap.initiatives.rules import (
    FIELDS,
    MESSAGES,
    RECORD_FIELDS,
    InitiativeRecord,
    check_record,
    diff_records,
    json_value,
    make_issue,
    normalize_record,
)
from jvap.reference.snapshot import ReferenceSnapshot, build_snapshot

SNAPSHOT = build_snapshot(
    domains=["D1", "D2", "D3", "D4", "D5"],
    priorities=[("D1.01", "D1"), ("D3.02", "D3")],
    countries=["SEN", "MLI", "FRA", "CIV"],
    partners=[
        ("SEN", "Senegal", "Sénégal", "african_country"),
        ("EU", "European Union (European Commission / EEAS)", "Union européenne", "eu_institution"),
    ],
)


def valid_project(**changes: Any) -> InitiativeRecord:
    record = InitiativeRecord(
        kind="project",
        title="Youth employment programme",
        description="Vocational training for young people",
        status="ongoing",
        start_date=date(2018, 1, 1),
        end_date=date(2022, 12, 31),
        domains=["D1"],
        priorities=["D1.01"],
        scope="national",
        countries=["SEN"],
        budget=Decimal("1500000"),
        currency="EUR",
        funders=["European Union"],
        funder_category="eu_institution",
        implementers=["IOM"],
        target_groups=["youth"],
        gender_marker=1,
        entity="Ministry of Labour",
        external_ids=["T05-EUTF-SAH-SN-01"],
        website="https://example.org",
        remarks=None,
    )
    return replace(record, **changes)


def codes_of(record: InitiativeRecord, *, is_new: bool = True) -> set[tuple[str, str]]:
    return {(i.field, i.code) for i in check_record(record, SNAPSHOT, is_new=is_new)}


def test_valid_project_and_policy_have_no_issue() -> None:
    assert codes_of(valid_project()) == set()
    policy = valid_project(
        kind="policy", budget=None, currency=None, funders=[], end_date=None, status="completed"
    )
    assert codes_of(policy) == set()


# (field, code, passing record, failing record, is_new)
CASES: list[tuple[str, str, InitiativeRecord, InitiativeRecord, bool]] = [
    ("kind", "required", valid_project(), valid_project(kind=None), True),
    ("kind", "unknown_code", valid_project(kind="policy"), valid_project(kind="programme"), True),
    ("title", "required", valid_project(), valid_project(title="   "), True),
    ("title", "too_long", valid_project(title="x" * 300), valid_project(title="x" * 301), True),
    ("description", "required", valid_project(), valid_project(description=""), True),
    (
        "description",
        "too_long",
        valid_project(description="x" * 4000),
        valid_project(description="x" * 4001),
        True,
    ),
    ("status", "required", valid_project(), valid_project(status=None), True),
    ("status", "unknown_code", valid_project(), valid_project(status="finished"), True),
    ("start_date", "required", valid_project(), valid_project(start_date=None), True),
    (
        "start_date",
        "start_before_2015_11",
        valid_project(start_date=date(2015, 11, 1)),
        valid_project(start_date=date(2015, 10, 31)),
        True,
    ),
    (
        "end_date",
        "end_before_start",
        valid_project(end_date=date(2018, 1, 1)),
        valid_project(end_date=date(2017, 12, 31)),
        True,
    ),
    (
        "end_date",
        "end_required_for_completed_project",
        valid_project(status="ongoing", end_date=None),
        valid_project(status="completed", end_date=None),
        True,
    ),
    (
        "domains",
        "domains_required",
        valid_project(),
        valid_project(domains=[], priorities=[]),
        True,
    ),
    ("domains", "unknown_code", valid_project(), valid_project(domains=["D1", "D9"]), True),
    ("domains", "duplicate_value", valid_project(), valid_project(domains=["D1", "D1"]), True),
    ("priorities", "unknown_priority", valid_project(), valid_project(priorities=["D9.99"]), True),
    (
        "priorities",
        "priority_outside_domains",
        valid_project(domains=["D1", "D3"], priorities=["D1.01", "D3.02"]),
        valid_project(domains=["D1"], priorities=["D1.01", "D3.02"]),
        True,
    ),
    ("scope", "required", valid_project(), valid_project(scope=""), True),
    ("scope", "unknown_code", valid_project(), valid_project(scope="global"), True),
    (
        "countries",
        "countries_required",
        valid_project(scope="continental", countries=[]),
        valid_project(scope="regional", countries=[]),
        True,
    ),
    ("countries", "unknown_country", valid_project(), valid_project(countries=["XXX"]), True),
    (
        "countries",
        "duplicate_value",
        valid_project(),
        valid_project(countries=["SEN", "SEN"]),
        True,
    ),
    (
        "budget",
        "budget_required_for_project",
        valid_project(kind="policy", budget=None, currency=None),
        valid_project(budget=None, currency=None),
        True,
    ),
    (
        "budget",
        "negative_budget",
        valid_project(budget=Decimal(0)),
        valid_project(budget=Decimal("-1")),
        True,
    ),
    (
        "budget",
        "budget_out_of_range",
        valid_project(budget=Decimal(10**15 - 1)),
        valid_project(budget=Decimal(10**15)),
        True,
    ),
    (
        "budget",
        "budget_out_of_range",
        valid_project(budget=Decimal("0.01")),
        valid_project(budget=Decimal("NaN")),
        True,
    ),
    (
        "currency",
        "currency_required_with_budget",
        valid_project(currency="USD"),
        valid_project(currency=None),
        True,
    ),
    (
        "currency",
        "unknown_currency",
        valid_project(currency="XOF"),
        valid_project(currency="EUX"),
        True,
    ),
    ("currency", "no_eur_rate", valid_project(currency="GBP"), valid_project(currency="AFN"), True),
    (
        "funders",
        "funders_required_for_project",
        valid_project(kind="policy", funders=[]),
        valid_project(funders=[" "]),
        True,
    ),
    (
        "funders",
        "too_long",
        valid_project(funders=["x" * 300]),
        valid_project(funders=["x" * 301]),
        True,
    ),
    (
        "funder_category",
        "unknown_code",
        valid_project(funder_category=None),
        valid_project(funder_category="donor"),
        True,
    ),
    (
        "implementers",
        "too_long",
        valid_project(implementers=["x" * 300]),
        valid_project(implementers=["x" * 301]),
        True,
    ),
    (
        "target_groups",
        "unknown_code",
        valid_project(target_groups=["idps", "women"]),
        valid_project(target_groups=["aliens"]),
        True,
    ),
    (
        "target_groups",
        "duplicate_value",
        valid_project(),
        valid_project(target_groups=["youth", "youth"]),
        True,
    ),
    (
        "gender_marker",
        "unknown_code",
        valid_project(gender_marker=2),
        valid_project(gender_marker=3),
        True,
    ),
    ("entity", "too_long", valid_project(entity="x" * 300), valid_project(entity="x" * 301), True),
    (
        "external_ids",
        "too_long",
        valid_project(external_ids=["x" * 200]),
        valid_project(external_ids=["x" * 201]),
        True,
    ),
    (
        "external_ids",
        "duplicate_value",
        valid_project(),
        valid_project(external_ids=["A", "A"]),
        True,
    ),
    ("title", "invalid_character", valid_project(title="A\tB"), valid_project(title="A\x00"), True),
    (
        "funders",
        "invalid_character",
        valid_project(funders=["EU"]),
        valid_project(funders=["E\x00U"]),
        True,
    ),
    (
        "website",
        "too_long",
        valid_project(website="x" * 500),
        valid_project(website="x" * 501),
        True,
    ),
    (
        "remarks",
        "too_long",
        valid_project(remarks="x" * 4000),
        valid_project(remarks="x" * 4001),
        True,
    ),
]


@pytest.mark.parametrize(
    ("field", "code", "passing", "failing", "is_new"),
    CASES,
    ids=[f"{field}-{code}" for field, code, *_ in CASES],
)
def test_rule_passes_and_fails(
    field: str, code: str, passing: InitiativeRecord, failing: InitiativeRecord, is_new: bool
) -> None:
    assert (field, code) not in codes_of(passing, is_new=is_new)
    assert (field, code) in codes_of(failing, is_new=is_new)


@pytest.mark.parametrize("field", ["kind", "status", "scope"])
def test_a_blank_code_is_required_not_unknown(field: str) -> None:
    codes = codes_of(valid_project(**{field: "  "}))
    assert (field, "required") in codes
    assert (field, "unknown_code") not in codes


def test_a_project_needs_one_funder_name_anywhere_in_the_list() -> None:
    required = ("funders", "funders_required_for_project")
    assert required not in codes_of(valid_project(funders=["", "GIZ"]))
    assert required in codes_of(valid_project(funders=["", " "]))


def test_issues_come_in_field_order() -> None:
    record = valid_project(
        kind="  ",
        status="finished",
        domains=["D1", "D1"],
        scope="global",
        countries=["SEN", "XXX", "SEN"],
        funders=["", " "],
        target_groups=["youth", "aliens", "youth"],
        entity="x" * 301,
        external_ids=["A", "A"],
        website="x" * 501,
        remarks="x" * 4001,
    )
    assert [(i.field, i.code) for i in check_record(record, SNAPSHOT, is_new=True)] == [
        ("kind", "required"),
        ("status", "unknown_code"),
        ("domains", "duplicate_value"),
        ("scope", "unknown_code"),
        ("countries", "unknown_country"),
        ("countries", "duplicate_value"),
        ("target_groups", "unknown_code"),
        ("target_groups", "duplicate_value"),
        ("entity", "too_long"),
        ("external_ids", "duplicate_value"),
        ("website", "too_long"),
        ("remarks", "too_long"),
    ]


def test_fields_the_caller_found_nul_free_are_not_scanned_again() -> None:
    record = valid_project(title="A\x00", remarks="B\x00")

    def flagged(nul_free: frozenset[str]) -> set[str]:
        issues = check_record(record, SNAPSHOT, is_new=True, nul_free=nul_free)
        return {issue.field for issue in issues if issue.code == "invalid_character"}

    assert flagged(frozenset()) == {"title", "remarks"}
    assert flagged(frozenset({"title"})) == {"remarks"}
    assert flagged(frozenset(RECORD_FIELDS)) == set()


def test_description_is_required_only_for_a_new_initiative() -> None:
    assert ("description", "required") not in codes_of(
        valid_project(description=None), is_new=False
    )
    assert ("description", "required") in codes_of(valid_project(description=None), is_new=True)


def test_every_catalogued_code_is_tested() -> None:
    tested = {code for _field, code, *_ in CASES} | {"unknown_partner"}  # partner: service test
    assert tested == set(MESSAGES)


def test_every_issue_has_english_and_french_messages() -> None:
    record = valid_project(title="", status="x", domains=["D1"], priorities=["D3.02"])
    issues = check_record(record, SNAPSHOT, is_new=True)
    assert issues
    for issue in issues:
        assert issue.message_en and issue.message_fr and issue.message_en != issue.message_fr
        assert issue.to_dict("fr")["message"] == issue.message_fr


def test_severity_of_warnings() -> None:
    issues = check_record(
        valid_project(start_date=date(2014, 1, 1), currency="AFN"), SNAPSHOT, is_new=True
    )
    assert {(i.code, i.severity) for i in issues} == {
        ("start_before_2015_11", "warning"),
        ("no_eur_rate", "warning"),
    }


def test_unknown_country_suggests_the_iso3_code() -> None:
    issues = check_record(valid_project(countries=["Sénégal"]), SNAPSHOT, is_new=True)
    assert [(i.code, i.suggestion) for i in issues] == [("unknown_country", "SEN")]


def test_priority_outside_domains_suggests_the_domain() -> None:
    issue = check_record(valid_project(priorities=["D3.02"]), SNAPSHOT, is_new=True)[0]
    assert issue.suggestion == "add domain D3"
    assert "D3" in issue.message_fr


def test_fields_cover_the_data_dictionary_with_bilingual_labels() -> None:
    assert list(FIELDS)[:4] == ["ref", "revision", "kind", "title"]
    assert list(FIELDS)[-2:] == ["website", "remarks"]
    for spec in FIELDS.values():
        assert spec.label_en and spec.label_fr and spec.help_en and spec.help_fr
    assert FIELDS["budget"].type == "decimal" and FIELDS["countries"].type == "multi_code"


def test_make_issue_uses_the_field_labels() -> None:
    issue = make_issue("title", "required")
    assert issue.message_en == "Title is required."
    assert issue.message_fr == "Titre : champ obligatoire."


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (valid_project(), valid_project(), {}),
        (valid_project(countries=["SEN", "MLI"]), valid_project(countries=["MLI", "SEN"]), {}),
        (valid_project(budget=Decimal("1500000.00")), valid_project(budget=Decimal("1500000")), {}),
        (valid_project(title="A"), valid_project(title="B"), {"title": ("A", "B")}),
        (
            valid_project(funders=["EU", "FRA"]),
            valid_project(funders=["FRA", "EU"]),
            {"funders": (["EU", "FRA"], ["FRA", "EU"])},
        ),
        (
            valid_project(countries=["SEN"]),
            valid_project(countries=["SEN", "MLI"]),
            {"countries": (["SEN"], ["MLI", "SEN"])},
        ),
        (
            valid_project(end_date=None),
            valid_project(end_date=date(2020, 1, 1)),
            {"end_date": (None, date(2020, 1, 1))},
        ),
    ],
)
def test_diff_records(
    old: InitiativeRecord, new: InitiativeRecord, expected: dict[str, tuple[Any, Any]]
) -> None:
    assert diff_records(old, new) == expected


def test_normalize_record_trims_dedupes_and_uppercases_codes() -> None:
    record = normalize_record(
        valid_project(
            title="  Title ",
            countries=["sen", "SEN", "mli"],
            currency="eur",
            funders=["EU", " ", "FRA"],
            remarks="  ",
        )
    )
    assert record.title == "Title"
    assert record.countries == ["MLI", "SEN"]
    assert record.currency == "EUR"
    assert record.funders == ["EU", "FRA"]
    assert record.remarks is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2020, 1, 2), "2020-01-02"),
        (Decimal("1500000.00"), "1500000"),
        (Decimal("12.50"), "12.5"),
        (["a"], ["a"]),
        (None, None),
    ],
)
def test_json_value(value: Any, expected: Any) -> None:
    assert json_value(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EU", "EU"),
        ("eu", "EU"),
        ("European Union", "EU"),
        ("European Commission", "EU"),
        ("Union européenne", "EU"),
        ("senegal", "SEN"),
        ("Sénégal", "SEN"),
        ("Ministry of Finance", None),
        ("", None),
    ],
)
def test_snapshot_matches_partners_by_code_or_name(text: str, expected: str | None) -> None:
    assert SNAPSHOT.match_partner(text) == expected


def test_empty_snapshot_knows_nothing() -> None:
    assert ReferenceSnapshot().match_partner("EU") is None


def test_snapshot_digest_changes_with_any_code() -> None:
    same = build_snapshot(
        domains=["D5", "D4", "D3", "D2", "D1"],
        priorities=[("D3.02", "D3"), ("D1.01", "D1")],
        countries=["CIV", "FRA", "MLI", "SEN"],
        partners=[
            (
                "EU",
                "European Union (European Commission / EEAS)",
                "Union européenne",
                "eu_institution",
            ),
            ("SEN", "Senegal", "Sénégal", "african_country"),
        ],
    )
    assert same.digest() == SNAPSHOT.digest()
    assert replace(SNAPSHOT, countries=SNAPSHOT.countries - {"CIV"}).digest() != SNAPSHOT.digest()
    moved = {**SNAPSHOT.priority_domain, "D1.01": "D2"}
    assert replace(SNAPSHOT, priority_domain=moved).digest() != SNAPSHOT.digest()
    assert ReferenceSnapshot().digest() != SNAPSHOT.digest()
