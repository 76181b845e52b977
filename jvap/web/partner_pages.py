"""Focal point and contributor pages: my campaigns, a campaign, the questionnaire, uploads."""

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from jvap.accounts import access
from jvap.accounts.deps import client_ip
from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.campaigns.models import Campaign
from jvap.campaigns.router import UploadRoute
from jvap.db import SessionDep
from jvap.errors import JvapError, NotFound, PayloadTooLarge
from jvap.reference import service as reference_service
from jvap.reference.models import Partner
from jvap.web.deps import PARTNER_PAGES, page_roles
from jvap.web.templating import PageRoute, render


class PageUploadRoute(PageRoute, UploadRoute):
    """An upload page: the body is size-checked before the form is read, errors are pages."""


router = APIRouter(route_class=PageRoute)
uploads = APIRouter(route_class=PageUploadRoute)

PartnerUser = Annotated[User, Depends(page_roles(*PARTNER_PAGES))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _partner(session: SessionDep, user: User, partner_code: str) -> Partner:
    """The partner of the page, if the user may act for it (Forbidden otherwise)."""
    access.check_partner(user, partner_code.upper())
    return reference_service.get_partner(session, partner_code)


def _attachment(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def _campaign_page(
    request: Request,
    session: SessionDep,
    *,
    user: User,
    partner: Partner,
    campaign: Campaign,
    upload_error: JvapError | None = None,
) -> Response:
    campaigns_service.get_assignment(session, campaign=campaign, partner_code=partner.code)
    submissions = campaigns_service.list_submissions(
        session, campaign_code=campaign.code, partner_code=partner.code, user=user
    )
    return render(
        request,
        "campaign.html",
        {
            "partner": partner,
            "campaign": campaign,
            "days_left": (campaign.closes_on - date.today()).days,
            "submissions": list(reversed(submissions)),
            "upload_error": upload_error,
        },
        status_code=upload_error.status_code if upload_error else 200,
    )


@router.get("/partners/{partner}")
def partner_home(
    request: Request, session: SessionDep, user: PartnerUser, partner: str
) -> Response:
    """The campaigns the partner is expected to answer, newest first, with their deadlines."""
    found = _partner(session, user, partner)
    rows = []
    for campaign in reversed(campaigns_service.list_campaigns(session)):
        if campaign.status == "draft":
            continue
        try:
            campaigns_service.get_assignment(session, campaign=campaign, partner_code=found.code)
        except NotFound:
            continue
        submissions = campaigns_service.list_submissions(
            session, campaign_code=campaign.code, partner_code=found.code, user=user
        )
        rows.append(
            {
                "campaign": campaign,
                "days_left": (campaign.closes_on - date.today()).days,
                "latest": submissions[-1] if submissions else None,
            }
        )
    return render(request, "partner_home.html", {"partner": found, "rows": rows})


@router.get("/partners/{partner}/campaigns/{code}")
def campaign_page(
    request: Request, session: SessionDep, user: PartnerUser, partner: str, code: str
) -> Response:
    """Deadline and status, the questionnaire, the upload form and the submission history."""
    found = _partner(session, user, partner)
    campaign = campaigns_service.get_campaign(session, code)
    return _campaign_page(request, session, user=user, partner=found, campaign=campaign)


@router.get("/partners/{partner}/campaigns/{code}/questionnaire.xlsx")
def download_questionnaire(
    session: SessionDep, user: PartnerUser, partner: str, code: str, lang: str = "en"
) -> Response:
    """The questionnaire pre-filled with the partner's initiatives."""
    filename, content = campaigns_service.build_template(
        session, campaign_code=code, partner_code=partner, lang=lang, user=user
    )
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": _attachment(filename)}
    )


@uploads.post("/partners/{partner}/campaigns/{code}/upload")
def upload(
    request: Request,
    session: SessionDep,
    user: PartnerUser,
    partner: str,
    code: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Store, check and stage an upload, then show its result page."""
    found = _partner(session, user, partner)
    campaign = campaigns_service.get_campaign(session, code)
    settings = request.app.state.settings
    content = file.file.read(settings.upload_max_bytes + 1)
    try:
        if len(content) > settings.upload_max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the {settings.upload_max_bytes // (1024 * 1024)} MiB "
                f"allowed; remove images or split the questionnaire and upload it again"
            )
        submission, _created = campaigns_service.receive_submission(
            session,
            campaign_code=campaign.code,
            partner_code=found.code,
            filename=file.filename or "upload.xlsx",
            content=content,
            content_type=file.content_type,
            user=user,
            channel="web",
            max_uncompressed=settings.upload_max_uncompressed_bytes,
            ip_address=client_ip(request),
        )
    except JvapError as exc:
        # Access errors keep their own page; anything else is shown beside the upload form.
        if exc.status_code in (401, 403, 404):
            raise
        return _campaign_page(
            request, session, user=user, partner=found, campaign=campaign, upload_error=exc
        )
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


router.include_router(uploads)
