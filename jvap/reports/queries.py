"""Set-based SQL behind summaries and reports: each function returns DataFrames or plain rows."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.orm import Session, aliased

from jvap.campaigns.models import Campaign
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativePriority,
    InitiativeRevision,
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


@dataclass(slots=True)
class Breakdown:
    """One breakdown: per-row measures and the distinct total across rows."""

    rows: pd.DataFrame  # key + measure_columns(years) + partners_reporting
    total: pd.Series  # the same measures, each initiative once
    years: list[int]  # the year_YYYY columns present
    outside_rows: int  # initiatives in scope that fall in no row
    in_several_rows: int  # initiatives counted in more than one row


# --- scope ----------------------------------------------------------------------------


def _current_members() -> Select[Any]:
    return select(ProcessMembership.process_code, ProcessMembership.partner_code).where(
        ProcessMembership.status.in_(reference_service.CURRENT_STATUSES)
    )


def process_pairs() -> Subquery:
    """(initiative_id, key=process) for every process an initiative involves.

    An initiative involves a process when its reporting partner, or the state of one of its
    countries of implementation, is a current member of the process (membership status in
    reference_service.CURRENT_STATUSES).
    """
    members = _current_members().subquery()
    by_reporter = select(
        Initiative.id.label("initiative_id"), members.c.process_code.label("key")
    ).join(members, members.c.partner_code == Initiative.partner_code)
    by_country = (
        select(
            InitiativeCountry.initiative_id.label("initiative_id"),
            members.c.process_code.label("key"),
        )
        .join(Partner, Partner.country_iso3 == InitiativeCountry.country_iso3)
        .join(members, members.c.partner_code == Partner.code)
    )
    # UNION (not UNION ALL): an initiative involving a process both ways counts once.
    return union(by_reporter, by_country).subquery("process_pairs")


def _involves(process: str) -> ColumnElement[bool]:
    """The initiative involves `process` (same definition as process_pairs)."""
    members = _current_members().where(ProcessMembership.process_code == process).subquery()
    member_countries = select(Partner.country_iso3).join(
        members, members.c.partner_code == Partner.code
    )
    return or_(
        Initiative.partner_code.in_(select(members.c.partner_code)),
        exists().where(
            InitiativeCountry.initiative_id == Initiative.id,
            InitiativeCountry.country_iso3.in_(member_countries),
        ),
    )


def conditions(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    """WHERE conditions on Initiative for `scope`."""
    publication: ColumnElement[str] = Initiative.publication_status
    if session.get_bind().dialect.name == "sqlite":
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
    """Distinct (initiative_id, key) pairs of a breakdown, limited to the filtered values."""
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
    if dimension == "regions":
        query = (
            select(
                InitiativeCountry.initiative_id.label("initiative_id"),
                Country.region_code.label("key"),
            )
            .join(Country, Country.iso3 == InitiativeCountry.country_iso3)
            .where(Country.region_code.is_not(None))
            .distinct()
        )
        if scope.region:
            query = query.where(Country.region_code == scope.region)
        return query.subquery(name)
    if dimension == "processes":
        involved = process_pairs()
        query = select(involved.c.initiative_id, involved.c.key)
        if scope.process:
            query = query.where(involved.c.key == scope.process)
        return query.subquery(name)
    if dimension == "domains":
        query = select(
            InitiativeDomain.initiative_id.label("initiative_id"),
            InitiativeDomain.domain_code.label("key"),
        )
        if scope.domain:
            query = query.where(InitiativeDomain.domain_code == scope.domain)
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


def changes(window: Window | None) -> Subquery | None:
    """Per initiative with a revision in the window: is_new, is_touched, is_completed (0/1).

    new: its first revision falls in the window; touched: a later revision does; completed:
    a revision in the window set its status to completed (a first revision of an initiative
    reported as completed counts too, since it lists every field as changed from nothing).
    """
    if window is None:
        return None
    status_to = InitiativeRevision.changes[("status", 1)].as_string()
    query = select(
        InitiativeRevision.initiative_id.label("initiative_id"),
        func.max(case((InitiativeRevision.number == 1, 1), else_=0)).label("is_new"),
        func.max(case((InitiativeRevision.number > 1, 1), else_=0)).label("is_touched"),
        func.max(case((status_to == "completed", 1), else_=0)).label("is_completed"),
    ).group_by(InitiativeRevision.initiative_id)
    if window.since is not None:
        query = query.where(InitiativeRevision.changed_at >= window.since)
    if window.until is not None:
        query = query.where(InitiativeRevision.changed_at < window.until)
    return query.subquery("changes")


# --- breakdowns ------------------------------------------------------------------------


def start_years(session: Session) -> list[int]:
    """Every year from the earliest to the latest start date in the registry."""
    first, last = session.execute(
        select(func.min(Initiative.start_date), func.max(Initiative.start_date))
    ).one()
    if first is None:
        return []
    return list(range(_as_date(first).year, _as_date(last).year + 1))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def year_column(year: int | None) -> str:
    return "year_unknown" if year is None else f"year_{year}"


def _measures(chg: Any, years: Sequence[int]) -> list[ColumnElement[Any]]:
    """Additive measures of a group of initiatives (sums, so groups can be added up later)."""
    budget = Initiative.budget_eur
    zero = literal(0)

    def tally(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        # COUNT(*) FILTER (WHERE …): cheaper per row than SUM(CASE …) on both backends.
        return func.count().filter(condition)

    columns: list[ColumnElement[Any]] = [
        func.count().label("initiatives"),
        func.coalesce(func.sum(budget), 0).label("budget_eur"),
        tally(and_(Initiative.kind == "project", budget.is_(None))).label("budget_missing"),
        *(tally(Initiative.kind == kind).label(f"kind_{kind}") for kind in KINDS),
        *(tally(Initiative.status == status).label(f"status_{status}") for status in STATUSES),
    ]
    if chg is not None:
        columns += [
            tally(chg.c.is_new == 1).label("change_new"),
            tally(and_(chg.c.is_touched == 1, chg.c.is_new == 0)).label("change_updated"),
            tally(chg.c.is_completed == 1).label("change_completed"),
        ]
    else:
        columns += [
            zero.label("change_new"),
            zero.label("change_updated"),
            zero.label("change_completed"),
        ]
    columns += [
        tally(
            and_(
                Initiative.start_date >= date(year, 1, 1),
                Initiative.start_date < date(year + 1, 1, 1),
            )
        ).label(year_column(year))
        for year in years
    ]
    columns.append(tally(Initiative.start_date.is_(None)).label(year_column(None)))
    return columns


def measure_columns(years: Sequence[int]) -> list[str]:
    return [*COUNT_COLUMNS, *(year_column(y) for y in years), year_column(None)]


def tune_for_reports(session: Session) -> None:
    """On PostgreSQL, give this transaction's aggregates room to hash in memory.

    With the default 4MB work_mem, grouping 100k initiatives spills to disk; JIT compilation
    costs more than it saves on queries of this size.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))


def _frame(session: Session, query: Any) -> pd.DataFrame:
    result = session.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def breakdown(
    session: Session, *, dimension: str, scope: Scope, window: Window | None
) -> Breakdown:
    """Counts per row of `dimension` and the distinct total across its rows.

    One pass over the (initiative, row) pairs: the database groups them by (row, reporting
    partner, n), n being how many rows the initiative falls in. Within a group every measure
    is a plain sum, and summed over all groups with the same n each initiative appears exactly
    n times, so the distinct total is the sum over n of (sum of the n-groups) / n: exact,
    with no second pass.
    """
    tune_for_reports(session)
    where = conditions(session, scope)
    years = start_years(session)
    chg_query = changes(window)
    chg = chg_query.element.cte("changes") if chg_query is not None else None
    link = pairs(dimension, scope)
    keyed = select(
        link.c.initiative_id,
        link.c.key,
        func.count().over(partition_by=link.c.initiative_id).label("n"),
    ).subquery("keyed")
    query = (
        select(keyed.c.key, keyed.c.n, Initiative.partner_code, *_measures(chg, years))
        .select_from(keyed)
        .join(Initiative, Initiative.id == keyed.c.initiative_id)
    )
    if chg is not None:
        query = query.outerjoin(chg, chg.c.initiative_id == Initiative.id)
    query = query.where(*where).group_by(keyed.c.key, keyed.c.n, Initiative.partner_code)
    frame = _frame(session, query)
    in_scope = session.scalar(select(func.count()).select_from(Initiative).where(*where)) or 0

    numeric = [c for c in measure_columns(years) if not c.startswith("shared_")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric).astype(float)
    by_row = frame.groupby("key")
    rows = by_row[numeric].sum()
    rows["partners_reporting"] = by_row["partner_code"].nunique()
    shared = frame[frame["n"] > 1].groupby("key")[["initiatives", "budget_eur"]].sum()
    rows["shared_initiatives"] = shared["initiatives"].reindex(rows.index, fill_value=0)
    rows["shared_budget_eur"] = shared["budget_eur"].reindex(rows.index, fill_value=0)
    rows = rows.reset_index()

    per_n = frame.groupby("n")[numeric].sum()
    once = per_n.div(per_n.index.to_series(), axis=0)
    total = once.sum().round(6) if not once.empty else pd.Series(0.0, index=numeric)
    several = once[once.index > 1]
    total["partners_reporting"] = frame["partner_code"].nunique()
    total["shared_initiatives"] = round(float(several["initiatives"].sum()))
    total["shared_budget_eur"] = float(several["budget_eur"].sum())
    return Breakdown(
        rows=rows,
        total=total,
        years=years,
        outside_rows=in_scope - round(float(total["initiatives"])),
        in_several_rows=int(total["shared_initiatives"]),
    )


def funded_by_country(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Per country: initiatives its state funds (a funder linked to it) and their EUR budget.

    A co-funded initiative counts in full for each of its funders: the questionnaire does not
    record each funder's share.
    """
    funded = (
        select(
            InitiativeFunder.initiative_id.label("initiative_id"),
            Partner.country_iso3.label("key"),
        )
        .join(Partner, Partner.code == InitiativeFunder.partner_code)
        .where(Partner.country_iso3.is_not(None))
        .distinct()
        .subquery("funded")
    )
    query = (
        select(
            funded.c.key,
            func.count().label("initiatives_funded"),
            func.coalesce(func.sum(Initiative.budget_eur), 0).label("budget_eur_funded"),
        )
        .select_from(funded)
        .join(Initiative, Initiative.id == funded.c.initiative_id)
        .where(*conditions(session, scope))
        .group_by(funded.c.key)
    )
    if scope.region:
        query = query.join(Country, Country.iso3 == funded.c.key).where(
            Country.region_code == scope.region
        )
    frame = _frame(session, query)
    frame["budget_eur_funded"] = frame["budget_eur_funded"].astype(float)
    return frame


def process_overlaps(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Initiatives (and their EUR budget) involving both processes of each pair."""
    first = aliased(process_pairs(), name="first")
    second = aliased(process_pairs(), name="second")
    query = (
        select(
            first.c.key.label("first"),
            second.c.key.label("second"),
            func.count().label("initiatives"),
            func.coalesce(func.sum(Initiative.budget_eur), 0).label("budget_eur"),
        )
        .select_from(first)
        .join(
            second,
            and_(first.c.initiative_id == second.c.initiative_id, first.c.key < second.c.key),
        )
        .join(Initiative, Initiative.id == first.c.initiative_id)
        .where(*conditions(session, scope))
        .group_by(first.c.key, second.c.key)
        .order_by(first.c.key, second.c.key)
    )
    frame = _frame(session, query)
    frame["budget_eur"] = frame["budget_eur"].astype(float)
    return frame


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
    if session.get_bind().dialect.name == "sqlite":
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
    raw: Any = _raw if session.get_bind().dialect.name == "sqlite" else _as_is
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
