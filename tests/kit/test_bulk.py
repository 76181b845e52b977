"""Set-based writes: every row lands with its types' conversions, across several statements."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jvap.initiatives import service
from jvap.initiatives.models import Initiative, InitiativeCountry, InitiativeRevision
from jvap.initiatives.schemas import InitiativeFilters
from jvap.kit import bulk

COUNTRIES = ("NER", "GMB", "GIN", "CIV")
WHEN = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(autouse=True)
def small_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three rows per statement on SQLite, so that seven rows take three statements.
    monkeypatch.setattr(bulk, "MAX_ROWS_PER_STATEMENT", 3)


def initiative_row(number: int) -> dict[str, object]:
    return {
        "partner_code": "GHA",
        "kind": "project",
        "title": f"Bulk programme {number}",
        "description": "Registry of seasonal workers",
        "status": "ongoing",
        "start_date": date(2020, 1, number),
        "scope": "national",
        "budget": Decimal(f"{number}000.50"),
        "publication_status": "pending",
        "revision": 1,
        "source": "api",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def found(session: Session, q: str) -> set[int]:
    _total, items = service.list_initiatives(
        session,
        filters=InitiativeFilters(q=q, partner=["GHA"]),
        visibility=service.Visibility(),
        size=100,
    )
    return {int(item.ref.removeprefix("JV-")) for item in items}


def stored(session: Session, ids: list[int], *columns: Any) -> list[tuple[Any, ...]]:
    """(id, *columns) of the initiatives `ids`, by id, as the database holds them now."""
    query = select(Initiative.id, *columns).where(Initiative.id.in_(ids)).order_by(Initiative.id)
    return [tuple(row) for row in session.execute(query)]


def test_inserted_rows_keep_their_order_ids_and_values(session: Session) -> None:
    ids = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(n) for n in range(1, 8)]
    )
    assert len(set(ids)) == 7
    assert stored(session, ids, Initiative.title, Initiative.start_date, Initiative.budget) == [
        (i, f"Bulk programme {n}", date(2020, 1, n), Decimal(f"{n}000.50"))
        for i, n in zip(ids, range(1, 8), strict=True)
    ]
    # The search index saw every row, whichever statement carried it.
    assert found(session, "Bulk programme") == set(ids)


def test_json_and_timestamps_round_trip(session: Session) -> None:
    (initiative_id,) = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(1)]
    )
    changes = [{"title": [None, f"v{n}"], "note": ["é", "\n"]} for n in range(1, 8)]
    bulk.insert_rows(
        session,
        InitiativeRevision.__table__,
        [
            {"initiative_id": initiative_id, "number": n, "changed_at": WHEN, "changes": change}
            for n, change in enumerate(changes, start=1)
        ],
    )
    rows = session.execute(
        select(InitiativeRevision.number, InitiativeRevision.changes, InitiativeRevision.changed_at)
        .where(InitiativeRevision.initiative_id == initiative_id)
        .order_by(InitiativeRevision.number)
    ).all()
    assert [(number, change) for number, change, _at in rows] == list(enumerate(changes, start=1))
    assert {at.replace(tzinfo=UTC) if at.tzinfo is None else at for *_rest, at in rows} == {WHEN}


def test_updated_rows_change_only_their_own_values(session: Session) -> None:
    ids = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(n) for n in range(1, 9)]
    )
    changed = ids[:7]  # the eighth is left as it was
    bulk.update_rows(
        session,
        Initiative.__table__,
        [
            {"id": i, "title": f"Renamed scheme {i}", "budget": Decimal("1.25"), "revision": 2}
            for i in changed
        ],
    )
    session.expire_all()
    assert stored(session, ids, Initiative.title, Initiative.budget, Initiative.revision) == [
        *((i, f"Renamed scheme {i}", Decimal("1.25"), 2) for i in changed),
        (ids[7], "Bulk programme 8", Decimal("8000.50"), 1),
    ]
    assert found(session, "Renamed scheme") == set(changed)
    assert found(session, "Bulk programme") == {ids[7]}


def test_updates_follow_each_other_in_one_transaction(session: Session) -> None:
    """Each update brings its own columns (PostgreSQL copies them into a scratch table that
    must not outlive the call), NULLs and dates included; a refused one changes nothing."""
    ids = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(n) for n in range(1, 4)]
    )
    bulk.update_rows(
        session, Initiative.__table__, [{"id": i, "budget": None, "currency": None} for i in ids]
    )
    bulk.update_rows(
        session,
        Initiative.__table__,
        [
            {"id": i, "end_date": date(2030, 1, day), "title": f"Extended {i}"}
            for day, i in enumerate(ids, start=1)
        ],
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        bulk.update_rows(
            session,
            Initiative.__table__,
            [{"id": ids[0], "partner_code": "MLI"}, {"id": ids[1], "partner_code": "NOPE"}],
        )
    session.expire_all()
    columns = (Initiative.title, Initiative.end_date, Initiative.budget, Initiative.partner_code)
    assert stored(session, ids, *columns) == [
        (i, f"Extended {i}", date(2030, 1, day), None, "GHA") for day, i in enumerate(ids, start=1)
    ]


def test_a_refused_row_raises_the_sqlalchemy_error_and_writes_nothing(session: Session) -> None:
    (initiative_id,) = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(1)]
    )
    rows = [{"initiative_id": initiative_id, "country_iso3": iso3} for iso3 in ("SEN", "MLI")]
    with pytest.raises(IntegrityError), session.begin_nested():
        # Seven rows over three statements; the last names a country that does not exist.
        bulk.insert_rows(
            session,
            InitiativeCountry.__table__,
            [
                *rows,
                *({"initiative_id": initiative_id, "country_iso3": c} for c in COUNTRIES),
                {"initiative_id": initiative_id, "country_iso3": "ZZZ"},
            ],
        )
    stored = session.scalars(
        select(InitiativeCountry.country_iso3).where(
            InitiativeCountry.initiative_id == initiative_id
        )
    ).all()
    assert stored == []


def test_update_rows_refuses_an_id_given_twice(session: Session) -> None:
    (initiative_id,) = bulk.insert_rows_returning_ids(
        session, Initiative.__table__, [initiative_row(1)]
    )
    with pytest.raises(ValueError, match="more than once"):
        bulk.update_rows(
            session,
            Initiative.__table__,
            [{"id": initiative_id, "title": "A"}, {"id": initiative_id, "title": "B"}],
        )
