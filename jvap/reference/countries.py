"""Country names in English and French from pycountry, and lookup of what people write."""

import gettext
import re
import unicodedata
from functools import cache

import pycountry


@cache
def _french() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)


def _readable(name: str) -> str:
    # ISO writes "Congo, The Democratic Republic of the"; people write it the other way round.
    if ", " not in name:
        return name
    head, tail = name.split(", ", 1)
    joined = f"{tail} {head}"
    return re.sub(r"^(The|the) ", "", joined)


def display_names(iso3: str) -> tuple[str, str]:
    """(English, French) display names for an ISO 3166-1 alpha-3 code."""
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        raise KeyError(iso3)
    english = getattr(country, "common_name", None) or _readable(country.name)
    french = _readable(_french().gettext(country.name))
    return english, french


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key for matching names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", stripped).strip()


@cache
def country_lookup() -> dict[str, str]:
    """Folded ISO2, ISO3 and English/French names (official, common, display) -> ISO3."""
    lookup: dict[str, str] = {}
    french = _french()
    for country in pycountry.countries:
        iso3 = country.alpha_3
        names = {country.alpha_2, iso3, country.name, *display_names(iso3)}
        for attr in ("official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.update({value, french.gettext(value)})
        names.add(french.gettext(country.name))
        for name in names:
            lookup.setdefault(fold(name), iso3)
    # Short forms in everyday use that ISO does not list.
    extra = {
        "drc": "COD",
        "rdc": "COD",
        "congo kinshasa": "COD",
        "congo brazzaville": "COG",
        "ivory coast": "CIV",
        "cote divoire": "CIV",
        "cape verde": "CPV",
        "the gambia": "GMB",
        "uk": "GBR",
        "great britain": "GBR",
        "tanzania": "TZA",
        "swaziland": "SWZ",
        "holland": "NLD",
        "czech republic": "CZE",
        "republique tcheque": "CZE",
    }
    lookup.update(extra)
    return lookup


def resolve_country(text: str) -> str | None:
    """ISO3 for a code or an English/French name as people write it, or None."""
    return country_lookup().get(fold(text))
