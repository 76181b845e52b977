"""Initiative CSV lines built by the database: labels, formula neutralising and quoting in SQL."""

# Why SQL: formatting 100k rows in Python (a row object per initiative, a check per field, the
# csv module) costs as much as the query itself; built where the data is, each line crosses to
# Python as one string and the report only joins them. The result is byte for byte what
# Python's csv module writes for the values the xlsx report shows (tests/reports/test_csv_lines).

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from jvap.db import is_sqlite
from jvap.initiatives.export import FORMULA_TRIGGERS, LIST_SEPARATOR
from jvap.initiatives.models import (
    REF_DIGITS,
    REF_PREFIX,
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativePriority,
)
from jvap.reports.queries import Scope, conditions, tune_for_reports

# A field holding one of these is quoted by Python's csv module (QUOTE_MINIMAL).
QUOTE_TRIGGERS = (",", '"', "\n", "\r")
LINE_END = "\r\n"


@dataclass(frozen=True, slots=True)
class Labels:
    """Display labels of the coded columns, code -> label, in the report's language."""

    kind: Mapping[str, str]
    status: Mapping[str, str]
    scope: Mapping[str, str]
    publication: Mapping[str, str]


def quote(text: str) -> str:
    """A CSV field as Python's csv module writes it: quoted only when it must be."""
    if any(trigger in text for trigger in QUOTE_TRIGGERS):
        return '"' + text.replace('"', '""') + '"'
    return text


def iter_lines(
    session: Session, *, scope: Scope, labels: Labels, batch_size: int = 5000
) -> Iterator[list[str]]:
    """Batches of CSV lines (without line ends), one per initiative in `scope`, ids ascending."""
    tune_for_reports(session)
    sqlite = is_sqlite(session)
    row = Initiative
    lists = _sqlite_lists() if sqlite else _grouped_lists()
    fields: list[ColumnElement[Any]] = [
        _ref(row.id, sqlite),
        row.partner_code,
        _labelled(row.kind, labels.kind),
        _free_text(row.title),
        _labelled(row.status, labels.status),
        _day(row.start_date, sqlite),
        _day(row.end_date, sqlite),
        _labelled(row.scope, labels.scope),
        # Codes from the reference tables: never a comma, a quote or a leading = + - @.
        lists.countries,
        lists.domains,
        lists.priorities,
        _amount(row.budget, sqlite),
        row.currency,
        _amount(row.budget_eur, sqlite),
        lists.funders,
        _labelled(row.publication_status, labels.publication),
    ]
    if sqlite:
        # One printf writes the line (NULL as an empty field): a chain of || copies the
        # growing line once per field, a third of the query's time over the plain columns.
        line = func.printf(",".join(["%s"] * len(fields)), *fields)
    else:
        line = _text(fields[0])
        for field in fields[1:]:
            line = line + "," + _text(field)
    query = select(type_coerce(line, String).label("line"))
    for grouped in lists.joins:
        query = query.outerjoin(grouped, grouped.c.initiative_id == Initiative.id)
    query = query.where(*conditions(session, scope)).order_by(Initiative.id)
    if not sqlite:
        yield from _copied_lines(session, query, batch_size)
        return
    result = session.connection().execute(query.execution_options(yield_per=batch_size))
    for partition in result.scalars().partitions():
        yield list(partition)


# COPY's text format writes these characters of a value as backslash sequences.
_COPY_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_COPY_ESCAPED = re.compile(r"\\(.)")


def _copied_lines(session: Session, query: Any, batch_size: int) -> Iterator[list[str]]:
    """PostgreSQL: the lines streamed by COPY ... TO STDOUT, which skips a cursor's fetches
    and a result row per line (0.2 s of 1.1 s over 100k lines)."""
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    pending: list[bytes] = []
    rest = b""
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({compiled}) TO STDOUT", compiled.params) as copy,
    ):
        for data in copy:  # one message per line, in practice
            pending.append(bytes(data))
            if len(pending) >= batch_size:
                lines, rest = _split(rest + b"".join(pending))
                pending = []
                yield lines
    lines, rest = _split(rest + b"".join(pending))
    if rest:
        raise ValueError("COPY output ended inside a line")
    if lines:
        yield lines


def _split(data: bytes) -> tuple[list[str], bytes]:
    """The complete lines of `data`, unescaped, and the bytes after the last one (a line
    break byte is never part of another UTF-8 character)."""
    cut = data.rfind(b"\n") + 1
    lines = data[:cut].decode().split("\n")[:-1]
    for index, line in enumerate(lines):
        if "\\" in line:  # a backslash, a tab or a line break in the text
            lines[index] = _COPY_ESCAPED.sub(lambda match: _COPY_ESCAPES[match[1]], line)
    return lines, data[cut:]


# --- fields -----------------------------------------------------------------------------


def _text(field: ColumnElement[Any]) -> ColumnElement[str]:
    """A field as text to concatenate; NULL (unknown, no list) becomes an empty field."""
    return func.coalesce(type_coerce(field, String), "")


def _labelled(column: ColumnElement[str], labels: Mapping[str, str]) -> ColumnElement[str]:
    """The label of a code, quoted as a CSV field; an unknown code is shown as it is."""
    return case({code: quote(label) for code, label in labels.items()}, value=column, else_=column)


def _free_text(text: ColumnElement[str]) -> ColumnElement[str]:
    """Typed text as a CSV field: formula-like text gets a leading apostrophe, as
    initiatives.export.neutralise does, and the field is quoted when it must be.

    `text` is repeated in the expression: it must be a column, never a subquery.
    """
    # The apostrophe never changes whether a field needs quotes, so both are decided on
    # the text as typed.
    apostrophe = case((func.substr(text, 1, 1).in_(FORMULA_TRIGGERS), "'"), else_="")
    must_quote = or_(*(text.contains(trigger) for trigger in QUOTE_TRIGGERS))
    quoted = literal('"', String) + apostrophe + func.replace(text, '"', '""') + '"'
    return case((must_quote, quoted), else_=apostrophe + text)


def _ref(initiative_id: ColumnElement[int], sqlite: bool) -> ColumnElement[str]:
    """JV-000123, as initiatives.models.format_ref writes it."""
    if sqlite:
        return func.printf(REF_PREFIX.replace("%", "%%") + f"%0{REF_DIGITS}d", initiative_id)
    digits = cast(initiative_id, Text)
    return literal(REF_PREFIX, String) + func.lpad(
        digits, func.greatest(REF_DIGITS, func.length(digits)), "0"
    )


def _day(column: ColumnElement[Any], sqlite: bool) -> ColumnElement[str]:
    # SQLite stores dates as ISO text already.
    return type_coerce(column, String) if sqlite else func.to_char(column, "YYYY-MM-DD")


def _amount(column: ColumnElement[Any], sqlite: bool) -> ColumnElement[str]:
    """Two decimals, no thousands separator; empty when unknown."""
    if sqlite:
        # printf turns NULL into 0.00, hence the guard.
        return case((column.is_(None), None), else_=func.printf("%.2f", column))
    return cast(column, Text)  # numeric(18, 2) prints two decimals


# --- multi-valued fields ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lists:
    countries: ColumnElement[str]
    domains: ColumnElement[str]
    priorities: ColumnElement[str]
    funders: ColumnElement[str]
    joins: tuple[Any, ...] = ()


def _funder_value() -> ColumnElement[str]:
    return func.coalesce(InitiativeFunder.partner_code, InitiativeFunder.name)


def _sqlite_lists() -> _Lists:
    """Correlated subqueries walking each link table's primary key: several times faster
    on SQLite than aggregating whole tables and joining them. SQLite before 3.44 has no
    ORDER BY inside group_concat, so each list reads from an ordered inner query."""

    def joined(value: ColumnElement[str], key: Any, *, free_text: bool = False) -> Any:
        ordered = select(value.label("value")).where(key == Initiative.id).order_by(value)
        items = ordered.correlate(Initiative).subquery()
        text = func.group_concat(items.c.value, LIST_SEPARATOR)
        if not free_text:
            return select(text).scalar_subquery()
        # Made a field one level up, so that the list is built once per row.
        whole = select(text.label("value")).subquery()
        return select(_free_text(whole.c.value)).scalar_subquery()

    return _Lists(
        countries=joined(InitiativeCountry.country_iso3, InitiativeCountry.initiative_id),
        domains=joined(InitiativeDomain.domain_code, InitiativeDomain.initiative_id),
        priorities=joined(InitiativePriority.priority_code, InitiativePriority.initiative_id),
        funders=joined(_funder_value(), InitiativeFunder.initiative_id, free_text=True),
    )


def _grouped_lists() -> _Lists:
    """PostgreSQL aggregates each link table once and hash-joins it; lists sort by code
    point (COLLATE "C"), as Python's sorted does."""

    def grouped(value: ColumnElement[str], key: Any, name: str) -> Any:
        text = func.aggregate_strings(value, LIST_SEPARATOR).aggregate_order_by(value.collate("C"))
        return select(key.label("initiative_id"), text.label(name)).group_by(key).subquery(name)

    countries = grouped(InitiativeCountry.country_iso3, InitiativeCountry.initiative_id, "c")
    domains = grouped(InitiativeDomain.domain_code, InitiativeDomain.initiative_id, "d")
    priorities = grouped(InitiativePriority.priority_code, InitiativePriority.initiative_id, "p")
    funders = grouped(_funder_value(), InitiativeFunder.initiative_id, "f")
    return _Lists(
        countries=countries.c.c,
        domains=domains.c.d,
        priorities=priorities.c.p,
        funders=_free_text(funders.c.f),
        joins=(countries, domains, priorities, funders),
    )
