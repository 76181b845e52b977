"""Set-based inserts for thousands of rows: COPY on PostgreSQL, executemany on SQLite."""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _copy_value(value: Any) -> Any:
    # COPY sends text: JSON columns get their serialised form.
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _executemany(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany with the column types' own conversions, skipping per-row compilation
    (which costs more than SQLite's insert itself)."""
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    params = [
        tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(columns, processors, strict=True)
        )
        for row in rows
    ]
    session.connection().exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', params
    )


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction.

    On PostgreSQL one COPY carries them all (executemany costs a round trip per row);
    SQLite runs in-process, where executemany is already fast.
    """
    if not rows:
        return
    if not _is_postgresql(session):
        _executemany(session, table, rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with (
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row([_copy_value(row[name]) for name in columns])


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
        insert_rows(session, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    first = session.scalar(insert(table).returning(table.c.id), dict(rows[0]))
    assert first is not None
    ids = list(range(first, first + len(rows)))
    rest = [{"id": i, **row} for i, row in zip(ids[1:], rows[1:], strict=True)]
    if rest:
        _executemany(session, table, rest)
    return ids
