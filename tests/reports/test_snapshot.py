"""The summaries' registry snapshot: every write to a watched table makes the next summary fresh."""

import math
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativePriority,
    InitiativeRevision,
)
from jvap.reference.models import ProcessMembership
from jvap.reports import service, snapshot
from jvap.reports.models import WATCHED_TABLES
from jvap.reports.schemas import Summary, SummaryFilters
from tests.factories import make_initiative
from tests.reports.conftest import Dataset


def summarise(session: Session, dimension: str, **filters: Any) -> Summary:
    return service.summarise(session, dimension=dimension, filters=SummaryFilters(**filters))


def count(summary: Summary, key: str) -> int:
    return next((row.initiatives for row in summary.rows if row.key == key), 0)


def triggers(session: Session) -> set[tuple[str, str]]:
    """(table, event) of every registry_version trigger in the database."""
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(
            text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        )
        return {
            (table, name.rsplit("_", 1)[1])
            for table, name in found
            if name.startswith("registry_version_")
        }
    found = session.execute(
        text(
            "SELECT event_object_table, lower(event_manipulation) "
            "FROM information_schema.triggers WHERE trigger_name LIKE 'registry_version_%'"
        )
    )
    return {(table, event) for table, event in found}


def test_every_watched_table_has_its_triggers(session: Session) -> None:
    # A SQLite batch migration that rebuilds a table drops its triggers: this catches it.
    expected = {(t, e) for t in WATCHED_TABLES for e in ("insert", "update", "delete")}
    assert triggers(session) >= expected


# A column of each watched table to rewrite with its own value.
SAME_VALUE = {
    "initiative": "status",
    "initiative_country": "country_iso3",
    "initiative_domain": "domain_code",
    "initiative_priority": "priority_code",
    "initiative_funder": "name",
    "initiative_revision": "number",
    "country": "name_en",
    "partner": "name_en",
    "priority": "title_en",
    "process_membership": "status",
}


@pytest.mark.parametrize("table", WATCHED_TABLES)
def test_a_write_to_a_watched_table_changes_the_version(
    session: Session, dataset: Dataset, table: str
) -> None:
    before = snapshot.read_version(session)
    column = SAME_VALUE[table]
    session.execute(text(f"UPDATE {table} SET {column} = {column}"))
    assert snapshot.read_version(session) not in (before, None)


def test_writes_between_two_summaries_are_counted(session: Session, dataset: Dataset) -> None:
    assert count(summarise(session, "countries"), "SEN") == 3
    assert count(summarise(session, "countries"), "SEN") == 3  # from the snapshot
    pending = make_initiative(session, countries=("SEN",), publication_status="pending")
    session.flush()
    assert count(summarise(session, "countries"), "SEN") == 3
    initiatives_service.publish_initiatives(session, ids=[pending.id])
    assert count(summarise(session, "countries"), "SEN") == 4
    # A reference write: ETH leaves KP, so I3 (ETH, in ETH) no longer involves it.
    membership = session.get(ProcessMembership, ("KP", "ETH"))
    assert membership is not None
    membership.status = "former"
    session.flush()
    assert count(summarise(session, "processes"), "KP") == 2


def test_a_rolled_back_write_is_never_counted(session: Session, dataset: Dataset) -> None:
    savepoint = session.begin_nested()
    make_initiative(session, countries=("MLI",))
    session.flush()
    assert count(summarise(session, "countries"), "MLI") == 2
    savepoint.rollback()
    # This write brings the counter back to the rolled-back value; the token tells them apart.
    make_initiative(session, countries=("ETH",))
    session.flush()
    summary = summarise(session, "countries")
    assert (count(summary, "MLI"), count(summary, "ETH")) == (1, 3)


def test_cold_and_warm_summaries_agree(session: Session, dataset: Dataset) -> None:
    warm = summarise(session, "priorities", include_pending=True)
    snapshot.clear()
    cold = summarise(session, "priorities", include_pending=True)
    assert cold.model_dump(exclude={"generated_at"}) == warm.model_dump(exclude={"generated_at"})


def test_concurrent_writers_do_not_wait_for_one_another(engine: Engine) -> None:
    # The shared version row is written at commit only: a transaction that has written and
    # not yet committed must not hold back another writer.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("UPDATE partner SET name_en = name_en WHERE code = 'SEN'"))
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second.execute(text("UPDATE partner SET name_en = name_en WHERE code = 'MLI'"))
        before = first.execute(text("SELECT counter FROM registry_version")).scalar_one()
        second.commit()  # would raise LockNotAvailable if the first held the version row
        after = first.execute(text("SELECT counter FROM registry_version")).scalar_one()
        assert after == before + 1
        first.rollback()


def test_parts_hold_what_the_tables_hold(session: Session, dataset: Dataset) -> None:
    # Read column by column (aggregated texts), the parts must equal a plain row query.
    make_initiative(session, budget=None, start_date=None)
    make_initiative(session, budget=Decimal("12345678901234.56"))  # 16 significant digits
    session.flush()
    snapshot.clear()
    snap = snapshot.current(session)
    initiatives = snap.part(session, "initiatives")
    rows = session.execute(
        select(
            Initiative.id,
            Initiative.partner_code,
            Initiative.kind,
            Initiative.status,
            Initiative.start_date,
            Initiative.budget_eur,
            Initiative.publication_status,
        ).order_by(Initiative.id)
    ).all()
    assert list(initiatives.ids) == [row.id for row in rows]

    def decoded(codes: snapshot.Codes) -> list[str]:
        return [codes.values[code] for code in codes.codes]

    assert decoded(initiatives.partner) == [row.partner_code for row in rows]
    assert decoded(initiatives.kind) == [row.kind for row in rows]
    assert decoded(initiatives.status) == [row.status for row in rows]
    assert decoded(initiatives.publication) == [row.publication_status for row in rows]
    assert list(initiatives.start_year) == [
        row.start_date.year if row.start_date else -1 for row in rows
    ]
    budgets = [None if math.isnan(value) else value for value in initiatives.budget_eur]
    assert budgets == [None if row.budget_eur is None else float(row.budget_eur) for row in rows]
    assert None in budgets and -1 in list(initiatives.start_year)

    for part, model, column in (
        ("countries", InitiativeCountry, InitiativeCountry.country_iso3),
        ("domains", InitiativeDomain, InitiativeDomain.domain_code),
        ("priorities", InitiativePriority, InitiativePriority.priority_code),
    ):
        links = snap.part(session, part)
        pairs = {tuple(row) for row in session.execute(select(model.initiative_id, column))}
        assert len(links.initiative) == len(pairs) > 0
        assert {
            (int(initiatives.ids[index]), links.key.values[code])
            for index, code in zip(links.initiative, links.key.codes, strict=True)
        } == pairs

    revisions = snap.part(session, "revisions")
    stored = [
        tuple(row)
        for row in session.execute(
            select(InitiativeRevision.initiative_id, InitiativeRevision.number)
        )
    ]
    assert sorted(
        (int(initiatives.ids[index]), int(number))
        for index, number in zip(revisions.initiative, revisions.number, strict=True)
    ) == sorted(stored)
