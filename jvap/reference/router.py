"""HTTP routes for reference lists."""

from fastapi import APIRouter

from jvap.db import SessionDep
from jvap.reference import service
from jvap.reference.schemas import (
    CountryRead,
    DomainRead,
    MembershipRead,
    PartnerRead,
    PriorityRead,
    ProcessRead,
    RegionRead,
)

router = APIRouter(prefix="/reference", tags=["reference"])


@router.get("/domains", response_model=list[DomainRead])
def list_domains(session: SessionDep) -> list[DomainRead]:
    """The five JVAP domains, with English and French titles."""
    return [DomainRead.model_validate(d) for d in service.list_domains(session)]


@router.get("/priorities", response_model=list[PriorityRead])
def list_priorities(session: SessionDep, domain: str | None = None) -> list[PriorityRead]:
    """The current priority list (indicative until the official list is loaded)."""
    return [PriorityRead.model_validate(p) for p in service.list_priorities(session, domain=domain)]


@router.get("/partners", response_model=list[PartnerRead])
def list_partners(
    session: SessionDep, kind: str | None = None, process: str | None = None
) -> list[PartnerRead]:
    """JVAP partners (states and organisations), optionally by kind or process."""
    return [
        PartnerRead(
            code=p.code,
            kind=p.kind,
            name_en=p.name_en,
            name_fr=p.name_fr,
            region_code=p.region_code,
            category=p.category,
            is_jvap_partner=p.is_jvap_partner,
            processes=sorted(
                m.process_code for m in p.memberships if m.status in service.CURRENT_STATUSES
            ),
        )
        for p in service.list_partners(session, kind=kind, process=process)
    ]


@router.get("/processes", response_model=list[ProcessRead])
def list_processes(session: SessionDep) -> list[ProcessRead]:
    """The Rabat and Khartoum Processes with their members and observers."""
    return [
        ProcessRead(
            code=p.code,
            name_en=p.name_en,
            name_fr=p.name_fr,
            full_name=p.full_name,
            established=p.established,
            members=[
                MembershipRead.model_validate(m)
                for m in sorted(p.memberships, key=lambda m: m.partner_code)
            ],
        )
        for p in service.list_processes(session)
    ]


@router.get("/regions", response_model=list[RegionRead])
def list_regions(session: SessionDep) -> list[RegionRead]:
    """Regions used to group countries."""
    return [RegionRead.model_validate(r) for r in service.list_regions(session)]


@router.get("/countries", response_model=list[CountryRead])
def list_countries(session: SessionDep) -> list[CountryRead]:
    """Every ISO 3166-1 country, with English and French names and its region if any."""
    return [CountryRead.model_validate(c) for c in service.list_countries(session)]
