"""Use cases for reference data: seeding, replacing lists, reading them."""

import hashlib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jvap.db import Base
from jvap.errors import InvalidReferenceData, NotFound
from jvap.reference.countries import display_names
from jvap.reference.loading import PriorityItem, ReferenceFile, parse_reference_file
from jvap.reference.models import (
    Country,
    Domain,
    Partner,
    Priority,
    Process,
    ProcessMembership,
    ReferenceListVersion,
    Region,
)
from jvap.reference.snapshot import ReferenceSnapshot, build_snapshot

PACKAGE_FILE = "reference.yaml"
EUROPE = "europe"


@dataclass(slots=True)
class LoadResult:
    lists: list[str]
    changed: dict[str, int] = field(default_factory=dict)


def package_reference_bytes() -> bytes:
    return resources.files("jvap.reference").joinpath("data", PACKAGE_FILE).read_bytes()


def is_seeded(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Domain)) > 0


def seed(session: Session) -> LoadResult | None:
    """Load the shipped reference data into an empty database; no-op once seeded."""
    if is_seeded(session):
        return None
    content = package_reference_bytes()
    return load_reference(
        session,
        parse_reference_file(PACKAGE_FILE, content),
        source="jvap package data",
        sha256=hashlib.sha256(content).hexdigest(),
    )


def load_reference_file(session: Session, *, filename: str, content: bytes) -> LoadResult:
    """Replace the lists a file carries; refuses the whole file if any record would be orphaned."""
    parsed = parse_reference_file(filename, content)
    return load_reference(
        session, parsed, source=filename, sha256=hashlib.sha256(content).hexdigest()
    )


def load_reference(
    session: Session, data: ReferenceFile, *, source: str, sha256: str
) -> LoadResult:
    _check_consistency(session, data)
    result = LoadResult(lists=data.lists())
    if data.regions is not None:
        result.changed["regions"] = _replace_regions(session, data.regions)
    if data.countries is not None or not _countries_loaded(session):
        result.changed["countries"] = _load_countries(session, data.countries or [])
    if data.domains is not None:
        result.changed["domains"] = _replace_domains(session, data.domains)
    if data.organisations is not None:
        result.changed["organisations"] = _replace_organisations(session, data.organisations)
    if data.processes is not None:
        result.changed["processes"] = _replace_processes(session, data.processes)
    if data.priorities is not None:
        version = data.priority_version or sha256[:12]
        result.changed["priorities"] = _replace_priorities(session, data.priorities, version)
    for name in result.lists:
        _record_version(
            session,
            name,
            data.priority_version if name == "priorities" else None,
            source=source,
            sha256=sha256,
        )
    session.flush()
    return result


# --- consistency and orphan checks (all before any write) ---------------------------


def _references_to(table_name: str) -> list[tuple[Any, Any]]:
    """(table, column) pairs holding a foreign key to `table_name`, from the ORM metadata."""
    pairs = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name and table.name != table_name:
                pairs.append((table, fk.parent))
    return pairs


def _used(
    session: Session, table_name: str, codes: set[str], *, owned: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """For each code in `codes` still referenced elsewhere: the tables referencing it.

    `owned` tables are replaced together with the list, so they never count as orphans.
    """
    used: dict[str, list[str]] = {}
    if not codes:
        return used
    for table, column in _references_to(table_name):
        if table.name in owned:
            continue
        rows = session.execute(
            select(column, func.count()).where(column.in_(codes)).group_by(column)
        ).all()
        for code, count in rows:
            used.setdefault(code, []).append(f"{count} {table.name}")
    return used


def _check_consistency(session: Session, data: ReferenceFile) -> None:
    problems: list[dict[str, Any]] = []

    def orphan_check(
        list_name: str, table: str, key: Any, new_codes: set[str], owned: tuple[str, ...] = ()
    ) -> None:
        existing = set(session.scalars(select(key)))
        removed = existing - new_codes
        for code, where in sorted(_used(session, table, removed, owned=owned).items()):
            problems.append(
                {
                    "location": f"{list_name}: {code}",
                    "message": f"{code} is missing from the file but still used by "
                    f"{', '.join(where)}",
                }
            )

    regions = (
        {r["code"] for r in data.regions}
        if data.regions is not None
        else set(session.scalars(select(Region.code)))
    )
    domains = (
        {d["code"] for d in data.domains}
        if data.domains is not None
        else set(session.scalars(select(Domain.code)))
    )
    if data.regions is not None:
        orphan_check("regions", "region", Region.code, regions)
    if data.domains is not None:
        orphan_check("domains", "domain", Domain.code, domains)
    if data.priorities is not None:
        orphan_check("priorities", "priority", Priority.code, {p.code for p in data.priorities})
        for item in data.priorities:
            if item.domain not in domains:
                problems.append(
                    {
                        "location": f"priority {item.code}",
                        "message": f"unknown domain {item.domain!r}",
                    }
                )
    if data.organisations is not None:
        org_codes = {o["code"] for o in data.organisations}
        existing = set(session.scalars(select(Partner.code).where(Partner.kind == "organisation")))
        for code, where in sorted(_used(session, "partner", existing - org_codes).items()):
            problems.append(
                {
                    "location": f"organisations: {code}",
                    "message": f"{code} is missing from the file but still used by "
                    f"{', '.join(where)}",
                }
            )
    if data.processes is not None:
        orphan_check(
            "processes",
            "process",
            Process.code,
            {p["code"] for p in data.processes},
            owned=("process_membership",),
        )
        organisations = (
            {o["code"] for o in data.organisations}
            if data.organisations is not None
            else set(session.scalars(select(Partner.code).where(Partner.kind == "organisation")))
        )
        for process in data.processes:
            for member in process.get("members") or []:
                code = str(member.get("partner", ""))
                if code not in organisations and pycountry.countries.get(alpha_3=code) is None:
                    problems.append(
                        {
                            "location": f"process {process['code']}",
                            "message": f"member {code!r} is neither an ISO3 country "
                            f"nor a known organisation",
                        }
                    )
    for country in data.countries or []:
        if pycountry.countries.get(alpha_3=str(country["iso3"])) is None:
            problems.append(
                {
                    "location": f"countries: {country['iso3']}",
                    "message": "not an ISO 3166-1 alpha-3 code",
                }
            )
        elif country["region"] not in regions:
            problems.append(
                {
                    "location": f"countries: {country['iso3']}",
                    "message": f"unknown region {country['region']!r}",
                }
            )
    if problems:
        raise InvalidReferenceData(
            f"{len(problems)} problem(s) in the reference data; nothing was changed",
            issues=problems,
        )


# --- writers -----------------------------------------------------------------------


def _sync(session: Session, model: type[Base], key: str, records: list[dict[str, Any]]) -> int:
    """Make the rows of `model` equal `records` (by primary key `key`); returns rows touched."""
    existing = {getattr(row, key): row for row in session.scalars(select(model))}
    touched = 0
    for record in records:
        row = existing.pop(record[key], None)
        if row is None:
            session.add(model(**record))
            touched += 1
            continue
        for name, value in record.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                touched += 1
    for row in existing.values():
        session.delete(row)
        touched += 1
    session.flush()
    return touched


def _replace_regions(session: Session, regions: list[dict[str, Any]]) -> int:
    records = [
        {"code": r["code"], "name_en": r["name_en"], "name_fr": r["name_fr"]} for r in regions
    ]
    return _sync(session, Region, "code", records)


def _countries_loaded(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Country)) > 0


def _load_countries(session: Session, regional: list[dict[str, Any]]) -> int:
    """Every ISO 3166-1 country, with the regions the file gives; names from pycountry."""
    regions = {c["iso3"]: c for c in regional}
    existing = {c.iso3: c for c in session.scalars(select(Country))}
    touched = 0
    for country in pycountry.countries:
        name_en, name_fr = display_names(country.alpha_3)
        info = regions.get(country.alpha_3)
        values = {
            "iso2": country.alpha_2,
            "name_en": name_en,
            "name_fr": name_fr,
            "region_code": info["region"] if info else None,
            "region_verified": bool(info.get("region_verified")) if info else False,
        }
        row = existing.get(country.alpha_3)
        if row is None:
            session.add(Country(iso3=country.alpha_3, **values))
            touched += 1
            continue
        if not regional:
            continue  # a file without countries leaves regions as they are
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                touched += 1
    session.flush()
    return touched


def _replace_domains(session: Session, domains: list[dict[str, Any]]) -> int:
    records = [
        {
            "code": d["code"],
            "number": int(d["number"]),
            "title_en": d["title_en"],
            "title_fr": d["title_fr"],
            "verified": bool(d.get("verified")),
            "title_fr_verified": bool(d.get("title_fr_verified")),
        }
        for d in domains
    ]
    return _sync(session, Domain, "code", records)


def _replace_organisations(session: Session, organisations: list[dict[str, Any]]) -> int:
    existing = {
        p.code: p for p in session.scalars(select(Partner).where(Partner.kind == "organisation"))
    }
    touched = 0
    for org in organisations:
        values = {
            "kind": "organisation",
            "name_en": org["name_en"],
            "name_fr": org["name_fr"],
            "category": org["category"],
            "is_jvap_partner": bool(org.get("jvap_partner", True)),
            "verified": bool(org.get("verified")),
            "region_code": org.get("region"),
        }
        row = existing.pop(org["code"], None)
        if row is None:
            session.add(Partner(code=org["code"], **values))
            touched += 1
        else:
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    touched += 1
    for row in existing.values():
        session.delete(row)
        touched += 1
    session.flush()
    return touched


def _ensure_state_partner(session: Session, iso3: str) -> None:
    if session.get(Partner, iso3) is not None:
        return
    country = session.get(Country, iso3)
    assert country is not None, iso3  # _check_consistency verified the code
    session.add(
        Partner(
            code=iso3,
            kind="state",
            name_en=country.name_en,
            name_fr=country.name_fr,
            country_iso3=iso3,
            region_code=country.region_code,
            category="european_country" if country.region_code == EUROPE else "african_country",
            verified=True,
        )
    )
    session.flush()


CURRENT_STATUSES = ("partner", "member", "observer", "partner_organisation")


def _replace_processes(session: Session, processes: list[dict[str, Any]]) -> int:
    records = [
        {
            "code": p["code"],
            "name_en": p["name_en"],
            "name_fr": p["name_fr"],
            "full_name": p["full_name"],
            "established": str(p.get("established") or "") or None,
        }
        for p in processes
    ]
    touched = _sync(session, Process, "code", records)
    for process in processes:
        for member in process["members"]:
            if pycountry.countries.get(alpha_3=str(member["partner"])) is not None:
                _ensure_state_partner(session, str(member["partner"]))
        current = {
            m.partner_code: m
            for m in session.scalars(
                select(ProcessMembership).where(ProcessMembership.process_code == process["code"])
            )
        }
        for member in process["members"]:
            since = member.get("since")
            values = {
                "status": member["status"],
                "since": date.fromisoformat(str(since)) if since else None,
                "until": str(member["until"]) if member.get("until") else None,
                "verified": bool(member.get("verified")),
                "note": member.get("note"),
            }
            row = current.pop(member["partner"], None)
            if row is None:
                session.add(
                    ProcessMembership(
                        process_code=process["code"], partner_code=member["partner"], **values
                    )
                )
                touched += 1
            else:
                for name, value in values.items():
                    if getattr(row, name) != value:
                        setattr(row, name, value)
                        touched += 1
        for row in current.values():
            session.delete(row)
            touched += 1
    session.flush()
    # A state is a JVAP partner while it has a current membership in a process.
    current_members = set(
        session.scalars(
            select(ProcessMembership.partner_code).where(
                ProcessMembership.status.in_(CURRENT_STATUSES)
            )
        )
    )
    for partner in session.scalars(select(Partner).where(Partner.kind == "state")):
        partner.is_jvap_partner = partner.code in current_members
    return touched


def _replace_priorities(session: Session, items: list[PriorityItem], version: str) -> int:
    records = [
        {
            "code": item.code,
            "domain_code": item.domain,
            "parent_code": item.parent,
            "level": item.level,
            "title_en": item.title_en,
            "title_fr": item.title_fr,
            "verified": item.verified,
            "priority_initiative_2015": item.priority_initiative_2015,
            "list_version": version,
            "sort_order": index,
        }
        for index, item in enumerate(items)
    ]
    # Areas first so that actions can point at them.
    records.sort(key=lambda r: r["level"] != "area")
    return _sync(session, Priority, "code", records)


def _record_version(
    session: Session, list_name: str, version: str | None, *, source: str, sha256: str
) -> None:
    latest = session.scalars(
        select(ReferenceListVersion)
        .where(ReferenceListVersion.list_name == list_name)
        .order_by(ReferenceListVersion.id.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.sha256 == sha256:
        return  # loading the same file again changes nothing
    session.add(
        ReferenceListVersion(
            list_name=list_name, version=version or sha256[:12], source=source, sha256=sha256
        )
    )


# --- readers -----------------------------------------------------------------------


def list_domains(session: Session) -> list[Domain]:
    return list(session.scalars(select(Domain).order_by(Domain.number)))


def list_priorities(session: Session, *, domain: str | None = None) -> list[Priority]:
    query = select(Priority).order_by(Priority.domain_code, Priority.sort_order, Priority.code)
    if domain:
        query = query.where(Priority.domain_code == domain)
    return list(session.scalars(query))


def list_partners(
    session: Session, *, kind: str | None = None, process: str | None = None
) -> list[Partner]:
    query = select(Partner).options(selectinload(Partner.memberships)).order_by(Partner.code)
    if kind:
        query = query.where(Partner.kind == kind)
    if process:
        query = query.join(ProcessMembership).where(ProcessMembership.process_code == process)
    return list(session.scalars(query))


def get_partner(session: Session, code: str) -> Partner:
    partner = session.get(Partner, code.upper()) or session.get(Partner, code)
    if partner is None:
        raise NotFound(f"no partner with code {code!r}")
    return partner


def list_processes(session: Session) -> list[Process]:
    return list(
        session.scalars(
            select(Process).options(selectinload(Process.memberships)).order_by(Process.code)
        )
    )


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.code)))


def list_countries(session: Session) -> list[Country]:
    return list(session.scalars(select(Country).order_by(Country.iso3)))


def load_snapshot(session: Session) -> ReferenceSnapshot:
    """The codes validation needs (domains, priorities, countries, partners), read once."""
    return build_snapshot(
        domains=session.scalars(select(Domain.code)),
        priorities=[
            (code, domain)
            for code, domain in session.execute(select(Priority.code, Priority.domain_code))
        ],
        countries=session.scalars(select(Country.iso3)),
        partners=[
            (code, name_en, name_fr, category)
            for code, name_en, name_fr, category in session.execute(
                select(Partner.code, Partner.name_en, Partner.name_fr, Partner.category)
            )
        ],
    )
