"""The initiative's references hold on both backends: foreign keys on SQLite, statement
triggers on PostgreSQL (migration e6f1a8b3c5d7), with the same observable behaviour."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from jvap.db import is_postgresql
from jvap.initiatives import service
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeExternalId,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativePriority,
    InitiativeProcess,
    InitiativeRegion,
    InitiativeRevision,
    InitiativeTargetGroup,
)
from jvap.reference.models import Country, Priority
from tests.factories import make_initiative
from tests.initiatives.test_service import record

CHILD_TABLES = [
    InitiativeCountry,
    InitiativeDomain,
    InitiativeExternalId,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativePriority,
    InitiativeProcess,
    InitiativeRegion,
    InitiativeRevision,
    InitiativeTargetGroup,
]


@contextmanager
def refused(session: Session, constraint: str) -> Iterator[None]:
    """The block fails with a foreign key error naming `constraint` (PostgreSQL gives the
    name; SQLite only says a foreign key failed), and the session goes on."""
    with pytest.raises(IntegrityError) as raised, session.begin_nested():
        yield
    if is_postgresql(session):
        assert raised.value.orig.diag.constraint_name == constraint  # type: ignore[union-attr]
    else:
        assert "FOREIGN KEY constraint failed" in str(raised.value)


def _missing_id(session: Session) -> int:
    return (session.scalar(select(func.max(Initiative.id))) or 0) + 1000


def test_a_link_to_a_missing_initiative_is_refused(session: Session) -> None:
    missing = _missing_id(session)
    with refused(session, "fk_initiative_country_initiative_id_initiative"):
        session.execute(insert(InitiativeCountry).values(initiative_id=missing, country_iso3="SEN"))
    with refused(session, "fk_initiative_revision_initiative_id_initiative"):
        session.execute(
            insert(InitiativeRevision).values(
                initiative_id=missing, number=1, changed_at=func.now(), changes={}
            )
        )
    with refused(session, "fk_initiative_target_group_initiative_id_initiative"):
        session.execute(insert(InitiativeTargetGroup).values(initiative_id=missing, code="youth"))


@pytest.mark.parametrize(
    ("model", "values", "constraint"),
    [
        (InitiativeCountry, {"country_iso3": "XXX"}, "fk_initiative_country_country_iso3_country"),
        (InitiativeDomain, {"domain_code": "D9"}, "fk_initiative_domain_domain_code_domain"),
        (
            InitiativePriority,
            {"priority_code": "D9.99"},
            "fk_initiative_priority_priority_code_priority",
        ),
        (
            InitiativeFunder,
            {"position": 0, "name": "Nobody", "partner_code": "NOPE"},
            "fk_initiative_funder_partner_code_partner",
        ),
    ],
)
def test_a_link_to_an_unknown_code_is_refused(
    session: Session, model: Any, values: dict[str, Any], constraint: str
) -> None:
    initiative = make_initiative(session, countries=(), domains=())
    with refused(session, constraint):
        session.execute(insert(model).values(initiative_id=initiative.id, **values))


def test_an_initiative_of_an_unknown_partner_is_refused(session: Session) -> None:
    initiative = make_initiative(session)
    with refused(session, "fk_initiative_partner_code_partner"):
        session.execute(
            update(Initiative).where(Initiative.id == initiative.id).values(partner_code="NOPE")
        )


def test_one_bad_row_refuses_the_whole_statement(session: Session) -> None:
    initiative = make_initiative(session, countries=())
    rows = [
        {"initiative_id": initiative.id, "country_iso3": iso3} for iso3 in ("MLI", "XXX", "NER")
    ]
    with refused(session, "fk_initiative_country_country_iso3_country"):
        session.execute(insert(InitiativeCountry), rows)
    count = select(func.count()).where(InitiativeCountry.initiative_id == initiative.id)
    assert session.scalar(count) == 0


def test_an_update_to_an_unknown_code_is_refused(session: Session) -> None:
    initiative = make_initiative(session, countries=("SEN",))
    with refused(session, "fk_initiative_country_country_iso3_country"):
        session.execute(
            update(InitiativeCountry)
            .where(InitiativeCountry.initiative_id == initiative.id)
            .values(country_iso3="XXX")
        )
    countries = select(InitiativeCountry.country_iso3).where(
        InitiativeCountry.initiative_id == initiative.id
    )
    assert session.scalars(countries).all() == ["SEN"]


def test_deleting_initiatives_deletes_every_row_of_theirs(session: Session) -> None:
    full = record(
        countries=["SEN", "MLI"],
        domains=["D1", "D2"],
        priorities=["D1.01"],
        funders=["European Union", "GIZ"],
        implementers=["IOM"],
        target_groups=["youth"],
        external_ids=["EUTF-1"],
    )
    ids = service.create_initiatives(session, [("SEN", full), ("SEN", full)], user_id=None)
    kept = make_initiative(session)
    for model in CHILD_TABLES:  # the record fills each of them
        in_ids = select(func.count()).where(model.initiative_id.in_(ids))
        assert session.scalar(in_ids), model.__tablename__

    session.execute(delete(Initiative).where(Initiative.id.in_(ids)))

    for model in CHILD_TABLES:
        in_ids = select(func.count()).where(model.initiative_id.in_(ids))
        assert session.scalar(in_ids) == 0, model.__tablename__
    kept_links = select(func.count()).where(InitiativeCountry.initiative_id == kept.id)
    assert session.scalar(kept_links) == 1


def test_a_referenced_code_is_neither_deleted_nor_rekeyed(session: Session) -> None:
    make_initiative(session, priorities=("D1.01",))
    session.add(Priority(code="D9.99", domain_code="D1", title_en="Unused", list_version="test"))
    session.flush()
    with refused(session, "fk_initiative_priority_priority_code_priority"):
        session.execute(delete(Priority).where(Priority.code == "D1.01"))
    with refused(session, "fk_initiative_priority_priority_code_priority"):
        session.execute(update(Priority).where(Priority.code == "D1.01").values(code="D1.99"))
    # Unreferenced: both are allowed.
    session.execute(update(Priority).where(Priority.code == "D9.99").values(code="D9.98"))
    session.execute(delete(Priority).where(Priority.code == "D9.98"))
    assert session.get(Priority, "D1.01") is not None


def test_a_referenced_table_is_not_truncated_alone(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    make_initiative(session, priorities=("D1.01",))
    with refused(session, "fk_initiative_country_initiative_id_initiative"):
        session.execute(text("TRUNCATE initiative"))
    with refused(session, "fk_initiative_priority_priority_code_priority"):
        session.execute(text("TRUNCATE priority"))  # referenced by initiatives only
    tables = ", ".join(["initiative", *(model.__tablename__ for model in CHILD_TABLES)])
    with session.begin_nested():
        session.execute(text(f"TRUNCATE {tables}"))
        assert session.scalar(select(func.count()).select_from(Initiative)) == 0


def test_a_referenced_row_is_locked_until_the_writer_ends(engine: Engine) -> None:
    """As a foreign key does: another transaction's delete of a row just referenced waits."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with engine.begin() as connection:
        connection.execute(
            insert(Country).values(iso3="ZZZ", iso2="ZZ", name_en="Test land", name_fr="Pays test")
        )
    try:
        with Session(engine) as writer, writer.begin():
            initiative = make_initiative(writer, countries=("ZZZ",))
            with engine.connect() as other, pytest.raises(DBAPIError, match="lock timeout"):
                other.execute(text("SET lock_timeout = '200ms'"))
                other.execute(delete(Country).where(Country.iso3 == "ZZZ"))
            writer.execute(delete(Initiative).where(Initiative.id == initiative.id))
    finally:
        with engine.begin() as connection:
            connection.execute(delete(Country).where(Country.iso3 == "ZZZ"))
