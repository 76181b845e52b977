"""HTTP routes for progress summaries (JSON) and report files (xlsx, CSV)."""

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from jvap.accounts.deps import require_roles
from jvap.accounts.models import User
from jvap.db import SessionDep
from jvap.reports import service
from jvap.reports.schemas import (
    BUDGET_ATTRIBUTION,
    PROCESS_INVOLVEMENT,
    Detail,
    Dimension,
    Gaps,
    Language,
    ReportFormat,
    Summary,
    SummaryFilters,
)

Reader = Annotated[User, Depends(require_roles("admin", "analyst", "manager"))]
Filters = Annotated[SummaryFilters, Query()]
Format = Annotated[ReportFormat, Query(description="xlsx (Excel workbook) or csv (UTF-8 with BOM)")]
Lang = Annotated[Language, Query(description="Language of labels and headers (en or fr)")]

RULES = (
    "\n\nCounting rules: an initiative counts once in each country, region, process, domain "
    "and priority it covers; `total` counts every initiative of the rows once (a distinct "
    "count, never a sum of rows), `rows_sum` shows how much the rows add up to, "
    "`counted_in_several_rows` how many initiatives are in more than one row, "
    "`outside_rows` how many match the filters but fall in no row. Only published "
    "initiatives count unless `include_pending=true`. "
    f"\n\n{BUDGET_ATTRIBUTION}\n\n{PROCESS_INVOLVEMENT}\n\n"
    "`change` (new, updated, completed) covers the window from the day after the previous "
    "campaign closed to the selected campaign's closing day (or the as-of date): new = the "
    "initiative's first revision falls in it, updated = a later revision does (and it is not "
    "new), completed = a revision in it set the status to completed."
)

summaries = APIRouter(prefix="/summaries", tags=["summaries"])
reports = APIRouter(prefix="/reports", tags=["reports"])

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _summary_route(dimension: Dimension, what: str) -> Callable[..., Summary]:
    def route(session: SessionDep, _user: Reader, filters: Filters) -> Summary:
        return service.summarise(session, dimension=dimension, filters=filters)

    route.__name__ = f"summary_{dimension}"
    route.__doc__ = (
        f"Initiatives per {what}: counts by kind and status, EUR budgets, partners reporting, "
        "trend by start year and change since the previous campaign." + RULES
    )
    return route


for _dimension, _what in (
    ("countries", "country of implementation (with the budget each country funds)"),
    ("regions", "region (an initiative counts in each region of its countries)"),
    ("processes", "process (Rabat, Khartoum), with the initiatives involving both"),
    ("domains", "JVAP domain (D1–D5)"),
    ("priorities", "priority"),
):
    summaries.add_api_route(
        f"/{_dimension}",
        _summary_route(_dimension, _what),  # type: ignore[arg-type]
        methods=["GET"],
        response_model=Summary,
    )


@summaries.get(
    "/countries/{iso3}",
    response_model=Detail,
    description="One country: initiatives implemented in it and what its state funds, "
    "broken down by domain, priority and process." + RULES,
)
def country_summary(iso3: str, session: SessionDep, _user: Reader, filters: Filters) -> Detail:
    return service.summarise_country(session, iso3=iso3, filters=filters)


@summaries.get(
    "/processes/{code}",
    response_model=Detail,
    description="One process: the initiatives involving its members, broken down by domain, "
    "priority and country." + RULES,
)
def process_summary(code: str, session: SessionDep, _user: Reader, filters: Filters) -> Detail:
    return service.summarise_process(session, code=code, filters=filters)


@summaries.get("/gaps", response_model=Gaps)
def gaps(
    session: SessionDep,
    _user: Reader,
    filters: Filters,
    few: Annotated[int, Query(ge=0, le=100, description="List rows with at most this many")] = 2,
) -> Gaps:
    """Gap analysis: priorities and African partner countries with no or few active (ongoing)
    initiatives, and overlaps: a priority in a country where several partners have active
    initiatives."""
    return service.find_gaps(session, filters=filters, few=few)


# --- report files -----------------------------------------------------------------------


def _file_response(
    write: Callable[[IO[bytes]], object], *, report: str, fmt: str, lang: str, suffix: str = ""
) -> FileResponse:
    # The workbook is built in a temporary file (constant memory), streamed, then deleted.
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False) as handle:
        path = Path(handle.name)
        try:
            write(handle)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        filename=service.report_filename(report, fmt, lang=lang, suffix=suffix or None),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@reports.get("/summary", response_class=FileResponse)
def summary_report(
    session: SessionDep,
    _user: Reader,
    filters: Filters,
    format: Format = "xlsx",
    lang: Lang = "en",
    dimension: Annotated[
        Dimension, Query(description="CSV only: the breakdown to export (one per file)")
    ] = "countries",
) -> FileResponse:
    """Progress summary for programme managers. xlsx: a summary sheet, one sheet per
    breakdown (countries, regions, processes, domains, priorities, start year), gap and overlap
    sheets and the initiatives list, with frozen headers, filters, EUR formats and charts.
    CSV: one breakdown, UTF-8 with BOM, its distinct total on the last line. Text starting
    with = + - @ is prefixed with an apostrophe so spreadsheets never run it."""
    return _file_response(
        lambda target: service.write_summary_report(
            session, target=target, fmt=format, lang=lang, filters=filters, dimension=dimension
        ),
        report="summary",
        fmt=format,
        lang=lang,
        suffix=dimension if format == "csv" else "",
    )


@reports.get("/initiatives", response_class=FileResponse)
def initiatives_report(
    session: SessionDep,
    _user: Reader,
    filters: Filters,
    format: Format = "xlsx",
    lang: Lang = "en",
) -> FileResponse:
    """The initiatives the filters select, one per line (budgets in EUR alongside the
    original currency), as xlsx or CSV (UTF-8 with BOM)."""
    return _file_response(
        lambda target: service.write_initiatives_report(
            session, target=target, fmt=format, lang=lang, filters=filters
        ),
        report="initiatives",
        fmt=format,
        lang=lang,
    )


@reports.get("/progress", response_class=FileResponse)
def progress_report(
    session: SessionDep,
    _user: Reader,
    campaign: Annotated[str, Query(description="Campaign code, e.g. 2025")],
    format: Format = "xlsx",
    lang: Lang = "en",
) -> FileResponse:
    """Campaign progress, reported like reporting rates: expected, not started, uploaded with
    errors, submitted, returned, accepted, on time and late, overall and per process, then
    one line per partner."""
    return _file_response(
        lambda target: service.write_progress_report(
            session, target=target, fmt=format, lang=lang, campaign=campaign
        ),
        report="progress",
        fmt=format,
        lang=lang,
        suffix=campaign,
    )


router = APIRouter()
router.include_router(summaries)
router.include_router(reports)
