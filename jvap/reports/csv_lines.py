"""Initiative CSV lines built by the database: labels, formula neutralising and quoting in SQL."""

# Why SQL: formatting 100k rows in Python (a row object per initiative, a check per field, the
# csv module) costs as much as the query itself; built where the data is, each line crosses to
# Python as one string and the report only joins them. The result is byte for byte what
# Python's csv module writes for the values the xlsx report shows (tests/reports/test_csv_lines).

import os
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
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
from sqlalchemy.pool import QueuePool

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
# PostgreSQL: from this many initiatives on, two connections build half of the lines each;
# below, one is about as fast as two.
SPLIT_FROM = 20_000


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
    session: Session,
    *,
    scope: Scope,
    labels: Labels,
    batch_size: int = 5000,
    split_from: int = SPLIT_FROM,
) -> Iterator[list[str]]:
    """Batches of CSV lines (without line ends), one per initiative in `scope`, ids ascending.

    On PostgreSQL, from `split_from` initiatives on, two more connections each build half of
    the lines, from one snapshot that this session exports (see _halves).
    """
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
    where = conditions(session, scope)
    query = query.where(*where).order_by(Initiative.id)
    if not sqlite:
        split = _split_point(session, where, split_from)
        if split is None:
            yield from _copied_lines(session.connection(), query, batch_size)
        else:
            yield from _halves(session, query, split, batch_size)
        return
    result = session.connection().execute(query.execution_options(yield_per=batch_size))
    for partition in result.scalars().partitions():
        yield list(partition)


# --- PostgreSQL: two halves at once ------------------------------------------------------


def _split_point(session: Session, where: list[Any], split_from: int) -> int | None:
    """The id that splits the initiatives in scope into two halves; None to build every line
    on this session's connection: one core, a small scope, a session bound to a connection
    rather than an engine (other connections could not see its data), inside a savepoint
    (no snapshot can be exported there), one that has written (or exported a snapshot
    already: that assigns a transaction id too), or a pool without two spare connections
    (the halves would wait for them while this one is held)."""
    engine = session.get_bind()
    if (
        not isinstance(engine, Engine)
        or (os.cpu_count() or 1) < 2
        or session.in_nested_transaction()
        or not _spare_connections(engine, 2)
    ):
        return None
    row = session.execute(
        select(
            func.count(),
            func.min(Initiative.id),
            func.max(Initiative.id),
            func.txid_current_if_assigned(),
        ).where(*where)
    ).one()
    count, lowest, highest, own_transaction = row
    if count < split_from or own_transaction is not None:
        return None
    return int(lowest + highest) // 2 + 1


def _spare_connections(engine: Engine, wanted: int) -> bool:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return True  # no limit to wait on
    limit = pool.size() + max(pool._max_overflow, 0)  # a negative overflow: unlimited
    return pool._max_overflow < 0 or pool.checkedout() + wanted <= limit


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")


def _halves(session: Session, query: Any, split: int, batch_size: int) -> Iterator[list[str]]:
    """The lines of ids below `split` and from `split` on, each built by a connection of its
    own in parallel (0.88-0.92 s -> 0.71-0.80 s over 100k lines on two cores), streamed in
    order.

    Both import one snapshot exported by this session (pg_export_snapshot), as pg_dump's
    parallel workers do, so that the halves describe one state of the registry; it lives
    while this transaction does. The second half waits in memory until the first is
    written; if the reader stops early or fails, it stops at its next batch.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    exported = session.execute(select(func.pg_export_snapshot())).scalar_one()
    if not _SNAPSHOT_ID.fullmatch(exported):
        raise ValueError(f"unexpected snapshot id {exported!r}")
    later: queue.SimpleQueue[list[str] | BaseException | None] = queue.SimpleQueue()
    stop = threading.Event()

    def lines_of(part: Any) -> Iterator[list[str]]:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            _import_snapshot(conn, exported)
            tune_for_reports(conn)
            yield from _copied_lines(conn, part, batch_size)

    def second_half() -> None:
        try:
            for lines in lines_of(query.where(Initiative.id >= split)):
                if stop.is_set():
                    break
                later.put(lines)
        except BaseException as error:  # handed to the reading thread, which raises it
            later.put(error)
        else:
            later.put(None)

    worker = threading.Thread(target=second_half, name="jvap-csv-half", daemon=True)
    worker.start()
    try:
        yield from lines_of(query.where(Initiative.id < split))
        while (item := later.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _import_snapshot(connection: Connection, exported: str) -> None:
    """Make `connection`'s new transaction see the exported snapshot (its first statement)."""
    # SET takes no parameters: the id was checked to be what PostgreSQL hands out.
    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{exported}'")


# COPY's text format writes these characters of a value as backslash sequences.
_COPY_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_COPY_ESCAPED = re.compile(r"\\(.)")


def _copied_lines(connection: Connection, query: Any, batch_size: int) -> Iterator[list[str]]:
    """PostgreSQL: the lines streamed by COPY ... TO STDOUT, which skips a cursor's fetches
    and a result row per line (0.2 s of 1.1 s over 100k lines)."""
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    driver = connection.connection.dbapi_connection
    assert driver is not None
    pending: list[bytes] = []
    rest = b""
    with (
        driver.cursor() as cursor,
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
