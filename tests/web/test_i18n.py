"""The portal's message catalogue, language negotiation and formats."""

import re
import string
from datetime import date, datetime
from decimal import Decimal
from importlib import resources

import pytest

from jvap.reference.codelists import ROLES
from jvap.web import i18n


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_has_both_languages_with_the_same_placeholders(key: str) -> None:
    english, french = i18n.MESSAGES[key]
    assert english.strip() and french.strip()
    assert _fields(english) == _fields(french)


def test_every_key_used_in_templates_and_code_exists() -> None:
    used: set[str] = set()
    package = resources.files("jvap.web")
    sources = [
        package.joinpath("templates").joinpath(n.name)
        for n in package.joinpath("templates").iterdir()
        if n.name.endswith(".html")
    ]
    sources += [n for n in package.iterdir() if n.name.endswith(".py")]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        used.update(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", text))
    assert used, "no message keys found: the pattern no longer matches the templates"
    # Keys built as prefix ~ code are checked code by code below.
    prefixes = {key for key in used if key.endswith("_")}
    assert prefixes <= set(DYNAMIC_KEYS)
    assert sorted(used - prefixes - set(i18n.MESSAGES)) == []


DYNAMIC_KEYS = {
    "role_": ROLES,
    "campaign_status_": ("draft", "open", "closed"),
    "submission_status_": (
        "received",
        "invalid",
        "pending_review",
        "returned",
        "accepted",
        "superseded",
    ),
    "state_": ("not_started", "uploaded_with_errors", "submitted", "returned", "accepted"),
    "severity_": ("error", "warning"),
    "publication_": ("published", "pending"),
    "error_": ("400", "401", "403", "404", "409", "422", "other"),
}


def test_every_message_is_used() -> None:
    package = resources.files("jvap.web")
    sources = [n for n in package.joinpath("templates").iterdir() if n.name.endswith(".html")]
    sources += [n for n in package.iterdir() if n.name.endswith(".py") and n.name != "i18n.py"]
    text = "".join(source.read_text(encoding="utf-8") for source in sources)
    dynamic = {prefix + code for prefix, codes in DYNAMIC_KEYS.items() for code in codes}
    unused = [
        key
        for key in i18n.MESSAGES
        if key not in dynamic and f'"{key}"' not in text and f"'{key}'" not in text
    ]
    assert unused == []


@pytest.mark.parametrize(
    "key", sorted(prefix + code for prefix, codes in DYNAMIC_KEYS.items() for code in codes)
)
def test_every_status_shown_has_a_message(key: str) -> None:
    assert key in i18n.MESSAGES


@pytest.mark.parametrize(
    ("lang", "key", "values", "expected"),
    [
        ("en", "row", {"row": 7}, "Row 7"),
        ("fr", "row", {"row": 7}, "Ligne 7"),
        ("en", "sign_in", {}, "Sign in"),
        ("fr", "sign_in", {}, "Se connecter"),
        ("de", "sign_in", {}, "Sign in"),
        ("fr", "no_such_key", {}, "no_such_key"),
    ],
)
def test_translate(lang: str, key: str, values: dict[str, object], expected: str) -> None:
    assert i18n.translate(lang, key, **values) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("fr-FR,fr;q=0.9,en;q=0.8", ["fr", "fr", "en"]),
        ("en;q=0.2, fr;q=0.8", ["fr", "en"]),
        ("de, *;q=0.5", ["de"]),
        ("fr;q=0, en", ["en"]),
        ("fr;q=abc", ["fr"]),
    ],
)
def test_parse_accept_language(header: str | None, expected: list[str]) -> None:
    assert i18n.parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("cookie", "user_language", "accept", "expected"),
    [
        ("fr", "en", "en", "fr"),  # the remembered choice wins
        (None, "fr", "en", "fr"),  # then the account's language
        ("xx", None, "de, fr;q=0.5", "fr"),  # then the browser's, skipping what we lack
        (None, None, "de", "en"),
        (None, None, None, "en"),
    ],
)
def test_negotiate(
    cookie: str | None, user_language: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(cookie=cookie, user_language=user_language, accept_language=accept) == (
        expected
    )


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (1234567, "en", 0, "1,234,567"),
        (1234567, "fr", 0, "1\u202f234\u202f567"),
        (Decimal("1500.5"), "en", 2, "1,500.50"),
        (Decimal("1500.5"), "fr", 2, "1\u202f500,50"),
        (None, "en", 0, "–"),
    ],
)
def test_format_number(value: object, lang: str, decimals: int, expected: str) -> None:
    assert i18n.format_number(value, lang, decimals=decimals) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (date(2026, 12, 31), "en", "31 December 2026"),
        (date(2026, 2, 1), "fr", "1 février 2026"),
        (datetime(2025, 8, 3, 14, 5), "fr", "3 août 2025 14:05"),
        (None, "en", "–"),
    ],
)
def test_format_date(value: date | None, lang: str, expected: str) -> None:
    assert i18n.format_date(value, lang) == expected


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [(0.75, "en", "75%"), (0.75, "fr", "75\u202f%"), (None, "fr", "–")],
)
def test_format_percent(value: float | None, lang: str, expected: str) -> None:
    assert i18n.format_percent(value, lang) == expected
