"""EUR conversion: the currencies with an ECB rate, rates and pegs."""

from datetime import date
from decimal import Decimal

import pytest

from jvap.initiatives import money


def test_ecb_currencies_read_from_the_header_match_the_loaded_converter() -> None:
    assert money._ecb_currencies() == money._converter().currencies


@pytest.mark.parametrize(
    ("code", "expected"),
    [("EUR", True), ("usd", True), ("XOF", True), ("CVE", True), ("AFN", False), ("EUX", False)],
)
def test_has_eur_rate(code: str, expected: bool) -> None:
    assert money.has_eur_rate(code) is expected


def test_to_eur_uses_the_peg_of_the_cfa_franc() -> None:
    converted = money.to_eur(Decimal("655957"), "XOF", date(2020, 1, 1))
    assert converted.amount_eur == Decimal("1000.00")
    assert converted.rate_date == date(2020, 1, 1)
