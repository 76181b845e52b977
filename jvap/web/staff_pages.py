"""Analyst pages: the campaign progress board, initiative search and initiative detail."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.db import SessionDep
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.rules import FIELDS
from jvap.initiatives.schemas import InitiativeFilters
from jvap.reference import service as reference_service
from jvap.reference.codelists import KINDS, STATUSES
from jvap.web import views
from jvap.web.deps import READERS, STAFF, page_roles
from jvap.web.templating import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

Staff = Annotated[User, Depends(page_roles(*STAFF))]
Reader = Annotated[User, Depends(page_roles(*READERS))]

# Board order after lateness: who needs a look first.
STATE_ORDER = {
    "submitted": 0,
    "uploaded_with_errors": 1,
    "not_started": 2,
    "returned": 3,
    "accepted": 4,
}


@router.get("/progress")
def progress_board(
    request: Request,
    session: SessionDep,
    user: Staff,
    campaign: str | None = None,
    process: str | None = None,
) -> Response:
    """Every expected partner's status for a campaign, late ones first, by process."""
    lang = page_language(request)
    campaigns = list(reversed(campaigns_service.list_campaigns(session)))
    if campaign is None:
        open_ones = [c for c in campaigns if c.status == "open"]
        chosen = open_ones[0] if open_ones else (campaigns[0] if campaigns else None)
        campaign = chosen.code if chosen else None
    context: dict[str, object] = {
        "campaigns": campaigns,
        "processes": reference_service.list_processes(session),
        "process": process or "",
        "progress": None,
    }
    if campaign is not None:
        progress = campaigns_service.campaign_progress(session, code=campaign)
        counts = progress.totals
        rows = progress.partners
        if process:
            rows = [p for p in rows if process in p.processes]
            counts = next((p for p in progress.processes if p.process == process), counts)
        rows = sorted(rows, key=lambda p: (not p.late, STATE_ORDER.get(p.state, 9), p.partner))
        latest: dict[str, int] = {}
        for submission in campaigns_service.list_submissions(
            session, campaign_code=campaign, user=user
        ):
            latest[submission.assignment.partner_code] = submission.id
        partners = reference_service.list_partners(session)
        context.update(
            progress=progress,
            counts=counts,
            rows=rows,
            latest=latest,
            partner_names={p.code: p.name_fr if lang == "fr" else p.name_en for p in partners},
        )
    return render(request, "progress.html", context)


PAGE_SIZE = 25


@router.get("/initiatives")
def initiative_search(
    request: Request,
    session: SessionDep,
    user: Reader,
    q: str | None = None,
    domain: str | None = None,
    process: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    partner: str | None = None,
    page: int = 1,
) -> Response:
    """Initiatives by words, domain, process, type, status and partner, a page at a time."""
    chosen = {
        "q": (q or "").strip()[:200],
        "domain": domain or "",
        "process": process or "",
        "kind": kind or "",
        "status": status or "",
        "partner": (partner or "").strip().upper(),
    }
    filters = InitiativeFilters(
        q=chosen["q"] or None,
        domain=[chosen["domain"]] if chosen["domain"] else [],
        process=[chosen["process"]] if chosen["process"] else [],
        kind=[chosen["kind"]] if chosen["kind"] else [],
        status=[chosen["status"]] if chosen["status"] else [],
        partner=[chosen["partner"]] if chosen["partner"] else [],
    )
    page = max(1, page)
    total, items = initiatives_service.list_initiatives(
        session,
        filters=filters,
        visibility=initiatives_service.visibility_for(user),
        sort="-updated_at",
        page=page,
        size=PAGE_SIZE,
    )
    query = {key: value for key, value in chosen.items() if value}
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "initiatives.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "chosen": chosen,
            "previous_url": f"/initiatives?{urlencode({**query, 'page': page - 1})}"
            if page > 1
            else None,
            "next_url": f"/initiatives?{urlencode({**query, 'page': page + 1})}"
            if page < pages
            else None,
            "domains": reference_service.list_domains(session),
            "processes": reference_service.list_processes(session),
            "kinds": KINDS,
            "statuses": STATUSES,
        },
    )


@router.get("/initiatives/{ref}")
def initiative_detail(request: Request, session: SessionDep, user: Reader, ref: str) -> Response:
    """One initiative with every field and its history of revisions."""
    lang = page_language(request)
    initiative = initiatives_service.get_initiative(
        session, ref=ref, visibility=initiatives_service.visibility_for(user)
    )
    item = initiatives_service.read_initiatives(session, ids=[initiative.id])[0]
    revisions = initiatives_service.list_revisions(session, initiative_id=initiative.id)
    labels = {key: spec.label(lang) for key, spec in FIELDS.items()}
    return render(
        request,
        "initiative.html",
        {
            "item": item,
            "partner": reference_service.get_partner(session, item.partner_code),
            "revisions": revisions,
            "labels": labels,
            "show": lambda key, value: views.show_field(key, value, lang),
            "domains": {d.code: d for d in reference_service.list_domains(session)},
        },
    )
