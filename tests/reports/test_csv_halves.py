"""PostgreSQL builds a large CSV in two halves on two connections, from one snapshot."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from jvap.db import create_db_engine, upgrade_database
from jvap.initiatives.models import Initiative
from jvap.reference import service as reference_service
from jvap.reports import csv_lines, queries, render
from tests.factories import make_initiative

ALL = queries.Scope(("published", "pending"))
COUNT = 30


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    """A database of its own with COUNT committed initiatives: other connections see them."""
    engine = create_db_engine(fresh_database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite builds every line on one connection")
    upgrade_database(fresh_database_url)
    with Session(engine) as session, session.begin():
        reference_service.seed(session)
        for number in range(COUNT):
            make_initiative(
                session,
                title=f'Programme {number}, "phase" {number % 3}' if number % 2 else f"P{number}",
                countries=("SEN", "MLI")[: 1 + number % 2],
                publication_status="pending" if number % 5 == 0 else "published",
            )
    yield engine
    engine.dispose()


@pytest.fixture
def halves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The split ids _halves was called with (on a machine of two cores or more)."""
    monkeypatch.setattr(csv_lines.os, "cpu_count", lambda: 2)
    calls: list[int] = []
    real = csv_lines._halves

    def spy(session: Session, query: Any, split: int, batch_size: int) -> Iterator[list[str]]:
        calls.append(split)
        return real(session, query, split, batch_size)

    monkeypatch.setattr(csv_lines, "_halves", spy)
    return calls


def lines(session: Session, **options: Any) -> Iterator[str]:
    labels = render.initiative_labels("en")
    for batch in csv_lines.iter_lines(session, scope=ALL, labels=labels, **options):
        yield from batch


def test_two_halves_write_what_one_connection_writes(engine: Engine, halves: list[int]) -> None:
    with Session(engine) as session:
        one = list(lines(session, split_from=10**9))
    assert halves == []
    with Session(engine) as session:
        two = list(lines(session, split_from=1, batch_size=4))
    assert len(halves) == 1 and 1 < halves[0] <= COUNT
    assert len(one) == COUNT and two == one


def test_both_halves_read_the_snapshot_taken_when_the_report_began(
    engine: Engine, halves: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second half starts its transaction only once a write has committed: what it
    # reads must still be the state of the export, not the one its own start would see.
    written = threading.Event()
    real_import = csv_lines._import_snapshot

    def late_import(connection: Any, exported: str) -> None:
        if threading.current_thread().name == "jvap-csv-half":
            assert written.wait(timeout=10)
        real_import(connection, exported)

    monkeypatch.setattr(csv_lines, "_import_snapshot", late_import)
    with Session(engine) as session:
        before = list(lines(session, split_from=10**9))
    with Session(engine) as session:
        last = max(session.scalars(select(Initiative.id)))
        reading = lines(session, split_from=1, batch_size=2)
        first = next(reading)  # the snapshot is exported, the first half under way
        with Session(engine) as writer, writer.begin():
            writer.execute(update(Initiative).where(Initiative.id == last).values(title="Later"))
        written.set()
        rest = list(reading)
    assert halves and [first, *rest] == before  # the last title as it was, not "Later"


def test_a_reader_that_stops_early_stops_the_second_half(engine: Engine, halves: list[int]) -> None:
    with Session(engine) as session:
        reading = lines(session, split_from=1, batch_size=2)
        next(reading)
        reading.close()
    assert halves
    assert not any(thread.name == "jvap-csv-half" for thread in threading.enumerate())


def test_a_session_that_has_written_builds_every_line_itself(
    engine: Engine, halves: list[int]
) -> None:
    with Session(engine) as session:
        first = min(session.scalars(select(Initiative.id)))
        session.execute(update(Initiative).where(Initiative.id == first).values(title="Mine"))
        built = list(lines(session, split_from=1))
    assert halves == []
    assert built[0].split(",")[3] == "Mine"  # its own, uncommitted write
