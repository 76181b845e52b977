"""Set-based inserts for thousands of rows: COPY on PostgreSQL, executemany on SQLite."""

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.orm import Session

from jvap.kit import jsontext


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _picker(columns: Sequence[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A dict row's values in `columns` order, as a tuple."""
    if len(columns) == 1:
        (name,) = columns
        return lambda row: (row[name],)
    return itemgetter(*columns)


def _executemany(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """One executemany with the column types' own conversions, skipping per-row compilation
    (which costs more than SQLite's insert itself)."""
    dialect = session.get_bind().dialect
    processors = [
        (index, process)
        for index, name in enumerate(columns)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    params: Sequence[Sequence[Any]] = rows
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for index, process in processors:
                values[index] = process(values[index])
            converted.append(tuple(values))
        params = converted
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    session.connection().exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
        params if isinstance(params, list) else list(params),
    )


def _copy(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    # COPY sends text: JSON columns get their serialised form (NULL stays NULL).
    json_indexes = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    names = ", ".join(f'"{name}"' for name in columns)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with (
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        if not json_indexes:
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            values = list(row)
            for index in json_indexes:
                if values[index] is not None:
                    values[index] = jsontext.dumps(values[index])
            copy.write_row(values)


def insert_values(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` (sequences of values in `columns` order) into `table` in the session's
    transaction; cheaper than insert_rows when the caller can build tuples directly.

    On PostgreSQL one COPY carries them all (executemany costs a round trip per row);
    SQLite runs in-process, where executemany is already fast.
    """
    if not rows:
        return
    if _is_postgresql(session):
        _copy(session, table, columns, rows)
    else:
        _executemany(session, table, columns, rows)


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    pick = _picker(columns)
    insert_values(session, table, columns, [pick(row) for row in rows])


def insert_rows_returning_ids(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` into `table` (integer primary key `id`); their new ids, in row order.

    PostgreSQL: ids are drawn from the table's sequence in one query, then the rows are
    copied with them. SQLite: the first row is inserted alone, which takes the database's
    write lock and yields the next id; as AUTOINCREMENT ids only grow and no one else can
    write until the transaction ends, the following ids are free, so they are set
    explicitly and the rest go in one executemany.
    """
    if not rows:
        return []
    columns = list(rows[0])
    pick = _picker(columns)
    if _is_postgresql(session):
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"table": table.name, "count": len(rows)},
            )
        )
        values = [(i, *pick(row)) for i, row in zip(ids, rows, strict=True)]
        _copy(session, table, ["id", *columns], values)
        return ids
    first = session.scalar(insert(table).returning(table.c.id), dict(rows[0]))
    assert first is not None
    ids = list(range(first, first + len(rows)))
    rest = [(i, *pick(row)) for i, row in zip(ids[1:], rows[1:], strict=True)]
    if rest:
        _executemany(session, table, ["id", *columns], rest)
    return ids
