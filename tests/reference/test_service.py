"""Reference data in the database: seeding, replacing lists, refusing orphans."""

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jvap.errors import InvalidReferenceData
from jvap.reference import service
from jvap.reference.models import (
    Country,
    Partner,
    Priority,
    ProcessMembership,
    ReferenceListVersion,
)
from tests.factories import make_initiative


def test_seed_loads_the_jvap_reference(session: Session) -> None:
    assert [d.code for d in service.list_domains(session)] == ["D1", "D2", "D3", "D4", "D5"]
    assert len(service.list_priorities(session)) == 20
    organisations = service.list_partners(session, kind="organisation")
    assert {p.code for p in organisations} == {
        "EU",
        "AU",
        "ECOWAS",
        "IGAD",
        "UNHCR",
        "IOM",
        "ILO",
        "UNDP",
        "UNODC",
    }
    assert session.scalar(select(func.count()).select_from(Country)) == 249


def test_country_names_come_from_pycountry_in_both_languages(session: Session) -> None:
    senegal = service.get_partner(session, "SEN")
    assert (senegal.name_en, senegal.name_fr) == ("Senegal", "Sénégal")
    assert senegal.region_code == "west_africa"
    assert senegal.category == "african_country"
    assert service.get_partner(session, "DEU").name_fr == "Allemagne"


def test_memberships_keep_status_and_verified_flags(session: Session) -> None:
    def membership(process: str, partner: str) -> ProcessMembership:
        row = session.get(ProcessMembership, (process, partner))
        assert row is not None
        return row

    assert membership("RP", "DZA").status == "observer"
    assert membership("RP", "GBR").status == "former_partner"
    assert membership("KP", "ETH").status == "member"
    # Tunisia and the European states belong to both processes.
    assert {m.process_code for m in service.get_partner(session, "TUN").memberships} == {"RP", "KP"}
    assert service.get_partner(session, "GBR").is_jvap_partner is False
    unverified = session.get(Priority, "D1.03")
    assert unverified is not None and unverified.verified is False


def test_seed_is_a_no_op_once_seeded(session: Session) -> None:
    assert service.seed(session) is None


PRIORITIES = """
priorities:
  version: official-2026
  items:
    - {code: D1.A, domain: D1, level: area, title_en: Root causes, title_fr: Causes profondes}
    - {code: D1.A.1, domain: D1, parent: D1.A, title_en: Employment, verified: true}
    - {code: D3.A, domain: D3, level: area, title_en: Protection}
"""


def load(session: Session, text: str) -> service.LoadResult:
    return service.load_reference_file(session, filename="new.yaml", content=text.encode())


def test_loading_a_priority_list_replaces_the_old_one(session: Session) -> None:
    result = load(session, PRIORITIES)
    assert result.lists == ["priorities"]
    codes = [(p.code, p.parent_code, p.list_version) for p in service.list_priorities(session)]
    assert codes == [
        ("D1.A", None, "official-2026"),
        ("D1.A.1", "D1.A", "official-2026"),
        ("D3.A", None, "official-2026"),
    ]
    assert len(service.list_domains(session)) == 5  # other lists untouched


def test_loading_the_same_file_twice_changes_nothing(session: Session) -> None:
    load(session, PRIORITIES)
    versions = session.scalar(select(func.count()).select_from(ReferenceListVersion))
    again = load(session, PRIORITIES)
    assert again.changed == {"priorities": 0}
    assert session.scalar(select(func.count()).select_from(ReferenceListVersion)) == versions


def test_a_list_that_would_orphan_initiatives_is_refused_whole(session: Session) -> None:
    make_initiative(session, priorities=("D1.01",))
    before = [p.code for p in service.list_priorities(session)]
    with pytest.raises(InvalidReferenceData) as error:
        load(session, PRIORITIES)
    assert error.value.issues == [
        {
            "location": "priorities: D1.01",
            "message": "D1.01 is missing from the file but still used by 1 initiative_priority",
        }
    ]
    assert [p.code for p in service.list_priorities(session)] == before


def test_priorities_of_an_unknown_domain_are_refused(session: Session) -> None:
    with pytest.raises(InvalidReferenceData, match="nothing was changed") as error:
        load(session, "priorities:\n  - {code: D9.01, domain: D9, title_en: t}\n")
    assert error.value.issues[0]["message"] == "unknown domain 'D9'"


def test_removing_an_organisation_in_use_is_refused(session: Session) -> None:
    data = yaml.safe_load(service.package_reference_bytes())
    make_initiative(session, partner_code="IOM", countries=("NER",))
    organisations = [o for o in data["organisations"] if o["code"] != "IOM"]
    with pytest.raises(InvalidReferenceData) as error:
        load(session, yaml.safe_dump({"organisations": organisations}))
    assert "IOM is missing from the file but still used by" in error.value.issues[0]["message"]
    assert session.get(Partner, "IOM") is not None


def test_process_members_must_be_countries_or_organisations(session: Session) -> None:
    text = (
        "processes:\n  - {code: RP, name_en: R, name_fr: R, full_name: R,"
        " members: [{partner: XXX, status: partner}]}\n"
    )
    with pytest.raises(InvalidReferenceData) as error:
        load(session, text)
    assert "member 'XXX' is neither" in error.value.issues[0]["message"]
