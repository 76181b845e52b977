"""A submission's result page (issues by row, what will change) and its review by analysts."""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from jvap.accounts.deps import client_ip
from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.db import SessionDep
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import parse_ref
from jvap.initiatives.rules import FIELDS
from jvap.reference import service as reference_service
from jvap.web import views
from jvap.web.deps import PARTNER_PAGES, STAFF, page_roles
from jvap.web.i18n import translate
from jvap.web.templating import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

Reader = Annotated[User, Depends(page_roles(*PARTNER_PAGES))]
Reviewer = Annotated[User, Depends(page_roles(*STAFF))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _titles(session: SessionDep, refs: list[str]) -> dict[str, str]:
    ids = [i for i in (parse_ref(ref) for ref in refs) if i is not None]
    if not ids:
        return {}
    stored = initiatives_service.load_records(session, ids=ids)
    return {item.ref: item.record.title for item in stored.values()}


def _field_label(lang: str) -> Callable[[str], str]:
    def label(key: str) -> str:
        spec = FIELDS.get(key)
        return spec.label(lang) if spec else key

    return label


@router.get("/submissions/{submission_id}")
def submission_page(
    request: Request,
    session: SessionDep,
    user: Reader,
    submission_id: int,
    notice: str | None = None,
) -> Response:
    """Issues grouped by row, the annotated workbook, what will change; review for analysts."""
    lang = page_language(request)
    submission = campaigns_service.get_submission(session, submission_id=submission_id, user=user)
    read = campaigns_service.submission_read(session, submission, lang=lang)
    diff = read.diff or {}
    refs = [item.get("ref", "") for item in diff.get("changed", [])]
    refs += list(diff.get("not_reported", [])) + list(diff.get("conflicting", []))
    view = views.submission_view(
        {"issues": read.issues, "summary": read.summary, "diff": diff},
        lang=lang,
        field_label=_field_label(lang),
        titles=_titles(session, refs),
    )
    notices = {"accepted": "accepted_notice", "returned": "returned_notice"}
    if notice in notices:
        notice_text = translate(lang, notices[notice])
    elif read.status == "pending_review" and user.role not in STAFF:
        notice_text = translate(lang, "submitted_notice")
    else:
        notice_text = None
    return render(
        request,
        "submission.html",
        {
            "submission": read,
            "partner": reference_service.get_partner(session, read.partner),
            "campaign": submission.assignment.campaign,
            "uploader": read.uploaded_by,
            "view": view,
            "annotated_url": f"/submissions/{submission.id}/annotated.xlsx"
            if read.issues
            else None,
            "can_review": user.role in STAFF and read.status == "pending_review",
            "notice": notice_text,
        },
    )


@router.get("/submissions/{submission_id}/annotated.xlsx")
def annotated_workbook(
    request: Request, session: SessionDep, user: Reader, submission_id: int
) -> Response:
    """The uploaded workbook with the problem cells marked and an issues sheet."""
    submission = campaigns_service.get_submission(session, submission_id=submission_id, user=user)
    filename, content = campaigns_service.annotated_workbook(
        session, submission=submission, lang=page_language(request)
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


@router.post("/submissions/{submission_id}/accept")
def accept(
    request: Request,
    session: SessionDep,
    user: Reviewer,
    submission_id: int,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Apply the submission's changes to the registry."""
    campaigns_service.accept_submission(
        session,
        submission_id=submission_id,
        user=user,
        comment=comment.strip() or None,
        ip_address=client_ip(request),
    )
    return RedirectResponse(f"/submissions/{submission_id}?notice=accepted", status_code=303)


@router.post("/submissions/{submission_id}/return")
def return_to_partner(
    request: Request,
    session: SessionDep,
    user: Reviewer,
    submission_id: int,
    comment: Annotated[str, Form(max_length=4000)],
) -> Response:
    """Send the submission back to the partner with a comment."""
    campaigns_service.return_submission(
        session,
        submission_id=submission_id,
        comment=comment,
        user=user,
        ip_address=client_ip(request),
    )
    return RedirectResponse(f"/submissions/{submission_id}?notice=returned", status_code=303)
