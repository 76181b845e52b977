"""A snapshot that follows a committed one is patched from the change log, never wrong."""

import math
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from jvap.app import create_app
from jvap.config import Settings
from jvap.db import create_db_engine, upgrade_database
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import Initiative, InitiativeCountry
from jvap.initiatives.rules import InitiativeRecord
from jvap.reference import service as reference_service
from jvap.reports import service, snapshot
from jvap.reports.models import WATCHED_TABLES
from jvap.reports.queries import DIMENSIONS
from jvap.reports.schemas import SummaryFilters

PARTS = ("initiatives", "countries", "domains", "priorities", "funders", "revisions", "reference")


def record(index: int, **changes: Any) -> InitiativeRecord:
    values: dict[str, Any] = {
        "kind": "project" if index % 3 else "policy",
        "title": f"Initiative {index}",
        "description": "Objectives and activities",
        "status": ("planned", "ongoing", "completed")[index % 3],
        "start_date": date(2016 + index % 8, 1, 1),
        "end_date": date(2027, 1, 1),
        "domains": ["D1", "D3"] if index % 2 else ["D2"],
        "priorities": ["D1.01"] if index % 2 else [],
        "scope": "regional",
        "countries": ["SEN", "MLI"] if index % 2 else ["NER"],
        "budget": Decimal(1000 * (index + 1)) if index % 6 else None,
        "currency": "EUR" if index % 6 else None,
        "funders": ["France", "European Union"] if index % 2 else ["Spain"],
    }
    return InitiativeRecord(**{**values, **changes})


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    """A database of its own with committed initiatives: patching starts from commits."""
    upgrade_database(fresh_database_url)
    engine = create_db_engine(fresh_database_url)
    with Session(engine) as session, session.begin():
        reference_service.seed(session)
        initiatives_service.create_initiatives(
            session, [("SEN", record(i)) for i in range(12)], user_id=None, publish=True
        )
    snapshot.clear()
    yield engine
    snapshot.clear()
    engine.dispose()


def read_all(engine: Engine) -> snapshot.Snapshot:
    """The current snapshot with every part read, in a read-only transaction."""
    with Session(engine) as session, session.begin():
        snap = snapshot.current(session)
        for name in PARTS:
            snap.part(session, name)
        return snap


def decoded(codes: snapshot.Codes) -> list[Any]:
    return [None if code < 0 else codes.values[code] for code in codes.codes]


def content(snap: snapshot.Snapshot) -> dict[str, Any]:
    """Every part as plain values, in an order that does not depend on how it was built."""
    initiatives = snap.parts["initiatives"]
    ids = [int(i) for i in initiatives.ids]
    found: dict[str, Any] = {
        "ids": ids,
        "partner": decoded(initiatives.partner),
        "kind": decoded(initiatives.kind),
        "status": decoded(initiatives.status),
        "publication": decoded(initiatives.publication),
        "start_year": list(initiatives.start_year),
        "budget": [None if math.isnan(b) else b for b in initiatives.budget_eur],
        "created_at": list(initiatives.created_at),
        "reference": snap.parts["reference"],
    }
    for name in ("countries", "domains", "priorities", "funders"):
        links = snap.parts[name]
        assert list(links.key.values) == sorted(links.key.values)
        pairs = zip([ids[i] for i in links.initiative], decoded(links.key), strict=True)
        found[name] = sorted(pairs)
    revisions = snap.parts["revisions"]
    found["revisions"] = sorted(
        zip(
            [ids[i] for i in revisions.initiative],
            revisions.number.tolist(),
            revisions.changed_at.tolist(),
            revisions.to_completed.tolist(),
            strict=True,
        )
    )
    return found


def fresh(engine: Engine) -> dict[str, Any]:
    snapshot.clear()
    return content(read_all(engine))


def write(engine: Engine) -> None:
    """Committed writes of every kind: new, changed, unpublished, deleted, relinked."""
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("MLI", record(i)) for i in (20, 21)], user_id=None, publish=True
        )
        initiatives_service.update_initiatives(
            session,
            [(3, 1, record(3, status="completed", countries=["GMB"], budget=Decimal(7)))],
            user_id=None,
        )
        session.execute(
            update(Initiative).where(Initiative.id == 4).values(publication_status="pending")
        )
        session.execute(delete(InitiativeCountry).where(InitiativeCountry.initiative_id == 6))
        session.execute(delete(Initiative).where(Initiative.id == 8))


def test_a_patched_snapshot_holds_what_a_fresh_read_holds(engine: Engine) -> None:
    before = read_all(engine)
    write(engine)
    after = read_all(engine)
    assert after.touched is not None  # patched, not read afresh
    touched = {table: set(ids.tolist()) for table, ids in after.touched.items()}
    assert set().union(*touched.values()) == {3, 4, 6, 8, 13, 14}
    assert touched["initiative"] == {3, 4, 8, 13, 14}
    # Each table logs its own: the relinked and the new, not the one only unpublished (the
    # deleted one's cascade is logged on PostgreSQL, by the trigger that does it).
    assert touched["initiative_country"] - {8} == {3, 6, 13, 14}
    assert touched["initiative_revision"] - {8} == {3, 13, 14}
    assert after.parts["initiatives"] is not before.parts["initiatives"]
    assert content(after) == fresh(engine)
    assert 8 not in content(after)["ids"] and {13, 14} <= set(content(after)["ids"])


@pytest.mark.parametrize("max_runs", [1, snapshot.MAX_ID_RUNS])
def test_a_patch_reads_the_written_initiatives_by_id_ranges_or_from_the_log(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, max_runs: int
) -> None:
    # write() writes the initiatives 3-4, 8 and 13-14: three runs of ids, too many when at
    # most one is allowed, and its tables' patches then read the ids from the change log.
    monkeypatch.setattr(snapshot, "MAX_ID_RUNS", max_runs)
    from_log: list[str] = []
    touched_query = snapshot._touched_query

    def spy(session: Session, since: int, table_name: str | None = None) -> Any:
        if table_name is not None:  # a patch's own query, not the list of what was written
            from_log.append(table_name)
        return touched_query(session, since, table_name)

    monkeypatch.setattr(snapshot, "_touched_query", spy)
    read_all(engine)
    write(engine)
    after = read_all(engine)
    assert after.touched is not None
    assert ("initiative" in from_log) is (max_runs == 1)
    assert content(after) == fresh(engine)


def test_a_patch_after_deleting_a_run_of_initiatives(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("MLI", record(i)) for i in range(20, 26)], user_id=None, publish=True
        )
    read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(delete(Initiative).where(Initiative.id.between(13, 18)))
    after = read_all(engine)
    assert after.touched is not None
    assert after.touched["initiative"].tolist() == list(range(13, 19))
    assert content(after) == fresh(engine)
    assert max(content(after)["ids"]) == 12


@pytest.mark.parametrize(
    ("ids", "runs"),
    [
        ([7], [(7, 7)]),
        ([3, 4, 5, 9, 11, 12], [(3, 5), (9, 9), (11, 12)]),
        (list(range(100, 5100)), [(100, 5099)]),
        ([], None),
        (
            list(range(0, 2 * snapshot.MAX_ID_RUNS, 2)),
            [(i, i) for i in range(0, 2 * snapshot.MAX_ID_RUNS, 2)],
        ),
        (list(range(0, 2 * snapshot.MAX_ID_RUNS + 2, 2)), None),
    ],
)
def test_id_runs(ids: list[int], runs: list[tuple[int, int]] | None) -> None:
    assert snapshot._id_runs(np.array(ids, dtype=np.int64)) == runs


def test_patched_summaries_equal_fresh_ones(engine: Engine) -> None:
    def summaries() -> list[Any]:
        with Session(engine) as session, session.begin():
            return [
                service.summarise(
                    session, dimension=dimension, filters=SummaryFilters(include_pending=pending)
                ).model_dump(exclude={"generated_at"})
                for dimension in DIMENSIONS
                for pending in (False, True)
            ]

    summaries()
    write(engine)
    patched = summaries()
    snapshot.clear()
    assert patched == summaries()


def test_several_patches_in_a_row(engine: Engine) -> None:
    read_all(engine)
    for index in range(3):
        with Session(engine) as session, session.begin():
            initiatives_service.create_initiatives(
                session, [("NER", record(30 + index))], user_id=None, publish=True
            )
        assert read_all(engine).touched is not None
    assert content(read_all(engine)) == fresh(engine)


def test_a_part_skipped_by_one_snapshot_is_patched_by_the_next(engine: Engine) -> None:
    """Summaries that need different parts alternate: a part the snapshot in between did not
    read is patched from the one before it, with everything written since then."""
    first = read_all(engine)
    write(engine)
    with Session(engine) as session, session.begin():
        between = snapshot.current(session)
        between.part(session, "countries")  # and the initiatives: not the funders
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("NER", record(50, funders=["GIZ"]))], user_id=None, publish=True
        )
    loads: list[str] = []
    original = dict(snapshot._LOADERS)
    for name, load in original.items():
        snapshot._LOADERS[name] = lambda s, snap, n=name, f=load: loads.append(n) or f(s, snap)
    try:
        last = read_all(engine)
    finally:
        snapshot._LOADERS.update(original)
    assert loads == []  # every part patched, the funders from the first snapshot
    assert last.previous_counter == between.version[0] > first.version[0]
    assert content(last) == fresh(engine)


def test_a_part_unread_for_long_is_let_go(engine: Engine) -> None:
    read_all(engine)
    for index in range(snapshot.BASE_AGE_LIMIT + 2):
        with Session(engine) as session, session.begin():
            initiatives_service.create_initiatives(
                session, [("NER", record(60 + index))], user_id=None, publish=True
            )
        with Session(engine) as session, session.begin():
            latest = snapshot.current(session)
            # Passed on unread by `index` snapshots so far.
            assert ("funders" in latest.previous) == (index <= snapshot.BASE_AGE_LIMIT)
            latest.part(session, "countries")
    assert content(read_all(engine)) == fresh(engine)


@pytest.mark.parametrize("table_name", [None, "initiative_country"])
def test_sqlite_reads_the_log_from_the_counter_index(engine: Engine, table_name: Any) -> None:
    """The log keeps a row per table and initiative ever written: reading it through its
    primary key instead took 0.1 s over 100k initiatives."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps a row per statement, pruned")
    with Session(engine) as session:
        query = snapshot._touched_query(session, 5, table_name)
        if table_name is None:
            name, ids = query.subquery().c
            query = select(name, func.count(ids)).group_by(name)
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    details = " ".join(row[-1] for row in plan)
    assert "ix_registry_change_counter" in details, details


def test_a_reference_write_reads_everything_again(engine: Engine) -> None:
    read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(
            text("UPDATE process_membership SET status = 'former' WHERE partner_code = 'SEN'")
        )
    after = read_all(engine)
    assert after.touched_known and after.touched is None
    assert content(after) == fresh(engine)


def test_a_pruned_log_reads_everything_again(engine: Engine) -> None:
    read_all(engine)
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("NER", record(40))], user_id=None, publish=True
        )
        # As if the log had been pruned past the previous snapshot's counter.
        session.execute(text("UPDATE registry_version SET change_floor = counter + 1"))
    after = read_all(engine)
    assert after.touched_known and after.touched is None
    assert content(after) == fresh(engine)


def test_many_writes_read_everything_again(engine: Engine) -> None:
    read_all(engine)
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("NER", record(i)) for i in range(200)], user_id=None, publish=True
        )
    after = read_all(engine)
    assert after.touched_known and after.touched is None  # cheaper to read afresh
    assert len(after.parts["initiatives"].ids) == 212


def test_an_uncommitted_state_is_never_patched_from(engine: Engine) -> None:
    read_all(engine)
    with Session(engine) as session:
        session.begin()
        initiatives_service.create_initiatives(
            session, [("NER", record(50))], user_id=None, publish=True
        )
        seen = snapshot.current(session)
        for name in PARTS:
            seen.part(session, name)
        assert not seen.committed
        assert len(seen.parts["initiatives"].ids) == 13  # its own write, patched in
        session.rollback()
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("GMB", record(51))], user_id=None, publish=True
        )
    after = read_all(engine)
    assert after.previous == {}  # the rolled-back state was not a base
    found = content(after)
    assert len(found["ids"]) == 13 and "NER" not in found["partner"]
    assert found == fresh(engine)


PART_OF_TABLE = {
    "initiative": "initiatives",
    "initiative_country": "countries",
    "initiative_domain": "domains",
    "initiative_priority": "priorities",
    "initiative_funder": "funders",
    "initiative_revision": "revisions",
}
INITIATIVE_TABLES = {
    "initiative": ("status", "id"),
    "initiative_country": ("country_iso3", "initiative_id"),
    "initiative_domain": ("domain_code", "initiative_id"),
    "initiative_priority": ("priority_code", "initiative_id"),
    "initiative_funder": ("name", "initiative_id"),
    "initiative_revision": ("number", "initiative_id"),
}


@pytest.mark.parametrize("table", INITIATIVE_TABLES)
def test_a_write_to_an_initiative_table_logs_the_initiative(engine: Engine, table: str) -> None:
    before = read_all(engine)
    column, initiative_id = INITIATIVE_TABLES[table]
    with Session(engine) as session, session.begin():
        session.execute(text(f"UPDATE {table} SET {column} = {column} WHERE {initiative_id} = 6"))
    after = read_all(engine)
    assert before.committed and after.touched is not None
    # Logged under its own table: the other parts are carried as they were.
    assert {name: list(ids) for name, ids in after.touched.items()} == {table: [6]}
    if table != "initiative":  # the initiatives stay where they were: the rest is carried
        for name in PARTS:
            carried = after.parts[name] is before.parts[name]
            assert carried == (name != PART_OF_TABLE[table]), name
    assert content(after) == fresh(engine)


def test_postgresql_prunes_the_log_and_says_how_far(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one row per table and initiative and never prunes")
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE registry_change SET counter = 1"))
        session.execute(text("UPDATE registry_version SET counter = 8191"))
    before = read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE initiative SET status = status WHERE id = 2"))
    with Session(engine) as session:
        floor, counter = session.execute(
            text("SELECT change_floor, counter FROM registry_version")
        ).one()
        kept = session.execute(text("SELECT counter FROM registry_change")).scalars().all()
    assert (floor, counter, kept) == (8192 - 4096, 8192, [8192])
    after = read_all(engine)
    assert before.version is not None and after.touched is not None
    assert {name: list(ids) for name, ids in after.touched.items()} == {"initiative": [2]}


@pytest.mark.parametrize("immediate_from", [0, 1])
def test_postgresql_bumps_again_after_constraints_fire_early(
    engine: Engine, immediate_from: int
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite bumps the counter on every row it writes")
    before = read_all(engine)
    with Session(engine) as session, session.begin():
        for position, initiative_id in enumerate((2, 3, 4)):
            if position == immediate_from:
                session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # bumps fire early
            session.execute(
                text("UPDATE initiative SET status = status WHERE id = :id"), {"id": initiative_id}
            )
    with Session(engine) as session:
        unstamped = session.execute(
            text("SELECT count(*) FROM registry_change WHERE counter IS NULL")
        ).scalar_one()
        pending = session.execute(text("SELECT count(*) FROM registry_pending")).scalar_one()
    assert (unstamped, pending) == (0, 0)
    after = read_all(engine)
    assert before.version is not None and after.version is not None
    assert after.version[0] > before.version[0]
    assert after.touched is not None
    assert {name: list(ids) for name, ids in after.touched.items()} == {"initiative": [2, 3, 4]}


def test_every_initiative_table_logs_its_writes(engine: Engine) -> None:
    # A SQLite batch migration that rebuilds a table drops its triggers, and one that
    # recreates them from an older migration would forget the log.
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":
            logged = {
                table
                for table, sql in session.execute(
                    text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
                )
                if "registry_change" in sql
            }
        else:
            logged = {
                table
                for (table,) in session.execute(
                    text(
                        "SELECT event_object_table FROM information_schema.triggers "
                        "WHERE trigger_name LIKE 'registry_change_%'"
                    )
                )
            }
    assert logged >= set(WATCHED_TABLES)


REFERENCE_WRITES = {
    "country": "UPDATE country SET name_en = name_en WHERE iso3 = 'SEN'",
    "partner": "UPDATE partner SET name_en = name_en WHERE code = 'SEN'",
    "priority": "UPDATE priority SET title_en = title_en WHERE code = 'D1.01'",
    "process_membership": "UPDATE process_membership SET status = status",
}


@pytest.mark.parametrize("table", REFERENCE_WRITES)
def test_a_write_to_a_reference_table_reads_everything_again(engine: Engine, table: str) -> None:
    read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(text(REFERENCE_WRITES[table]))
    after = read_all(engine)
    assert after.touched_known and after.touched is None


def test_a_truncate_reads_everything_again(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    before = read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(text("TRUNCATE initiative_funder"))
    after = read_all(engine)
    assert after.touched_known and after.touched is None
    assert before.parts["funders"].initiative.size > 0 == after.parts["funders"].initiative.size


def test_a_snapshot_is_not_patched_from_a_newer_one(engine: Engine) -> None:
    older = read_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE initiative SET status = status WHERE id = 2"))
    newer = read_all(engine)
    assert older.version is not None and newer.version is not None
    assert not snapshot._can_patch_from(newer, older.version)
    assert snapshot._can_patch_from(older, newer.version)


def test_the_server_reads_the_snapshot_as_it_starts(
    fresh_database_url: str, engine: Engine
) -> None:
    settings = Settings(
        database_url=fresh_database_url,
        secret_key="warm-secret-key-0123456789abcdefghijkl",
        warm_summaries=True,
    )
    snapshot.clear()
    with TestClient(create_app(settings)):
        warming = [thread for thread in threading.enumerate() if thread.name == "warm"]
        for thread in warming:
            thread.join(timeout=30)
    with Session(engine) as session:
        assert set(snapshot.current(session).parts) >= set(PARTS)
