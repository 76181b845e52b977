"""Bulk create and update of initiatives, with revisions, EUR amounts and concurrency."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jvap.errors import Conflict, InvalidInput, NotFound
from jvap.initiatives import service
from jvap.initiatives.models import Initiative, InitiativeFunder, InitiativeRevision
from jvap.initiatives.rules import InitiativeRecord, diff_records, record_from_initiative
from tests.factories import make_user


def record(**changes: object) -> InitiativeRecord:
    base = InitiativeRecord(
        kind="project",
        title="Labour mobility partnership",
        description="Pilot scheme",
        status="ongoing",
        start_date=date(2019, 3, 1),
        end_date=date(2023, 2, 28),
        domains=["D2"],
        priorities=[],
        scope="national",
        countries=["SEN"],
        budget=Decimal("2000000"),
        currency="USD",
        funders=["European Union", "Ministry of Finance"],
        implementers=["ICMPD"],
        target_groups=["workers"],
    )
    return replace(base, **changes)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_create_writes_rows_links_eur_and_first_revision(session: Session) -> None:
    user = make_user(session)
    ids = service.create_initiatives(
        session,
        [("SEN", record()), ("MLI", record(title="Second", countries=["mli"]))],
        user_id=user.id,
    )
    assert len(ids) == 2 and ids[0] < ids[1]
    stored = service.load_records(session, ids=ids)
    first = session.get(Initiative, ids[0])
    assert first is not None and first.ref == f"JV-{ids[0]:06d}"
    assert first.revision == 1 and first.publication_status == "pending"
    assert first.eur_rate_date is not None and first.eur_rate is not None
    assert first.budget_eur == (Decimal("2000000") * first.eur_rate).quantize(Decimal("0.01"))
    assert stored[ids[1]].record.countries == ["MLI"]
    assert stored[ids[0]].record.funders == ["European Union", "Ministry of Finance"]
    funders = session.scalars(
        select(InitiativeFunder).where(InitiativeFunder.initiative_id == ids[0])
    ).all()
    assert [f.partner_code for f in funders] == ["EU", None]
    revision = session.scalars(
        select(InitiativeRevision).where(InitiativeRevision.initiative_id == ids[0])
    ).one()
    assert revision.number == 1 and revision.changed_by_id == user.id
    assert revision.changes["title"] == [None, "Labour mobility partnership"]
    assert revision.changes["budget"] == [None, "2000000"]


def test_create_rejects_everything_when_one_item_is_invalid(session: Session) -> None:
    before = count(session, Initiative)
    with pytest.raises(InvalidInput) as error:
        service.create_initiatives(
            session,
            [("SEN", record()), ("XXX", record(title="", currency="EUX"))],
            user_id=None,
        )
    issues = {(i["item"], i["field"], i["code"]) for i in error.value.issues}
    assert issues == {
        (1, "partner_code", "unknown_partner"),
        (1, "title", "required"),
        (1, "currency", "unknown_currency"),
    }
    assert count(session, Initiative) == before


def test_create_can_answer_in_french(session: Session) -> None:
    with pytest.raises(InvalidInput) as error:
        service.create_initiatives(session, [("SEN", record(title=""))], user_id=None, lang="fr")
    assert error.value.issues[0]["message"] == "Titre : champ obligatoire."


def test_update_writes_a_revision_with_the_changes(session: Session) -> None:
    (initiative_id,) = service.create_initiatives(session, [("SEN", record())], user_id=None)
    initiative = session.get(Initiative, initiative_id)
    assert initiative is not None and initiative.title == "Labour mobility partnership"
    user = make_user(session)
    new = record(title="Renamed", countries=["SEN", "MLI"], budget=Decimal("100"), currency="EUR")
    service.update_initiatives(session, [(initiative_id, 1, new)], user_id=user.id)
    assert initiative.title == "Renamed" and initiative.revision == 2
    assert initiative.budget_eur == Decimal("100.00") and initiative.eur_rate == 1
    assert [c.country_iso3 for c in initiative.countries] == ["MLI", "SEN"]
    revision = session.scalars(
        select(InitiativeRevision).where(
            InitiativeRevision.initiative_id == initiative_id, InitiativeRevision.number == 2
        )
    ).one()
    assert revision.changes == {
        "title": ["Labour mobility partnership", "Renamed"],
        "countries": [["SEN"], ["MLI", "SEN"]],
        "budget": ["2000000", "100"],
        "currency": ["USD", "EUR"],
    }
    assert revision.changed_by_id == user.id


def test_update_without_change_writes_no_revision(session: Session) -> None:
    (initiative_id,) = service.create_initiatives(session, [("SEN", record())], user_id=None)
    service.update_initiatives(session, [(initiative_id, 1, record())], user_id=None)
    assert service.load_records(session, ids=[initiative_id])[initiative_id].revision == 1


def test_update_with_a_stale_revision_is_a_conflict(session: Session) -> None:
    (initiative_id,) = service.create_initiatives(session, [("SEN", record())], user_id=None)
    service.update_initiatives(session, [(initiative_id, 1, record(title="B"))], user_id=None)
    with pytest.raises(Conflict) as error:
        service.update_initiatives(session, [(initiative_id, 1, record(title="C"))], user_id=None)
    assert f"JV-{initiative_id:06d}" in error.value.detail
    assert error.value.issues[0]["current_revision"] == 2
    assert service.load_records(session, ids=[initiative_id])[initiative_id].record.title == "B"


def test_update_of_unknown_id_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.update_initiatives(session, [(10**8, 1, record())], user_id=None)


def test_update_invalid_record_changes_nothing(session: Session) -> None:
    ids = service.create_initiatives(session, [("SEN", record()), ("SEN", record())], user_id=None)
    with pytest.raises(InvalidInput) as error:
        service.update_initiatives(
            session,
            [(ids[0], 1, record(title="ok")), (ids[1], 1, record(end_date=date(2000, 1, 1)))],
            user_id=None,
        )
    assert error.value.issues[0]["ref"] == f"JV-{ids[1]:06d}"
    assert error.value.issues[0]["code"] == "end_before_start"
    assert service.load_records(session, ids=ids)[ids[0]].record.title != "ok"


def test_publish_on_accept_and_by_itself(session: Session) -> None:
    ids = service.create_initiatives(session, [("SEN", record())] * 3, user_id=None)
    service.update_initiatives(
        session, [(ids[0], 1, record(title="x"))], user_id=None, publish=True
    )
    assert service.publish_initiatives(session, ids=ids) == 2
    stored = service.load_records(session, ids=ids)
    assert {s.publication_status for s in stored.values()} == {"published"}
    assert [s.revision for s in stored.values()] == [2, 1, 1]


def test_bulk_create_and_update_many(session: Session) -> None:
    items = [("SEN", record(title=f"Initiative {n}")) for n in range(500)]
    ids = service.create_initiatives(session, items, user_id=None, submission_id=None)
    service.update_initiatives(
        session,
        [(i, 1, record(title=f"Changed {n}", domains=["D1", "D2"])) for n, i in enumerate(ids)],
        user_id=None,
    )
    stored = service.load_records(session, ids=ids)
    assert stored[ids[-1]].record.title == "Changed 499"
    assert stored[ids[0]].record.domains == ["D1", "D2"] and stored[ids[0]].revision == 2


def test_refs_are_never_reused(session: Session) -> None:
    ids = service.create_initiatives(session, [("SEN", record())] * 3, user_id=None)
    session.execute(delete(Initiative).where(Initiative.id == ids[-1]))
    (new_id,) = service.create_initiatives(session, [("SEN", record())], user_id=None)
    assert new_id > ids[-1]


def test_record_from_initiative_matches_the_set_based_read(session: Session) -> None:
    (initiative_id,) = service.create_initiatives(
        session,
        [("SEN", record(countries=["SEN", "MLI"], external_ids=["IATI-1"], gender_marker=2))],
        user_id=None,
    )
    initiative = session.get(Initiative, initiative_id)
    assert initiative is not None
    from_orm = record_from_initiative(initiative)
    from_rows = service.load_records(session, ids=[initiative_id])[initiative_id].record
    assert diff_records(from_orm, from_rows) == {}
    assert from_orm.countries == ["MLI", "SEN"] and from_orm.funders[0] == "European Union"
