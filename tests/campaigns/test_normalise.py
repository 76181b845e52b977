"""Cell normalisation: each reading keeps the original value and says what it did."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from jvap.campaigns.normalise import (
    Vocabulary,
    normalise_code,
    normalise_countries,
    normalise_date,
    normalise_decimal,
    normalise_int,
    normalise_multi_code,
    normalise_multi_text,
    normalise_ref,
    normalise_text,
    split_multi,
)
from jvap.reference.countries import resolve_country

STATUS = Vocabulary.build(
    [
        ("planned", ("Planned", "Prévu")),
        ("ongoing", ("Ongoing", "En cours")),
        ("completed", ("Completed", "Achevé")),
    ]
)
DOMAINS = Vocabulary.build(
    [(f"D{n}", ()) for n in range(1, 6)], aliases=[(f"D{n}", (str(n),)) for n in range(1, 6)]
)
KNOWN = frozenset({"SEN", "MLI", "FRA", "COD", "CIV", "NER"})


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        (1500000, Decimal(1500000), []),
        (1500000.5, Decimal("1500000.5"), []),
        ("1500000", Decimal(1500000), []),
        ("1500000.25", Decimal("1500000.25"), []),
        ("1 500 000", Decimal(1500000), ["number_read"]),
        ("1\u00a0500\u00a0000", Decimal(1500000), ["number_read"]),
        ("1'500'000", Decimal(1500000), ["number_read"]),
        ("1.500.000,00", Decimal(1500000), ["number_read"]),
        ("1,500,000.00", Decimal(1500000), ["number_read"]),
        ("1 500 000,50", Decimal("1500000.5"), ["number_read"]),
        ("€ 2,5 M", Decimal(2500000), ["number_read"]),
        ("2.5M", Decimal(2500000), ["number_read"]),
        ("2,5 millions €", Decimal(2500000), ["number_read"]),
        ("USD 1.2 bn", Decimal(1200000000), ["number_read"]),
        ("EUR 1 000", Decimal(1000), ["number_read"]),
        ("1 000 XOF", Decimal(1000), ["number_read"]),
        ("0,5", Decimal("0.5"), ["number_read"]),
        ("0.500", Decimal("0.500"), []),
        ("-1 000", Decimal(-1000), ["number_read"]),
        # One separator before exactly three digits could mean either: refused, not guessed.
        ("1.500", None, ["number_ambiguous"]),
        ("2,500", None, ["number_ambiguous"]),
        ("2,500 M", None, ["number_ambiguous"]),
        ("1 50 000", None, ["not_a_number"]),
        ("1.5.00", None, ["not_a_number"]),
        ("12 apples", None, ["not_a_number"]),
        ("abc", None, ["not_a_number"]),
        ("12 ABC", None, ["not_a_number"]),
        (True, None, ["not_a_number"]),
        ("", None, []),
        (None, None, []),
    ],
)
def test_normalise_decimal(cell: Any, expected: Decimal | None, codes: list[str]) -> None:
    value, notes = normalise_decimal(cell)
    assert value == expected
    assert [n.code for n in notes] == codes
    assert all(n.original == cell for n in notes)


def test_a_reading_says_what_was_understood_in_both_languages() -> None:
    _value, [note] = normalise_decimal("€ 2,5 M")
    assert note.severity == "warning"
    assert note.message_en == "'€ 2,5 M' was read as the number 2500000."
    assert note.message_fr == "'€ 2,5 M' a été lu comme le nombre 2500000."


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        (date(2019, 3, 5), date(2019, 3, 5), []),
        (datetime(2019, 3, 5, 0, 0), date(2019, 3, 5), []),
        ("2019-03-05", date(2019, 3, 5), []),
        ("2019-3-5", date(2019, 3, 5), []),
        (" 2019-03-05 ", date(2019, 3, 5), ["trimmed"]),
        ("05/03/2019", date(2019, 3, 5), ["date_read"]),
        ("5.3.2019", date(2019, 3, 5), ["date_read"]),
        ("05-03-2019", date(2019, 3, 5), ["date_read"]),
        ("2019/03/05", date(2019, 3, 5), ["date_read"]),
        (43529, date(2019, 3, 5), ["excel_serial_date"]),
        (43529.0, date(2019, 3, 5), ["excel_serial_date"]),
        ("43529", date(2019, 3, 5), ["excel_serial_date"]),
        ("12/25/2019", None, ["month_day_swapped"]),
        ("31/02/2019", None, ["invalid_date"]),
        ("March 2019", None, ["invalid_date"]),
        (-3, None, ["invalid_date"]),
        ("", None, []),
    ],
)
def test_normalise_date(cell: Any, expected: date | None, codes: list[str]) -> None:
    value, notes = normalise_date(cell)
    assert value == expected
    assert [n.code for n in notes] == codes


def test_a_month_day_swap_suggests_the_iso_date() -> None:
    _value, [note] = normalise_date("12/25/2019")
    assert note.severity == "error"
    assert note.suggestion == "2019-12-25"


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        ("Title", "Title", []),
        ("  Title ", "Title", ["trimmed"]),
        ("Cafe\u0301", "Café", ["unicode_normalised"]),
        ("Café\u00a0", "Café", ["trimmed"]),
        (2020, "2020", ["text_from_number"]),
        (2020.0, "2020", ["text_from_number"]),
        ("   ", None, []),
    ],
)
def test_normalise_text(cell: Any, expected: str | None, codes: list[str]) -> None:
    value, notes = normalise_text(cell)
    assert value == expected
    assert [n.code for n in notes] == codes


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        ("ongoing", "ongoing", []),
        ("Ongoing", "ongoing", []),
        ("En cours", "ongoing", []),
        ("ONGOING", "ongoing", ["code_read"]),
        ("en cours", "ongoing", ["code_read"]),
        ("acheve", "completed", ["code_read"]),
        (" Planned ", "planned", ["trimmed"]),
        ("ongoin", "ongoin", []),
        ("", None, []),
    ],
)
def test_normalise_code_is_case_and_accent_insensitive(
    cell: Any, expected: str | None, codes: list[str]
) -> None:
    value, notes = normalise_code(cell, STATUS)
    assert value == expected
    assert [n.code for n in notes] == codes


def test_an_unknown_code_gets_the_nearest_value_as_suggestion() -> None:
    assert STATUS.suggest("ongoin") == "ongoing"
    assert STATUS.suggest("complted") == "completed"
    assert STATUS.suggest("zzzz") is None


@pytest.mark.parametrize(
    ("cell", "parts", "on_commas"),
    [
        ("D1; D3", ["D1", " D3"], False),
        ("D1;D3;", ["D1", "D3"], False),
        ("D1\nD3", ["D1", "D3"], False),
        ("D1\r\nD3", ["D1", "D3"], False),
        ("D1, D3", ["D1", " D3"], True),
        ("Ministry, Senegal; IOM", ["Ministry, Senegal", " IOM"], False),
        ("D1", ["D1"], False),
        (3, ["3"], False),
        ("", [], False),
    ],
)
def test_split_multi(cell: Any, parts: list[str], on_commas: bool) -> None:
    assert split_multi(cell) == (parts, on_commas)


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        ("D1; D3", ["D1", "D3"], []),
        ("D1, D3", ["D1", "D3"], []),
        ("d1\nd2", ["D1", "D2"], ["code_read", "code_read"]),
        ("1; 2", ["D1", "D2"], ["code_read", "code_read"]),
        (3.0, ["D3"], ["code_read"]),
        ("D9", ["D9"], []),
    ],
)
def test_normalise_multi_code(cell: Any, expected: list[str], codes: list[str]) -> None:
    value, notes = normalise_multi_code(cell, DOMAINS)
    assert value == expected
    assert [n.code for n in notes] == codes


def test_commas_between_names_are_read_as_separators_with_a_warning() -> None:
    value, notes = normalise_multi_text("IOM, GIZ")
    assert value == ["IOM", "GIZ"]
    assert [n.code for n in notes] == ["split_on_commas"]
    assert notes[0].original == "IOM, GIZ"
    value, notes = normalise_multi_text("Ministry of Interior, Senegal; IOM")
    assert value == ["Ministry of Interior, Senegal", "IOM"]
    assert notes == []


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        ("SEN; MLI", ["SEN", "MLI"], []),
        ("SN", ["SEN"], ["country_read"]),
        ("Senegal; Mali", ["SEN", "MLI"], ["country_read", "country_read"]),
        ("Sénégal", ["SEN"], ["country_read"]),
        ("Côte d'Ivoire, Niger", ["CIV", "NER"], ["country_read", "country_read"]),
        ("République démocratique du Congo", ["COD"], ["country_read"]),
        ("Congo, The Democratic Republic of the", ["COD"], ["country_read"]),
        ("France\nMali", ["FRA", "MLI"], ["country_read", "country_read"]),
        ("Atlantis", ["Atlantis"], []),
    ],
)
def test_normalise_countries(cell: Any, expected: list[str], codes: list[str]) -> None:
    value, notes = normalise_countries(cell, KNOWN, resolve_country)
    assert value == expected
    assert [n.code for n in notes] == codes


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        ("JV-000123", "JV-000123", []),
        ("jv-123", "JV-000123", ["ref_read"]),
        ("JV 000123", "JV-000123", ["ref_read"]),
        ("123", "123", ["invalid_ref"]),
        ("", None, []),
    ],
)
def test_normalise_ref(cell: Any, expected: str | None, codes: list[str]) -> None:
    value, notes = normalise_ref(cell)
    assert value == expected
    assert [n.code for n in notes] == codes


@pytest.mark.parametrize(
    ("cell", "expected", "codes"),
    [
        (3, 3, []),
        (3.0, 3, []),
        ("3", 3, []),
        (3.5, None, ["not_an_integer"]),
        ("x", None, ["not_an_integer"]),
    ],
)
def test_normalise_int(cell: Any, expected: int | None, codes: list[str]) -> None:
    value, notes = normalise_int(cell)
    assert value == expected
    assert [n.code for n in notes] == codes
