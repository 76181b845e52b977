"""The managers' dashboard: charts of the published initiatives and report downloads."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.db import SessionDep
from jvap.reports import service as reports_service
from jvap.reports.schemas import SummaryFilters, SummaryRow
from jvap.web import charts
from jvap.web.deps import READERS, page_roles
from jvap.web.i18n import format_number, format_percent, translate
from jvap.web.templating import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

Reader = Annotated[User, Depends(page_roles(*READERS))]


def _label(row: SummaryRow, lang: str) -> str:
    return row.label_fr if lang == "fr" else row.label_en


def _current_campaign(session: SessionDep) -> str | None:
    """The campaign the response rate is about: the open one, else the latest."""
    campaigns = campaigns_service.list_campaigns(session)
    open_ones = [c for c in campaigns if c.status == "open"]
    chosen = open_ones[-1] if open_ones else (campaigns[-1] if campaigns else None)
    return chosen.code if chosen else None


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, user: Reader) -> Response:
    """Initiatives by domain, process and region, budgets in EUR, trend by year, response rate."""
    lang = page_language(request)

    def t(key: str, **values: Any) -> str:
        return translate(lang, key, **values)

    def count(value: float) -> str:
        return format_number(value, lang)

    def eur(value: float) -> str:
        amount = format_number(value, lang)
        return f"{amount}\u00a0€" if lang == "fr" else f"€{amount}"

    filters = SummaryFilters()
    by_domain = reports_service.summarise(session, dimension="domains", filters=filters)
    by_process = reports_service.summarise(session, dimension="processes", filters=filters)
    by_region = reports_service.summarise(session, dimension="regions", filters=filters)
    common = {"table_caption": t("data_table"), "empty_text": t("no_data")}
    figures = [
        charts.bar_chart(
            [(f"{r.key} {_label(r, lang)}", r.initiatives) for r in by_domain.rows],
            title=t("chart_by_domain"),
            label_heading=t("domain"),
            value_heading=t("initiatives_count"),
            fmt=count,
            **common,
        ),
        charts.bar_chart(
            [(f"{r.key} {_label(r, lang)}", r.budget_eur) for r in by_domain.rows],
            title=t("chart_budget_by_domain"),
            label_heading=t("domain"),
            value_heading=t("budget_eur_heading"),
            fmt=eur,
            label_width=200,
            **common,
        ),
        charts.bar_chart(
            [(_label(r, lang), r.initiatives) for r in by_process.rows],
            title=t("chart_by_process"),
            label_heading=t("process"),
            value_heading=t("initiatives_count"),
            fmt=count,
            **common,
        ),
        charts.bar_chart(
            [(_label(r, lang), r.initiatives) for r in by_region.rows],
            title=t("chart_by_region"),
            label_heading=t("region"),
            value_heading=t("initiatives_count"),
            fmt=count,
            **common,
        ),
        charts.line_chart(
            sorted(by_domain.total.by_start_year.items()),
            title=t("chart_by_year"),
            label_heading=t("year"),
            value_heading=t("initiatives_count"),
            fmt=count,
            **common,
        ),
    ]
    progress = None
    code = _current_campaign(session)
    if code is not None:
        progress = campaigns_service.campaign_progress(session, code=code)
        totals = progress.totals
        figures.append(
            charts.donut_chart(
                [
                    (t("state_accepted"), totals.accepted),
                    (t("state_submitted"), totals.submitted),
                    (t("state_returned"), totals.returned),
                    (t("state_uploaded_with_errors"), totals.uploaded_with_errors),
                    (t("state_not_started"), totals.not_started),
                ],
                title=t("chart_response", campaign=progress.campaign),
                label_heading=t("status"),
                value_heading=t("count"),
                center=format_percent(totals.submission_rate, lang),
                fmt=count,
                **common,
            )
        )
    # The reports API serves the files; the session cookie authenticates these links.
    reports = [
        {"label": t("report_summary_xlsx"), "url": f"/api/reports/summary?format=xlsx&lang={lang}"},
        {
            "label": t("report_initiatives_xlsx"),
            "url": f"/api/reports/initiatives?format=xlsx&lang={lang}",
        },
        {
            "label": t("report_initiatives_csv"),
            "url": f"/api/reports/initiatives?format=csv&lang={lang}",
        },
    ]
    if progress is not None:
        reports.append(
            {
                "label": t("report_progress_xlsx", campaign=progress.campaign),
                "url": f"/api/reports/progress?campaign={quote(progress.campaign)}"
                f"&format=xlsx&lang={lang}",
            }
        )
    return render(
        request,
        "dashboard.html",
        {
            "total": by_domain.total,
            "progress": progress,
            "figures": figures,
            "eur": eur,
            "reports": reports,
        },
    )
