"""Derived region and process lookups stay equal to the rules they cache."""

from dataclasses import replace
from datetime import date

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jvap.initiatives import service
from jvap.initiatives.models import Initiative, InitiativeProcess, InitiativeRegion, parse_ref
from jvap.initiatives.rules import InitiativeRecord
from jvap.initiatives.schemas import InitiativeFilters
from jvap.reference import service as reference_service
from jvap.reference.models import Country, Partner, ProcessMembership
from tests.factories import make_initiative

Pairs = set[tuple[str, int]]


def record(**changes: object) -> InitiativeRecord:
    base = InitiativeRecord(
        kind="policy",
        title="Labour mobility partnership",
        description="Pilot scheme",
        status="ongoing",
        start_date=date(2019, 3, 1),
        end_date=date(2023, 2, 28),
        domains=["D2"],
        scope="national",
        countries=["CMR"],
    )
    return replace(base, **changes)


def stored(session: Session) -> tuple[Pairs, Pairs]:
    regions = set(
        session.execute(select(InitiativeRegion.region_code, InitiativeRegion.initiative_id))
    )
    processes = set(
        session.execute(select(InitiativeProcess.process_code, InitiativeProcess.initiative_id))
    )
    return {tuple(r) for r in regions}, {tuple(p) for p in processes}


def expected(session: Session) -> tuple[Pairs, Pairs]:
    """The rules, computed here in Python from the initiatives and the reference data."""
    region_of = dict(session.execute(select(Country.iso3, Country.region_code)).all())
    country_of = dict(session.execute(select(Partner.code, Partner.country_iso3)).all())
    members: dict[str, set[str]] = {}
    for process, partner in session.execute(
        select(ProcessMembership.process_code, ProcessMembership.partner_code).where(
            ProcessMembership.status.in_(reference_service.CURRENT_STATUSES)
        )
    ):
        members.setdefault(process, set()).add(partner)
    regions: Pairs = set()
    processes: Pairs = set()
    for item in service.load_records(session).values():
        countries = set(item.record.countries)
        regions |= {(region_of[c], item.id) for c in countries if region_of[c] is not None}
        for process, partners in members.items():
            states = {country_of[p] for p in partners}
            if item.partner_code in partners or countries & states:
                processes.add((process, item.id))
    return regions, processes


def lookups(session: Session, initiative_id: int) -> tuple[set[str], set[str]]:
    regions, processes = stored(session)
    return (
        {code for code, i in regions if i == initiative_id},
        {code for code, i in processes if i == initiative_id},
    )


def test_create_and_update_keep_the_lookups_in_sync(session: Session) -> None:
    one, two = service.create_initiatives(
        session,
        [("GHA", record(countries=["CMR"])), ("GHA", record(countries=["ERI", "ETH"]))],
        user_id=None,
    )
    assert lookups(session, one) == ({"central_africa"}, {"RP"})
    # Two countries of one region give that region once; ERI is a Khartoum member state.
    assert lookups(session, two) == ({"east_africa_horn"}, {"KP", "RP"})
    assert stored(session) == expected(session)

    service.update_initiatives(session, [(two, 1, record(countries=["SEN"]))], user_id=None)
    assert lookups(session, two) == ({"west_africa"}, {"RP"})
    service.update_initiatives(
        session, [(two, 2, record(countries=[], scope="continental"))], user_id=None
    )
    assert lookups(session, two) == (set(), {"RP"})  # GHA reports it: a Rabat member
    assert stored(session) == expected(session)


def test_an_unchanged_country_list_keeps_the_rows(session: Session) -> None:
    (one,) = service.create_initiatives(session, [("ETH", record(countries=["SEN"]))], user_id=None)
    service.update_initiatives(
        session, [(one, 1, record(countries=["SEN"], title="New"))], user_id=None
    )
    assert lookups(session, one) == ({"west_africa"}, {"KP", "RP"})


def test_deleting_an_initiative_deletes_its_rows(session: Session) -> None:
    (one,) = service.create_initiatives(session, [("ETH", record())], user_id=None)
    session.execute(delete(Initiative).where(Initiative.id == one))
    assert lookups(session, one) == (set(), set())


def test_reference_reload_then_refresh_follows_regions_and_memberships(session: Session) -> None:
    (one,) = service.create_initiatives(session, [("GHA", record(countries=["SEN"]))], user_id=None)
    make_initiative(session, partner_code="SEN", countries=("ERI",))
    data = yaml.safe_load(reference_service.package_reference_bytes())
    for country in data["countries"]:
        if country["iso3"] == "SEN":
            country["region"] = "central_africa"
    for process in data["processes"]:
        if process["code"] == "RP":  # Ghana, the reporter, leaves the Rabat Process
            process["members"] = [m for m in process["members"] if m["partner"] != "GHA"]
        if process["code"] == "KP":  # Senegal joins the Khartoum Process as an observer
            process["members"].append({"partner": "SEN", "status": "observer"})
    reference_service.load_reference_file(
        session, filename="new.yaml", content=yaml.safe_dump(data).encode()
    )
    assert lookups(session, one) == ({"west_africa"}, {"RP"})  # loading alone leaves them
    service.refresh_lookups(session)  # what `jvap reference load` does after loading
    # Implemented in Senegal: a Rabat and now Khartoum member state, now in central Africa.
    assert lookups(session, one) == ({"central_africa"}, {"KP", "RP"})
    assert stored(session) == expected(session)

    listed = service.list_initiatives(
        session,
        filters=InitiativeFilters(region=["central_africa"], process=["KP"]),
        visibility=service.Visibility(),
    )
    assert one in [parse_ref(item.ref) for item in listed[1]]
