"""Cell normalisation: what people type in a questionnaire cell, read as one typed value."""

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from rapidfuzz import fuzz, process

from jvap.initiatives.money import is_currency
from jvap.reference.countries import fold

Severity = Literal["error", "warning"]
Cell = Any  # what the spreadsheet reader gives: str, int, float, bool, date, datetime, ...


@dataclass(frozen=True, slots=True)
class Note:
    """What normalisation did to (or found wrong with) one cell; the original value is kept."""

    code: str
    severity: Severity
    message_en: str
    message_fr: str
    original: Any
    suggestion: str | None = None


# code -> (severity, English template, French template); templates use str.format fields.
MESSAGES: dict[str, tuple[Severity, str, str]] = {
    "trimmed": (
        "warning",
        "Spaces around the value were removed.",
        "Les espaces autour de la valeur ont été supprimés.",
    ),
    "unicode_normalised": (
        "warning",
        "Characters were converted to their standard (NFC) form.",
        "Les caractères ont été convertis en leur forme standard (NFC).",
    ),
    "number_read": (
        "warning",
        "{original!r} was read as the number {value}.",
        "{original!r} a été lu comme le nombre {value}.",
    ),
    "number_ambiguous": (
        "error",
        "{original!r} is ambiguous: is the {sep!r} a thousands or a decimal separator? "
        "Write the number with digits only (e.g. {example}).",
        "{original!r} est ambigu : le {sep!r} sépare-t-il les milliers ou les décimales ? "
        "Écrivez le nombre en chiffres seulement (p. ex. {example}).",
    ),
    "not_a_number": (
        "error",
        "{original!r} is not a number.",
        "{original!r} n'est pas un nombre.",
    ),
    "not_an_integer": (
        "error",
        "{original!r} is not a whole number.",
        "{original!r} n'est pas un nombre entier.",
    ),
    "date_read": (
        "warning",
        "{original!r} was read as {value} ({pattern}).",
        "{original!r} a été lu comme {value} ({pattern_fr}).",
    ),
    "excel_serial_date": (
        "warning",
        "{original!r} was read as an Excel date serial number: {value}.",
        "{original!r} a été lu comme un numéro de série de date Excel : {value}.",
    ),
    "invalid_date": (
        "error",
        "{original!r} is not a date; write it as YYYY-MM-DD or DD/MM/YYYY.",
        "{original!r} n'est pas une date ; écrivez-la AAAA-MM-JJ ou JJ/MM/AAAA.",
    ),
    "month_day_swapped": (
        "error",
        "{original!r} is not a valid DD/MM/YYYY date (there is no month {month}); "
        "it looks like a MM/DD/YYYY date.",
        "{original!r} n'est pas une date JJ/MM/AAAA valide (il n'y a pas de mois {month}) ; "
        "elle semble écrite MM/JJ/AAAA.",
    ),
    "code_read": (
        "warning",
        "{original!r} was read as the code {value!r}.",
        "{original!r} a été lu comme le code {value!r}.",
    ),
    "country_read": (
        "warning",
        "{original!r} was read as the country code {value}.",
        "{original!r} a été lu comme le code pays {value}.",
    ),
    "split_on_commas": (
        "warning",
        "The commas were read as separators: {count} values ({values}). Use semicolons if a "
        "name contains a comma.",
        "Les virgules ont été lues comme séparateurs : {count} valeurs ({values}). Utilisez des "
        "points-virgules si un nom contient une virgule.",
    ),
    "ref_read": (
        "warning",
        "{original!r} was read as the reference {value}.",
        "{original!r} a été lu comme la référence {value}.",
    ),
    "invalid_ref": (
        "error",
        "{original!r} is not a JVAP reference (JV- followed by six digits, e.g. JV-000123).",
        "{original!r} n'est pas une référence JVAP (JV- suivi de six chiffres, p. ex. JV-000123).",
    ),
    "text_from_number": (
        "warning",
        "The number {original!r} was read as the text {value!r}.",
        "Le nombre {original!r} a été lu comme le texte {value!r}.",
    ),
}


def make_note(code: str, original: Any, *, suggestion: str | None = None, **values: Any) -> Note:
    severity, english, french = MESSAGES[code]
    return Note(
        code=code,
        severity=severity,
        message_en=english.format(original=original, **values),
        message_fr=french.format(original=original, **values),
        original=original,
        suggestion=suggestion,
    )


Result = tuple[Any, list[Note]]
_NO_NOTES: list[Note] = []


def is_blank(value: Cell) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


# --- text ---------------------------------------------------------------------------

_SPACES = re.compile(r"[\u00a0\u2007\u202f\u2009]")


def clean_string(text: str, notes: list[Note]) -> str:
    """Trimmed, NFC text; records a warning for each change (the original is kept)."""
    original = text
    if not text.isascii():
        text = _SPACES.sub(" ", text)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
            notes.append(make_note("unicode_normalised", original))
    stripped = text.strip()
    if stripped != text:
        notes.append(make_note("trimmed", original))
    return stripped


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise_text(value: Cell) -> Result:
    # Plain text with nothing around it (most cells) is returned before any other test.
    if value.__class__ is str and value and value.isascii() and value[0] > " " and value[-1] > " ":
        return value, _NO_NOTES
    if is_blank(value):
        return None, _NO_NOTES
    if isinstance(value, str):
        if value.isascii() and value[0] > " " and value[-1] > " ":
            return value, _NO_NOTES
        notes: list[Note] = []
        return clean_string(value, notes) or None, notes
    if isinstance(value, datetime):
        return value.date().isoformat() if not value.time() else value.isoformat(), _NO_NOTES
    if isinstance(value, date):
        return value.isoformat(), _NO_NOTES
    if isinstance(value, bool):
        return str(value).upper(), _NO_NOTES
    if isinstance(value, int | float):
        text = _number_text(value)
        return text, [make_note("text_from_number", value, value=text)]
    return str(value), _NO_NOTES


# --- numbers ------------------------------------------------------------------------

_MULTIPLIERS: dict[str, int] = {
    "k": 10**3,
    "thousand": 10**3,
    "thousands": 10**3,
    "mille": 10**3,
    "m": 10**6,
    "mio": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "millions": 10**6,
    "bn": 10**9,
    "md": 10**9,
    "mds": 10**9,
    "billion": 10**9,
    "billions": 10**9,
    "milliard": 10**9,
    "milliards": 10**9,
}
_CURRENCY_SIGNS = "€$£¥₦"
_NUMBER = re.compile(
    r"^(?P<sign>[-+])?\s*"
    r"(?:(?P<cur1>[" + _CURRENCY_SIGNS + r"]|[A-Za-z]{3}(?=[\s\d]))\s*)?"
    r"(?P<sign2>[-+])?"
    r"(?P<body>\d[\d\s.,'’]*)"
    r"\s*(?P<mult>[A-Za-z]+\.?)?"
    r"\s*(?P<cur2>[" + _CURRENCY_SIGNS + r"]|[A-Za-z]{3})?$"
)
_PLAIN = re.compile(r"^(-?\d+)(\.\d+)?$")
_SPACE_GROUPS = re.compile(r"^\d{1,3}(?:[ '’]\d{3})+$")


def _grouped(body: str, sep: str) -> bool:
    """True when `sep` separates groups of exactly three digits after the first."""
    groups = body.split(sep)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def _digits(body: str, original: str) -> tuple[str | None, Note | None]:
    """Plain `digits[.digits]` text for a number body with separators, or an error note."""
    body = re.sub(r"\s+", " ", body.strip())
    integer, decimal_part = body, ""
    has_dot, has_comma = "." in body, "," in body
    if has_dot and has_comma:
        decimal_sep = "." if body.rfind(".") > body.rfind(",") else ","
        thousands_sep = "," if decimal_sep == "." else "."
        integer, _, decimal_part = body.rpartition(decimal_sep)
        if thousands_sep in decimal_part or not _grouped(integer, thousands_sep):
            return None, make_note("not_a_number", original)
        integer = integer.replace(thousands_sep, "")
    elif has_dot or has_comma:
        sep = "." if has_dot else ","
        head, _, tail = body.partition(sep)
        if body.count(sep) > 1:
            if not _grouped(body, sep):
                return None, make_note("not_a_number", original)
            integer = body.replace(sep, "")
        elif (
            len(tail) == 3
            and tail.isdigit()
            and head.strip().isdigit()
            and head.strip() != "0"
            and " " not in head
            and "'" not in head
        ):
            example = f"{head}{tail} / {head}.{tail}"
            return None, make_note("number_ambiguous", original, sep=sep, example=example)
        else:
            integer, decimal_part = head, tail
    integer = integer.strip()
    if " " in integer or "'" in integer or "’" in integer:
        if not _SPACE_GROUPS.match(integer):
            return None, make_note("not_a_number", original)
        integer = re.sub(r"[ '’]", "", integer)
    if not integer.isdigit() or (decimal_part and not decimal_part.isdigit()):
        return None, make_note("not_a_number", original)
    return integer + ("." + decimal_part if decimal_part else ""), None


def normalise_decimal(value: Cell) -> Result:
    """A Decimal from a number cell or from text such as `1 500 000`, `1.500.000,00`, `€ 2,5 M`.

    A single separator followed by exactly three digits (`1.500`, `2,500`) is refused as
    ambiguous rather than guessed; every reading of text is reported with the original.
    """
    if is_blank(value):
        return None, _NO_NOTES
    if isinstance(value, bool):
        return None, [make_note("not_a_number", value)]
    if isinstance(value, int):
        return Decimal(value), _NO_NOTES
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, [make_note("not_a_number", value)]
        return Decimal(repr(value)), _NO_NOTES
    if not isinstance(value, str):
        return None, [make_note("not_a_number", value)]
    notes: list[Note] = []
    text = clean_string(value, notes)
    plain = _PLAIN.match(text)
    if plain and not (len(plain[2] or "") == 4 and plain[1].lstrip("-") != "0"):
        return Decimal(text), notes
    match = _NUMBER.match(text)
    if match is None:
        return None, [make_note("not_a_number", value)]
    mult = (match["mult"] or "").rstrip(".").lower()
    currencies = [c for c in (match["cur1"], match["cur2"]) if c and c not in _CURRENCY_SIGNS]
    factor = 1
    if mult in _MULTIPLIERS:
        factor = _MULTIPLIERS[mult]
    elif mult and not match["cur2"]:
        currencies.append(mult)  # a trailing ISO code, as in "1 500 EUR"
    elif mult:
        return None, [make_note("not_a_number", value)]
    if not all(is_currency(code) for code in currencies):
        return None, [make_note("not_a_number", value)]
    digits, error = _digits(match["body"], value)
    if error is not None:
        return None, [error]
    assert digits is not None
    amount = Decimal(digits) * factor
    if (match["sign"] or match["sign2"]) == "-":
        amount = -amount
    if amount == amount.to_integral_value():
        amount = Decimal(int(amount))
    else:
        amount = Decimal(format(amount.normalize(), "f"))
    notes = [n for n in notes if n.code != "trimmed"]
    notes.append(make_note("number_read", value, value=format(amount, "f")))
    return amount, notes


def normalise_int(value: Cell) -> Result:
    if is_blank(value):
        return None, _NO_NOTES
    if isinstance(value, bool):
        return None, [make_note("not_an_integer", value)]
    if isinstance(value, int):
        return value, _NO_NOTES
    if isinstance(value, float):
        if value.is_integer():
            return int(value), _NO_NOTES
        return None, [make_note("not_an_integer", value)]
    amount, notes = normalise_decimal(value)
    if amount is None:
        return None, [make_note("not_an_integer", value)] if notes else notes
    if amount != amount.to_integral():
        return None, [make_note("not_an_integer", value)]
    return int(amount), notes


# --- dates --------------------------------------------------------------------------

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 once Excel's 1900 leap bug is absorbed
_MAX_SERIAL = 2958465  # 9999-12-31
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def normalise_date(value: Cell) -> Result:
    """A date from a date cell, an Excel serial number, or text YYYY-MM-DD / DD/MM/YYYY."""
    if is_blank(value):
        return None, _NO_NOTES
    if isinstance(value, datetime):
        return value.date(), _NO_NOTES
    if isinstance(value, date):
        return value, _NO_NOTES
    if isinstance(value, bool):
        return None, [make_note("invalid_date", value)]
    if isinstance(value, int | float):
        if 1 <= value <= _MAX_SERIAL:
            day = EXCEL_EPOCH + timedelta(days=int(value))
            return day, [make_note("excel_serial_date", value, value=day.isoformat())]
        return None, [make_note("invalid_date", value)]
    if not isinstance(value, str):
        return None, [make_note("invalid_date", value)]
    notes: list[Note] = []
    text = clean_string(value, notes)
    if match := _ISO.match(text):
        day = _safe_date(int(match[1]), int(match[2]), int(match[3]))
        if day is not None:
            return day, notes
    elif match := _YMD.match(text):
        day = _safe_date(int(match[1]), int(match[2]), int(match[3]))
        if day is not None:
            note = make_note(
                "date_read", value, value=day, pattern="YYYY/MM/DD", pattern_fr="AAAA/MM/JJ"
            )
            return day, [note]
    elif match := _DMY.match(text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        day = _safe_date(year, second, first)
        if day is not None:
            note = make_note(
                "date_read", value, value=day, pattern="DD/MM/YYYY", pattern_fr="JJ/MM/AAAA"
            )
            return day, [note]
        swapped = _safe_date(year, first, second)
        if swapped is not None:
            return None, [
                make_note("month_day_swapped", value, month=second, suggestion=swapped.isoformat())
            ]
    elif re.fullmatch(r"\d{5}(\.0+)?", text):
        day = EXCEL_EPOCH + timedelta(days=int(float(text)))
        return day, [make_note("excel_serial_date", value, value=day.isoformat())]
    return None, [make_note("invalid_date", value)]


# --- codes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """The accepted spellings of a coded field: exact forms, and folded forms to codes."""

    exact: Mapping[str, str]  # code or label as written by the template -> code
    folded: Mapping[str, str]  # fold(code or label) -> code
    choices: tuple[str, ...]  # what a suggestion may propose (the codes)

    @classmethod
    def build(
        cls,
        entries: Iterable[tuple[str, Iterable[str]]],
        aliases: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> "Vocabulary":
        """From (code, labels) pairs: the code and its labels are read silently, `aliases`
        (other spellings) and any case or accent variant with a warning."""
        exact: dict[str, str] = {}
        folded: dict[str, str] = {}
        codes: list[str] = []
        for code, labels in entries:
            codes.append(code)
            for text in (code, *labels):
                if text:
                    exact.setdefault(text, code)
                    folded.setdefault(fold(text), code)
        for code, spellings in aliases:
            for text in spellings:
                if text:
                    folded.setdefault(fold(text), code)
        return cls(exact=exact, folded=folded, choices=tuple(codes))

    def resolve(self, text: str) -> tuple[str | None, bool]:
        """(code, exact?) for `text`, or (None, False) when nothing matches."""
        code = self.exact.get(text)
        if code is not None:
            return code, True
        return self.folded.get(fold(text)), False

    def suggest(self, text: str) -> str | None:
        """The code whose spelling is nearest to `text` by fuzzy match, if close enough."""
        return suggest(text, self.folded)


def suggest(text: str, folded: Mapping[str, str]) -> str | None:
    """Nearest value of `folded` (folded spelling -> code) to `text` by fuzzy match, or None."""
    key = fold(str(text))
    if not key:
        return None
    found = process.extractOne(key, list(folded), scorer=fuzz.WRatio, score_cutoff=80)
    return folded[found[0]] if found is not None else None


def normalise_code(value: Cell, vocabulary: Vocabulary) -> Result:
    """The code for a code or label (any case or accents); unknown text passes through as is,
    for the field rules to refuse with a suggestion."""
    if is_blank(value):
        return None, _NO_NOTES
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, str):
        text: str = str(value)
        notes: list[Note] = []
    else:
        notes = []
        text = clean_string(value, notes)
    code, exact = vocabulary.resolve(text)
    if code is None:
        return text, notes
    if not exact:
        notes.append(make_note("code_read", value, value=code))
    return code, notes


def split_multi(value: Cell) -> tuple[list[str], bool]:
    """(parts, split on commas?): `;` and line breaks separate values; commas do when neither
    appears."""
    if is_blank(value):
        return [], False
    if not isinstance(value, str):
        return [_number_text(value) if isinstance(value, int | float) else str(value)], False
    if ";" in value or "\n" in value or "\r" in value:
        parts = re.split(r"[;\r\n]+", value)
        on_commas = False
    else:
        parts = value.split(",")
        on_commas = len(parts) > 1
    return [p for p in parts if p.strip()], on_commas


def normalise_multi_code(value: Cell, vocabulary: Vocabulary) -> Result:
    parts, _ = split_multi(value)
    codes: list[str] = []
    notes: list[Note] = []
    for part in parts:
        code, part_notes = normalise_code(part.strip(), vocabulary)
        codes.append(code)
        notes.extend(replace(n, original=value) for n in part_notes if n.code != "trimmed")
    return codes, notes


def normalise_multi_text(value: Cell) -> Result:
    parts, on_commas = split_multi(value)
    notes: list[Note] = []
    values: list[str] = []
    for part in parts:
        text, part_notes = normalise_text(part.strip())
        if text:
            values.append(text)
        notes.extend(n for n in part_notes if n.code != "trimmed")
    if on_commas:
        notes.append(
            make_note("split_on_commas", value, count=len(values), values="; ".join(values))
        )
    return values, notes


def normalise_countries(
    value: Cell, known: frozenset[str] | set[str], resolve: Callable[[str], str | None]
) -> Result:
    """ISO3 codes for countries written as ISO2/ISO3 codes or English/French names.

    A cell that names one country with a comma in it ("Congo, The Democratic Republic of
    the") is read whole before it is split on commas.
    """
    if is_blank(value):
        return [], _NO_NOTES
    if isinstance(value, str) and "," in value and ";" not in value and "\n" not in value:
        whole = resolve(value.strip())
        if whole is not None:
            parts = [value]
        else:
            parts, _ = split_multi(value)
    else:
        parts, _ = split_multi(value)
    codes: list[str] = []
    notes: list[Note] = []
    for part in parts:
        text = clean_string(part, [])
        if text in known:
            codes.append(text)
            continue
        iso3 = resolve(text)
        if iso3 is None:
            codes.append(text)
            continue
        codes.append(iso3)
        notes.append(replace(make_note("country_read", text, value=iso3), original=value))
    return codes, notes


_REF = re.compile(r"^JV[-\s_]?0*(\d{1,6})$", re.IGNORECASE)


def normalise_ref(value: Cell, prefix: str = "JV-") -> Result:
    """A JVAP reference `JV-000123` from what was typed (`jv-123`, `JV 000123`)."""
    if is_blank(value):
        return None, _NO_NOTES
    text = clean_string(str(value) if not isinstance(value, str) else value, [])
    match = _REF.match(text)
    if match is None:
        return text, [make_note("invalid_ref", value)]
    ref = f"{prefix}{int(match[1]):06d}"
    if ref != text:
        return ref, [make_note("ref_read", value, value=ref)]
    return ref, _NO_NOTES
