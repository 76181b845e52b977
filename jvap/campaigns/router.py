"""HTTP routes for campaigns, questionnaires, submissions and their review."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from jvap.accounts.deps import client_ip, require_roles
from jvap.accounts.models import User
from jvap.campaigns import service
from jvap.campaigns.schemas import (
    AcceptRequest,
    CampaignCreate,
    CampaignProgress,
    CampaignRead,
    ReturnRequest,
    SubmissionRead,
)
from jvap.db import SessionDep
from jvap.errors import InvalidUpload, PayloadTooLarge

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Room for the multipart envelope around the file itself.
MULTIPART_SLACK = 64 * 1024

Staff = Annotated[User, Depends(require_roles("admin", "analyst"))]
Watcher = Annotated[User, Depends(require_roles("admin", "analyst", "manager"))]
Reporter = Annotated[User, Depends(require_roles("admin", "analyst", "focal_point", "contributor"))]
Anyone = Annotated[
    User, Depends(require_roles("admin", "analyst", "manager", "focal_point", "contributor"))
]
Lang = Annotated[
    Literal["en", "fr"] | None,
    Query(description="Language of the messages (default: the user's language)"),
]


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than the {limit // (1024 * 1024)} MiB ({limit} bytes) allowed "
        f"(JVAP_UPLOAD_MAX_BYTES); split the questionnaire or remove images and retry"
    )


class LimitedBodyRequest(Request):
    """A request whose body is read with a size limit, stopping as soon as it is exceeded."""

    limit: int = 0

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.limit + MULTIPART_SLACK:
                raise _too_large(self.limit)
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.limit + MULTIPART_SLACK:
                    raise _too_large(self.limit)
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class UploadRoute(APIRoute):
    """Route class for uploads: the body is size-checked before the form is parsed."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            bounded = LimitedBodyRequest(request.scope, request.receive)
            bounded.limit = request.app.state.settings.upload_max_bytes
            await bounded.body()
            return await handler(bounded)

        return limited


router = APIRouter(tags=["campaigns"])
uploads = APIRouter(tags=["campaigns"], route_class=UploadRoute)


def _lang(lang: str | None, user: User) -> str:
    return lang or (user.language if user.language in service.LANGS else "en")


def _download(filename: str, content: bytes) -> Response:
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/campaigns", response_model=list[CampaignRead])
def list_campaigns(session: SessionDep, _user: Anyone) -> list[CampaignRead]:
    """Every campaign, oldest first, with its status and number of expected partners."""
    return [service.campaign_read(session, c) for c in service.list_campaigns(session)]


@router.post("/campaigns", response_model=CampaignRead, status_code=201)
def create_campaign(
    body: CampaignCreate, request: Request, session: SessionDep, user: Staff
) -> CampaignRead:
    """Create a campaign in draft, with an assignment for every partner of its processes
    (the same fields as a `campaigns/<code>.toml` definition)."""
    campaign = service.create_campaign(session, data=body, user=user, ip_address=client_ip(request))
    return service.campaign_read(session, campaign)


@router.get("/campaigns/{code}", response_model=CampaignRead)
def get_campaign(code: str, session: SessionDep, _user: Anyone) -> CampaignRead:
    """One campaign."""
    return service.campaign_read(session, service.get_campaign(session, code))


@router.post("/campaigns/{code}/open", response_model=CampaignRead)
def open_campaign(code: str, request: Request, session: SessionDep, user: Staff) -> CampaignRead:
    """Open the campaign for uploads; partners newly in scope get their assignment."""
    campaign = service.open_campaign(session, code=code, user=user, ip_address=client_ip(request))
    return service.campaign_read(session, campaign)


@router.post("/campaigns/{code}/close", response_model=CampaignRead)
def close_campaign(code: str, request: Request, session: SessionDep, user: Staff) -> CampaignRead:
    """Close the campaign: uploads are refused (409) from now on; review goes on."""
    campaign = service.close_campaign(session, code=code, user=user, ip_address=client_ip(request))
    return service.campaign_read(session, campaign)


@router.get("/campaigns/{code}/progress", response_model=CampaignProgress)
def campaign_progress(code: str, session: SessionDep, _user: Watcher) -> CampaignProgress:
    """Reporting progress per partner and per process: not started, uploaded with errors,
    submitted, returned, accepted; on time or late; submission, acceptance and on-time rates."""
    return service.campaign_progress(session, code=code)


@router.get(
    "/campaigns/{code}/partners/{partner}/template",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The questionnaire workbook"}},
)
def download_template(
    code: str,
    partner: str,
    session: SessionDep,
    user: Reporter,
    lang: Annotated[Literal["en", "fr"], Query(description="Language of the workbook")] = "en",
) -> Response:
    """The campaign questionnaire (.xlsx) pre-filled with the partner's initiatives: an
    instructions sheet, dropdowns, input help on every header. Focal points and
    contributors get their own partner's only (403 otherwise)."""
    filename, content = service.build_template(
        session, campaign_code=code, partner_code=partner, lang=lang, user=user
    )
    return _download(filename, content)


@uploads.post(
    "/campaigns/{code}/partners/{partner}/submissions",
    response_model=SubmissionRead,
    status_code=201,
    responses={
        200: {"model": SubmissionRead, "description": "The same file was already uploaded"},
        409: {"description": "The campaign is not open"},
        413: {"description": "The file is over the size limit"},
        422: {"description": "The file has errors: every issue, located by sheet, row, column"},
    },
)
def upload_submission(
    code: str,
    partner: str,
    request: Request,
    session: SessionDep,
    user: Reporter,
    file: Annotated[UploadFile, File(description="The filled questionnaire (.xlsx, .xls, .ods)")],
    lang: Lang = None,
) -> Response:
    """Upload a filled questionnaire. The file is stored (with its SHA-256) before it is read.

    201: no errors; the submission waits for review (`summary` counts new, changed,
    unchanged, not reported rows). 422: the `issues` list every problem with its sheet,
    row, column letter, field, code, message and suggestion; nothing is staged, and
    `GET /api/submissions/{id}/annotated.xlsx` returns the workbook with the cells marked.
    Uploading the same bytes again returns the earlier submission (200, or 422)."""
    limit = request.app.state.settings.upload_max_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise _too_large(limit)
    submission, created = service.receive_submission(
        session,
        campaign_code=code,
        partner_code=partner,
        filename=file.filename or "upload",
        content=content,
        content_type=file.content_type,
        user=user,
        channel="api",
        max_uncompressed=request.app.state.settings.upload_max_uncompressed_bytes,
        ip_address=client_ip(request),
    )
    language = _lang(lang, user)
    location = {"Location": f"/api/submissions/{submission.id}"}
    if submission.status == "invalid":
        read = service.submission_read(session, submission, lang=language)
        # Returned, not raised: the stored submission must be committed with the answer.
        error = InvalidUpload(service.upload_failure_detail(submission), issues=read.issues)
        return JSONResponse(error.to_dict(), status_code=422, headers=location)
    read = service.submission_read(session, submission, lang=language, duplicate=not created)
    return JSONResponse(
        read.model_dump(mode="json"), status_code=201 if created else 200, headers=location
    )


@router.get("/campaigns/{code}/submissions", response_model=list[SubmissionRead])
def list_submissions(
    code: str,
    session: SessionDep,
    user: Reporter,
    partner: str | None = None,
    status: str | None = None,
    lang: Lang = None,
) -> list[SubmissionRead]:
    """Submissions of a campaign, optionally of one partner or status (focal points and
    contributors see their own partner's only)."""
    items = service.list_submissions(
        session, campaign_code=code, partner_code=partner, status=status, user=user
    )
    language = _lang(lang, user)
    return [service.submission_read(session, s, lang=language) for s in items]


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission(
    submission_id: int, session: SessionDep, user: Reporter, lang: Lang = None
) -> SubmissionRead:
    """A submission with its summary, issues and diff (new, changed field by field,
    unchanged, conflicting, not reported)."""
    submission = service.get_submission(session, submission_id=submission_id, user=user)
    return service.submission_read(session, submission, lang=_lang(lang, user))


@router.get(
    "/submissions/{submission_id}/annotated.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The annotated workbook"}},
)
def annotated_workbook(
    submission_id: int, session: SessionDep, user: Reporter, lang: Lang = None
) -> Response:
    """The uploaded workbook with flagged cells coloured (red: error, yellow: warning) and
    commented, and an Issues sheet listing every problem."""
    submission = service.get_submission(session, submission_id=submission_id, user=user)
    filename, content = service.annotated_workbook(
        session, submission=submission, lang=_lang(lang, user)
    )
    return _download(filename, content)


@router.post("/submissions/{submission_id}/accept", response_model=SubmissionRead)
def accept_submission(
    submission_id: int,
    request: Request,
    session: SessionDep,
    user: Staff,
    body: AcceptRequest | None = None,
) -> SubmissionRead:
    """Apply the submission's change set in one transaction: new initiatives are created,
    changed ones get a revision, all are published. 409 if a record moved since the upload;
    then nothing is applied."""
    submission = service.accept_submission(
        session,
        submission_id=submission_id,
        user=user,
        comment=body.comment if body else None,
        ip_address=client_ip(request),
    )
    return service.submission_read(session, submission, lang=_lang(None, user))


@router.post("/submissions/{submission_id}/return", response_model=SubmissionRead)
def return_submission(
    submission_id: int,
    body: ReturnRequest,
    request: Request,
    session: SessionDep,
    user: Staff,
) -> SubmissionRead:
    """Send the submission back to the partner with comments; nothing is applied."""
    submission = service.return_submission(
        session,
        submission_id=submission_id,
        comment=body.comment,
        user=user,
        ip_address=client_ip(request),
    )
    return service.submission_read(session, submission, lang=_lang(None, user))


router.include_router(uploads)
