"""Use cases for summaries, gap analysis, campaign progress and report files."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

import pandas as pd
from sqlalchemy.orm import Session

from jvap.campaigns import service as campaigns_service
from jvap.errors import InvalidInput, NotFound
from jvap.reference import service as reference_service
from jvap.reference.models import Country, Domain, Process, Region
from jvap.reports import breakdowns, csv_lines, queries, render
from jvap.reports.schemas import (
    ChangeCounts,
    ChangeWindow,
    Counts,
    Detail,
    GapRow,
    Gaps,
    Overlap,
    OverlapPartner,
    ProcessOverlap,
    Summary,
    SummaryFilters,
    SummaryRow,
)

ProgressCallback = Callable[[int], None]
# Dimensions that list every reference row, even with no initiative (gaps stay visible).
LIST_ALL = ("regions", "processes", "domains", "priorities")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _check_filters(session: Session, filters: SummaryFilters, campaigns: pd.DataFrame) -> None:
    """Every unknown filter value at once, as one InvalidInput."""
    issues = [
        {"field": field, "code": "unknown", "message": f"unknown {field} {value!r}"}
        for field, model, value in (
            ("process", Process, filters.process),
            ("region", Region, filters.region),
            ("domain", Domain, filters.domain),
        )
        if value is not None and session.get(model, value) is None
    ]
    if filters.campaign is not None and filters.campaign not in set(campaigns["code"]):
        issues.append(
            {
                "field": "campaign",
                "code": "unknown",
                "message": f"unknown campaign {filters.campaign!r}",
            }
        )
    if issues:
        raise InvalidInput("unknown filter value", issues=issues)


def resolve(
    session: Session, filters: SummaryFilters, *, country: str | None = None
) -> tuple[queries.Scope, queries.Window | None, ChangeWindow | None]:
    """Scope and change window for `filters`.

    The change window runs from the day after the previous campaign closed to the selected
    campaign's closing day, or to the as-of date when one is given. Without a campaign
    filter, the selected campaign is the latest one opened on or before the as-of date
    (today by default).
    """
    campaigns = queries.campaigns(session)
    _check_filters(session, filters, campaigns)
    selected = None
    if filters.campaign is not None:
        selected = campaigns[campaigns["code"] == filters.campaign].iloc[0]
    else:
        reference_day = filters.as_of or datetime.now(UTC).date()
        opened = campaigns[campaigns["opens_on"] <= reference_day]
        if not opened.empty:
            selected = opened.sort_values(["opens_on", "id"]).iloc[-1]
    end = filters.as_of or (selected["closes_on"] if filters.campaign is not None else None)
    scope = queries.Scope(
        publication=("published", "pending") if filters.include_pending else ("published",),
        recorded_before=_start_of(end + timedelta(days=1)) if end else None,
        process=filters.process,
        region=filters.region,
        domain=filters.domain,
        country=country,
    )
    if selected is None:
        return scope, None, None
    earlier = campaigns[campaigns["closes_on"] < selected["closes_on"]]
    previous = earlier.iloc[-1] if not earlier.empty else None
    until = filters.as_of or selected["closes_on"]
    since = previous["closes_on"] + timedelta(days=1) if previous is not None else None
    window = queries.Window(
        since=_start_of(since) if since else None, until=_start_of(until + timedelta(days=1))
    )
    change_window = ChangeWindow(
        campaign=selected["code"],
        previous_campaign=previous["code"] if previous is not None else None,
        since=since,
        until=until,
    )
    return scope, window, change_window


# --- summaries --------------------------------------------------------------------------


def _counts(record: Any, years: list[int], with_change: bool) -> dict[str, Any]:
    by_year = {str(y): round(record[queries.year_column(y)]) for y in years}
    unknown = round(record[queries.year_column(None)])
    if unknown:
        by_year["unknown"] = unknown
    return {
        "initiatives": round(record["initiatives"]),
        "projects": round(record["kind_project"]),
        "policies": round(record["kind_policy"]),
        "by_status": {s: round(record[f"status_{s}"]) for s in queries.STATUSES},
        "budget_eur": round(float(record["budget_eur"]), 2),
        "projects_without_budget": round(record["budget_missing"]),
        "partners_reporting": round(record["partners_reporting"]),
        "by_start_year": by_year,
        "change": ChangeCounts(
            new=round(record["change_new"]),
            updated=round(record["change_updated"]),
            completed=round(record["change_completed"]),
        )
        if with_change
        else None,
    }


def _rows(
    session: Session,
    *,
    dimension: str,
    scope: queries.Scope,
    result: breakdowns.Breakdown,
    with_change: bool,
    funded: pd.DataFrame | None = None,
    nonzero_only: bool = False,
) -> list[SummaryRow]:
    labels = queries.labels(session, dimension=dimension, scope=scope)
    rows = labels.merge(result.rows, on="key", how="left")
    if funded is not None:
        rows = rows.merge(funded, on="key", how="left")
        present = rows["initiatives"].notna() | rows["initiatives_funded"].notna()
    else:
        present = rows["initiatives"].notna()
    if nonzero_only or dimension not in LIST_ALL:
        rows = rows[present]
    numeric = [*queries.measure_columns(result.years), "partners_reporting"]
    rows[numeric] = rows[numeric].fillna(0)
    if funded is not None:
        rows[["initiatives_funded", "budget_eur_funded"]] = rows[
            ["initiatives_funded", "budget_eur_funded"]
        ].fillna(0)
    output = []
    for record in rows.to_dict("records"):
        extra: dict[str, Any] = {}
        if funded is not None:
            extra = {
                "initiatives_funded": int(record["initiatives_funded"]),
                "budget_eur_funded": round(float(record["budget_eur_funded"]), 2),
            }
        output.append(
            SummaryRow(
                key=record["key"],
                label_en=record["label_en"],
                label_fr=record["label_fr"],
                group=record["group"] if isinstance(record["group"], str) else None,
                shared_initiatives=int(record["shared_initiatives"]),
                shared_budget_eur=round(float(record["shared_budget_eur"]), 2),
                **_counts(record, result.years, with_change),
                **extra,
            )
        )
    return output


def _summary(
    session: Session,
    *,
    dimension: str,
    filters: SummaryFilters,
    scope: queries.Scope,
    window: queries.Window | None,
    change_window: ChangeWindow | None,
) -> Summary:
    result = breakdowns.breakdown(session, dimension=dimension, scope=scope, window=window)
    with_change = window is not None
    funded = None
    if dimension == "countries":
        funded = breakdowns.funded_by_country(session, scope=scope)
    rows = _rows(
        session,
        dimension=dimension,
        scope=scope,
        result=result,
        with_change=with_change,
        funded=funded,
    )
    overlaps = _process_overlaps(session, scope, rows, result) if dimension == "processes" else []
    total = Counts(**_counts(result.total, result.years, with_change))
    return Summary(
        dimension=dimension,  # type: ignore[arg-type]
        filters=filters,
        generated_at=datetime.now(UTC),
        rows=rows,
        total=total,
        rows_sum=int(result.rows["initiatives"].sum()) if not result.rows.empty else 0,
        counted_in_several_rows=result.in_several_rows,
        budget_eur_in_several_rows=round(float(result.total["shared_budget_eur"]), 2),
        outside_rows=result.outside_rows,
        overlaps=overlaps,
        change_window=change_window,
    )


def _process_overlaps(
    session: Session, scope: queries.Scope, rows: list[SummaryRow], result: breakdowns.Breakdown
) -> list[ProcessOverlap]:
    """Initiatives involving both processes of each pair."""
    if len(rows) == 2:
        # With two processes, the initiatives in several rows are exactly those in both.
        if not result.in_several_rows:
            return []
        return [
            ProcessOverlap(
                processes=[rows[0].key, rows[1].key],
                initiatives=result.in_several_rows,
                budget_eur=round(float(result.total["shared_budget_eur"]), 2),
            )
        ]
    return [
        ProcessOverlap(
            processes=[first, second], initiatives=int(count), budget_eur=round(float(budget), 2)
        )
        for first, second, count, budget in breakdowns.process_overlaps(
            session, scope=scope
        ).itertuples(index=False)
    ]


def summarise(session: Session, *, dimension: str, filters: SummaryFilters) -> Summary:
    """Distinct initiative counts, budgets and change per row of one breakdown."""
    if dimension not in queries.DIMENSIONS:
        raise NotFound(f"no summary {dimension!r}; try one of {', '.join(queries.DIMENSIONS)}")
    scope, window, change_window = resolve(session, filters)
    return _summary(
        session,
        dimension=dimension,
        filters=filters,
        scope=scope,
        window=window,
        change_window=change_window,
    )


def _detail_rows(
    session: Session,
    dimension: str,
    scope: queries.Scope,
    window: queries.Window | None,
) -> list[SummaryRow]:
    result = breakdowns.breakdown(session, dimension=dimension, scope=scope, window=window)
    return _rows(
        session,
        dimension=dimension,
        scope=scope,
        result=result,
        with_change=window is not None,
        nonzero_only=True,
    )


def summarise_country(session: Session, *, iso3: str, filters: SummaryFilters) -> Detail:
    """One country of implementation: its figures, what it funds, its domains and priorities."""
    country = session.get(Country, iso3.upper())
    if country is None:
        raise NotFound(f"no country with ISO3 code {iso3!r}")
    if filters.region and country.region_code != filters.region:
        raise NotFound(f"{country.iso3} is not in region {filters.region!r}")
    scope, window, change_window = resolve(session, filters, country=country.iso3)
    result = breakdowns.breakdown(session, dimension="countries", scope=scope, window=window)
    # What the country funds does not depend on where the initiatives are implemented.
    funded = breakdowns.funded_by_country(session, scope=replace(scope, country=None))
    funded = funded[funded["key"] == country.iso3]
    rows = _rows(
        session,
        dimension="countries",
        scope=scope,
        result=result,
        with_change=window is not None,
        funded=funded,
    )
    summary = next((r for r in rows if r.key == country.iso3), None) or _empty_row(
        country.iso3, country.name_en, country.name_fr, country.region_code, window, funded=True
    )
    return Detail(
        summary=summary,
        by_domain=_detail_rows(session, "domains", scope, window),
        by_priority=_detail_rows(session, "priorities", scope, window),
        by_process=_detail_rows(session, "processes", scope, window),
        change_window=change_window,
    )


def summarise_process(session: Session, *, code: str, filters: SummaryFilters) -> Detail:
    """One process: initiatives involving its members, by domain, priority and country."""
    process = session.get(Process, code.upper())
    if process is None:
        raise NotFound(f"no process with code {code!r}")
    filters = filters.model_copy(update={"process": process.code})
    scope, window, change_window = resolve(session, filters)
    result = breakdowns.breakdown(session, dimension="processes", scope=scope, window=window)
    rows = _rows(
        session,
        dimension="processes",
        scope=scope,
        result=result,
        with_change=window is not None,
    )
    return Detail(
        summary=rows[0],
        by_domain=_detail_rows(session, "domains", scope, window),
        by_priority=_detail_rows(session, "priorities", scope, window),
        by_country=_detail_rows(session, "countries", scope, window),
        change_window=change_window,
    )


def _empty_row(
    key: str,
    label_en: str,
    label_fr: str,
    group: str | None,
    window: queries.Window | None,
    *,
    funded: bool,
) -> SummaryRow:
    return SummaryRow(
        key=key,
        label_en=label_en,
        label_fr=label_fr,
        group=group,
        initiatives=0,
        projects=0,
        policies=0,
        by_status=dict.fromkeys(queries.STATUSES, 0),
        budget_eur=0.0,
        projects_without_budget=0,
        partners_reporting=0,
        by_start_year={},
        change=ChangeCounts(new=0, updated=0, completed=0) if window is not None else None,
        shared_initiatives=0,
        shared_budget_eur=0.0,
        initiatives_funded=0 if funded else None,
        budget_eur_funded=0.0 if funded else None,
    )


# --- gaps -------------------------------------------------------------------------------


def find_gaps(session: Session, *, filters: SummaryFilters, few: int = 2) -> Gaps:
    """Priorities and countries with at most `few` active initiatives, and crowded spots."""
    scope, _, _ = resolve(session, filters)

    def gap_rows(labels: pd.DataFrame, active: pd.DataFrame) -> list[GapRow]:
        merged = labels.merge(active, on="key", how="left")
        merged["active"] = merged["active"].fillna(0).astype(int)
        merged = merged[merged["active"] <= few].sort_values("active", kind="stable")
        return [
            GapRow(
                key=r["key"],
                label_en=r["label_en"],
                label_fr=r["label_fr"],
                group=r["group"] if isinstance(r["group"], str) else None,
                active_initiatives=int(r["active"]),
            )
            for r in merged.to_dict("records")
        ]

    priority_labels = queries.labels(session, dimension="priorities", scope=scope)
    country_labels = queries.gap_countries(session, scope=scope)
    priorities = gap_rows(priority_labels, queries.active_by_priority(session, scope=scope))
    countries = gap_rows(country_labels, queries.active_by_country(session, scope=scope))

    crowded = queries.overlaps(session, scope=scope)
    names = queries.labels(session, dimension="countries", scope=replace(scope, region=None))
    country_names = names.set_index("key")[["label_en", "label_fr"]].to_dict("index")
    priority_names = priority_labels.set_index("key")[["label_en", "label_fr"]].to_dict("index")
    found = []
    for (country, priority), group in crowded.groupby(["country", "priority"], sort=True):
        found.append(
            Overlap(
                country=country,
                country_label_en=country_names[country]["label_en"],
                country_label_fr=country_names[country]["label_fr"],
                priority=priority,
                priority_label_en=priority_names.get(priority, {}).get("label_en", priority),
                priority_label_fr=priority_names.get(priority, {}).get("label_fr", priority),
                partners=[
                    OverlapPartner(partner=p, initiatives=int(n))
                    for p, n in group[["partner", "initiatives"]].itertuples(index=False)
                ],
                initiatives=int(group["initiatives"].sum()),
            )
        )
    return Gaps(
        filters=filters,
        active_statuses=list(queries.ACTIVE_STATUSES),
        few=few,
        priorities=priorities,
        countries=countries,
        overlaps=found,
    )


# --- campaign progress ------------------------------------------------------------------


def campaign_progress(session: Session, *, campaign: str) -> render.ProgressReport:
    """The campaigns domain's progress figures, with partner names in both languages."""
    progress = campaigns_service.campaign_progress(session, code=campaign)
    names_fr = {p.code: p.name_fr for p in reference_service.list_partners(session)}
    return render.ProgressReport(progress=progress, names_fr=names_fr)


# --- report files -----------------------------------------------------------------------


def report_filename(report: str, fmt: str, *, lang: str, suffix: str | None = None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    parts = ["jvap", report, *([suffix] if suffix else []), *(["fr"] if lang == "fr" else [])]
    return f"{'-'.join(parts)}-{stamp}.{fmt}"


def count_report_rows(session: Session, *, filters: SummaryFilters) -> int:
    """Initiative rows a summary or initiatives report will write (for progress bars)."""
    scope, _, _ = resolve(session, filters)
    return queries.count_initiatives(session, scope=scope)


def write_summary_report(
    session: Session,
    *,
    target: IO[bytes],
    fmt: str,
    lang: str,
    filters: SummaryFilters,
    dimension: str = "countries",
    progress: ProgressCallback | None = None,
) -> int:
    """xlsx: the full workbook; csv: the one breakdown `dimension`. Returns rows written."""
    if fmt == "csv":
        summary = summarise(session, dimension=dimension, filters=filters)
        return render.write_summary_csv(target, summary, lang=lang)
    scope, window, change_window = resolve(session, filters)
    summaries = {
        dimension: _summary(
            session,
            dimension=dimension,
            filters=filters,
            scope=scope,
            window=window,
            change_window=change_window,
        )
        for dimension in queries.DIMENSIONS
    }
    gaps = find_gaps(session, filters=filters)
    return render.write_summary_xlsx(
        target,
        summaries=summaries,
        gaps=gaps,
        initiatives=queries.iter_initiatives(session, scope=scope),
        lang=lang,
        generated_at=datetime.now(UTC),
        progress=progress,
    )


def write_initiatives_report(
    session: Session,
    *,
    target: IO[bytes],
    fmt: str,
    lang: str,
    filters: SummaryFilters,
    progress: ProgressCallback | None = None,
) -> int:
    scope, _, _ = resolve(session, filters)
    if fmt == "csv":
        labels = render.initiative_labels(lang)
        lines = csv_lines.iter_lines(session, scope=scope, labels=labels)
        return render.write_initiatives_csv(target, lines, lang=lang, progress=progress)
    batches = queries.iter_initiatives(session, scope=scope)
    return render.write_initiatives_xlsx(target, batches, lang=lang, progress=progress)


def write_progress_report(
    session: Session, *, target: IO[bytes], fmt: str, lang: str, campaign: str
) -> int:
    report = campaign_progress(session, campaign=campaign)
    if fmt == "csv":
        return render.write_progress_csv(target, report, lang=lang)
    return render.write_progress_xlsx(target, report, lang=lang)
