"""Set-based SQL behind summaries and reports: each function returns DataFrames or plain rows."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Subquery,
    and_,
    exists,
    func,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from jvap.campaigns.models import Campaign
from jvap.db import is_postgresql, is_sqlite
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativePriority,
)
from jvap.reference import service as reference_service
from jvap.reference.models import (
    Country,
    Domain,
    Partner,
    Priority,
    Process,
    ProcessMembership,
    Region,
)

DIMENSIONS = ("countries", "regions", "processes", "domains", "priorities")
KINDS = ("project", "policy")
STATUSES = ("planned", "ongoing", "completed", "suspended")
# An initiative is "active" for gap analysis while it is under way.
ACTIVE_STATUSES = ("ongoing",)

COUNT_COLUMNS = (
    "initiatives",
    *(f"kind_{k}" for k in KINDS),
    *(f"status_{s}" for s in STATUSES),
    "budget_eur",
    "budget_missing",
    "shared_initiatives",
    "shared_budget_eur",
    "change_new",
    "change_updated",
    "change_completed",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which initiatives count: the resolved form of the summary filters."""

    publication: tuple[str, ...] = ("published",)
    # Initiatives recorded (created) before this instant; None means no limit.
    recorded_before: datetime | None = None
    process: str | None = None
    region: str | None = None
    domain: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Revisions with since <= changed_at < until count as changes since the previous campaign."""

    since: datetime | None
    until: datetime | None


# --- scope ----------------------------------------------------------------------------


def _current_members() -> Select[Any]:
    return select(ProcessMembership.process_code, ProcessMembership.partner_code).where(
        ProcessMembership.status.in_(reference_service.CURRENT_STATUSES)
    )


def _involves(process: str) -> ColumnElement[bool]:
    """The initiative involves `process` (the registry's rule, initiatives_service.process_rows)."""
    involved = initiatives_service.process_rows().subquery()
    return Initiative.id.in_(
        select(involved.c.initiative_id).where(involved.c.process_code == process)
    )


def conditions(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    """WHERE conditions on Initiative for `scope`."""
    publication: ColumnElement[str] = Initiative.publication_status
    if is_sqlite(session):
        # An expression rather than the bare column keeps SQLite off the publication index:
        # it narrows to ~90% of the rows, and scanning is faster. (PostgreSQL estimates
        # that from its statistics, which an expression would hide.)
        publication = publication.concat("")
    where: list[ColumnElement[bool]] = [publication.in_(scope.publication)]
    if scope.recorded_before is not None:
        where.append(Initiative.created_at < scope.recorded_before)
    if scope.domain:
        where.append(
            exists().where(
                InitiativeDomain.initiative_id == Initiative.id,
                InitiativeDomain.domain_code == scope.domain,
            )
        )
    if scope.country:
        where.append(
            exists().where(
                InitiativeCountry.initiative_id == Initiative.id,
                InitiativeCountry.country_iso3 == scope.country,
            )
        )
    if scope.region:
        where.append(
            exists()
            .where(InitiativeCountry.initiative_id == Initiative.id)
            .where(Country.iso3 == InitiativeCountry.country_iso3)
            .where(Country.region_code == scope.region)
        )
    if scope.process:
        where.append(_involves(scope.process))
    return where


def pairs(dimension: str, scope: Scope, *, name: str = "pairs") -> Subquery:
    """(initiative_id, key) pairs of countries or priorities (for gaps and overlaps), limited
    to the filtered values."""
    if dimension == "countries":
        query = select(
            InitiativeCountry.initiative_id.label("initiative_id"),
            InitiativeCountry.country_iso3.label("key"),
        )
        if scope.region:
            query = query.join(Country, Country.iso3 == InitiativeCountry.country_iso3).where(
                Country.region_code == scope.region
            )
        if scope.country:
            query = query.where(InitiativeCountry.country_iso3 == scope.country)
        return query.subquery(name)
    if dimension == "priorities":
        query = select(
            InitiativePriority.initiative_id.label("initiative_id"),
            InitiativePriority.priority_code.label("key"),
        )
        if scope.domain:
            query = query.join(Priority, Priority.code == InitiativePriority.priority_code).where(
                Priority.domain_code == scope.domain
            )
        return query.subquery(name)
    raise ValueError(f"unknown dimension {dimension!r}")


# --- measure names, helpers ------------------------------------------------------------


def year_column(year: int | None) -> str:
    return "year_unknown" if year is None else f"year_{year}"


def measure_columns(years: Sequence[int]) -> list[str]:
    return [*COUNT_COLUMNS, *(year_column(y) for y in years), year_column(None)]


def tune_for_reports(session: Session | Connection) -> None:
    """On PostgreSQL, give this transaction's aggregates room to hash in memory.

    With the default 4MB work_mem, grouping 100k initiatives spills to disk; JIT compilation
    costs more than it saves on queries of this size. Parallel workers would each read and
    aggregate every link table again (a join's inner side is not shared between them): the
    100k-row CSV query took 1.5 s that way against 0.9 s in one process. Every row is
    fetched, so plan for all of them rather than the first tenth a cursor assumes.
    """
    if is_postgresql(session):
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1"))


def _frame(session: Session, query: Any) -> pd.DataFrame:
    result = session.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


# --- labels ----------------------------------------------------------------------------


def labels(session: Session, *, dimension: str, scope: Scope) -> pd.DataFrame:
    """Reference rows of a breakdown in display order: key, label_en, label_fr, group."""
    if dimension == "countries":
        query = select(
            Country.iso3.label("key"),
            Country.name_en.label("label_en"),
            Country.name_fr.label("label_fr"),
            Country.region_code.label("group"),
        ).order_by(Country.name_en)
        if scope.region:
            query = query.where(Country.region_code == scope.region)
    elif dimension == "regions":
        query = select(
            Region.code.label("key"),
            Region.name_en.label("label_en"),
            Region.name_fr.label("label_fr"),
            literal(None).label("group"),
        ).order_by(Region.code)
        if scope.region:
            query = query.where(Region.code == scope.region)
    elif dimension == "processes":
        query = select(
            Process.code.label("key"),
            Process.name_en.label("label_en"),
            Process.name_fr.label("label_fr"),
            literal(None).label("group"),
        ).order_by(Process.code)
        if scope.process:
            query = query.where(Process.code == scope.process)
    elif dimension == "domains":
        query = select(
            Domain.code.label("key"),
            Domain.title_en.label("label_en"),
            Domain.title_fr.label("label_fr"),
            literal(None).label("group"),
        ).order_by(Domain.number)
        if scope.domain:
            query = query.where(Domain.code == scope.domain)
    elif dimension == "priorities":
        query = select(
            Priority.code.label("key"),
            Priority.title_en.label("label_en"),
            func.coalesce(Priority.title_fr, Priority.title_en).label("label_fr"),
            Priority.domain_code.label("group"),
        ).order_by(Priority.domain_code, Priority.sort_order, Priority.code)
        if scope.domain:
            query = query.where(Priority.domain_code == scope.domain)
    else:
        raise ValueError(f"unknown dimension {dimension!r}")
    return _frame(session, query)


# --- gaps and overlaps -----------------------------------------------------------------


def active_by_priority(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Active initiatives per priority (only priorities that have some): key, active."""
    link = pairs("priorities", scope)
    return _active_counts(session, link, scope)


def active_by_country(session: Session, *, scope: Scope) -> pd.DataFrame:
    link = pairs("countries", scope)
    return _active_counts(session, link, scope)


def _active_counts(session: Session, link: Subquery, scope: Scope) -> pd.DataFrame:
    query = (
        select(link.c.key, func.count().label("active"))
        .select_from(link)
        .join(Initiative, Initiative.id == link.c.initiative_id)
        .where(*conditions(session, scope), Initiative.status.in_(ACTIVE_STATUSES))
        .group_by(link.c.key)
    )
    return _frame(session, query)


def gap_countries(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Countries where initiatives are expected: African JVAP partner states in scope."""
    query = (
        select(
            Country.iso3.label("key"),
            Country.name_en.label("label_en"),
            Country.name_fr.label("label_fr"),
            Country.region_code.label("group"),
        )
        .join(Partner, Partner.country_iso3 == Country.iso3)
        .where(Partner.is_jvap_partner, Partner.category == "african_country")
        .order_by(Country.name_en)
    )
    if scope.region:
        query = query.where(Country.region_code == scope.region)
    if scope.country:
        query = query.where(Country.iso3 == scope.country)
    if scope.process:
        members = _current_members().where(ProcessMembership.process_code == scope.process)
        query = query.where(Partner.code.in_(select(members.subquery().c.partner_code)))
    return _frame(session, query)


def overlaps(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Active initiatives per (country, priority, reporting partner), where 2+ partners meet."""
    countries = pairs("countries", scope, name="country_pairs")
    priorities = pairs("priorities", scope, name="priority_pairs")
    base = (
        select(
            countries.c.key.label("country"),
            priorities.c.key.label("priority"),
            Initiative.partner_code.label("partner"),
            func.count().label("initiatives"),
        )
        .select_from(countries)
        .join(priorities, priorities.c.initiative_id == countries.c.initiative_id)
        .join(Initiative, Initiative.id == countries.c.initiative_id)
        .where(*conditions(session, scope), Initiative.status.in_(ACTIVE_STATUSES))
        .group_by(countries.c.key, priorities.c.key, Initiative.partner_code)
        .subquery("by_partner")
    )
    crowded = (
        select(base.c.country, base.c.priority)
        .group_by(base.c.country, base.c.priority)
        .having(func.count() >= 2)
        .subquery("crowded")
    )
    query = (
        select(base.c.country, base.c.priority, base.c.partner, base.c.initiatives)
        .join(
            crowded,
            and_(crowded.c.country == base.c.country, crowded.c.priority == base.c.priority),
        )
        .order_by(base.c.country, base.c.priority, base.c.partner)
    )
    return _frame(session, query)


# --- initiatives list ------------------------------------------------------------------

INITIATIVE_COLUMNS = (
    "ref",
    "partner",
    "kind",
    "title",
    "status",
    "start_date",
    "end_date",
    "scope",
    "countries",
    "domains",
    "priorities",
    "budget",
    "currency",
    "budget_eur",
    "funders",
    "publication_status",
)


def _joined(session: Session, column: Any, key: Any, name: str) -> tuple[Any, Subquery | None]:
    """A ';'-joined list of `column` per initiative: (the select column, a subquery to join).

    PostgreSQL aggregates each link table once and hash-joins it; SQLite is several times
    faster with a correlated subquery per initiative, which walks the primary-key index.
    """
    if is_sqlite(session):
        value = (
            select(func.aggregate_strings(column, ";"))
            .where(key == Initiative.id)
            .scalar_subquery()
            .label(name)
        )
        return value, None
    grouped = (
        select(key.label("initiative_id"), func.aggregate_strings(column, ";").label(name))
        .group_by(key)
        .subquery(name)
    )
    return grouped.c[name], grouped


def count_initiatives(session: Session, *, scope: Scope) -> int:
    return session.scalar(
        select(func.count()).select_from(Initiative).where(*conditions(session, scope))
    )


def iter_initiatives(
    session: Session, *, scope: Scope, batch_size: int = 5000
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Batches of initiative rows in INITIATIVE_COLUMNS order (ids ascending).

    Multi-valued fields come as ';'-joined strings in no particular order; render sorts them.
    Dates are dates or ISO text, amounts Decimal or numbers, depending on the backend.
    """
    tune_for_reports(session)
    lists = [
        _joined(session, InitiativeCountry.country_iso3, InitiativeCountry.initiative_id, "c"),
        _joined(session, InitiativeDomain.domain_code, InitiativeDomain.initiative_id, "d"),
        _joined(session, InitiativePriority.priority_code, InitiativePriority.initiative_id, "p"),
        _joined(
            session,
            func.coalesce(InitiativeFunder.partner_code, InitiativeFunder.name),
            InitiativeFunder.initiative_id,
            "f",
        ),
    ]
    (countries, _), (domains, _), (priorities, _), (funders, _) = lists
    raw: Any = _raw if is_sqlite(session) else _as_is
    query = select(
        Initiative.id,
        Initiative.partner_code,
        Initiative.kind,
        Initiative.title,
        Initiative.status,
        raw(Initiative.start_date),
        raw(Initiative.end_date),
        Initiative.scope,
        countries,
        domains,
        priorities,
        raw(Initiative.budget),
        Initiative.currency,
        raw(Initiative.budget_eur),
        funders,
        Initiative.publication_status,
    )
    for _, grouped in lists:
        if grouped is not None:
            query = query.outerjoin(grouped, grouped.c.initiative_id == Initiative.id)
    query = query.where(*conditions(session, scope)).order_by(Initiative.id)
    # Core execution: the ORM's row handling is pure overhead for plain columns.
    result = session.connection().execute(query.execution_options(yield_per=batch_size))
    for partition in result.partitions():
        yield [tuple(row) for row in partition]


def _raw(column: Any) -> Any:
    """The value as SQLite stores it: dates as ISO text, amounts as numbers.

    SQLAlchemy's per-value conversions (text to date, number to Decimal) cost more than the
    query itself on 100k rows; render accepts both forms.
    """
    return type_coerce(column, String).label(column.key)


def _as_is(column: Any) -> Any:
    return column


# --- campaigns -------------------------------------------------------------------------


def campaigns(session: Session) -> pd.DataFrame:
    """Every campaign: id, code, title, opens_on, closes_on, status, oldest first."""
    return _frame(
        session,
        select(
            Campaign.id,
            Campaign.code,
            Campaign.title,
            Campaign.opens_on,
            Campaign.closes_on,
            Campaign.status,
        ).order_by(Campaign.closes_on, Campaign.id),
    )
