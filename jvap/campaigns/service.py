"""Use cases for campaigns: definitions, assignments, templates, uploads, review, progress."""

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, undefer

from jvap.accounts import access
from jvap.accounts.audit import record_event
from jvap.accounts.models import User
from jvap.campaigns import annotate, parsing, template, validation
from jvap.campaigns.issues import Issue, issue_records, localise, pack_issues
from jvap.campaigns.models import Assignment, Campaign, CampaignProcess, Submission
from jvap.campaigns.schemas import (
    CampaignCreate,
    CampaignProgress,
    CampaignRead,
    PartnerProgress,
    ProcessProgress,
    ProgressCounts,
    SubmissionRead,
)
from jvap.db import utcnow
from jvap.errors import BadRequest, Conflict, InvalidInput, NotFound
from jvap.initiatives import rules
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import Initiative
from jvap.initiatives.rules import FIELDS, RECORD_FIELDS
from jvap.kit.memory import paused_gc
from jvap.reference import service as reference_service
from jvap.reference.models import Partner, Process, ProcessMembership
from jvap.reference.snapshot import ReferenceSnapshot

# Membership statuses that make a partner expected to answer a campaign of its process.
ASSIGNED_STATUSES = ("partner", "member", "partner_organisation")
# Submission statuses that count as "submitted without errors".
VALID_STATUSES = ("pending_review", "returned", "accepted")
STATE_OF = {"pending_review": "submitted", "returned": "returned", "accepted": "accepted"}
LANGS = ("en", "fr")


# --- campaigns -----------------------------------------------------------------------------


def get_campaign(session: Session, code: str) -> Campaign:
    campaign = session.scalar(
        select(Campaign).where(Campaign.code == code).options(selectinload(Campaign.processes))
    )
    if campaign is None:
        raise NotFound(f"no campaign {code!r}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.scalars(
            select(Campaign).options(selectinload(Campaign.processes)).order_by(Campaign.opens_on)
        )
    )


def campaign_read(session: Session, campaign: Campaign) -> CampaignRead:
    partners = session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.campaign_id == campaign.id)
    )
    return CampaignRead(
        code=campaign.code,
        title=campaign.title,
        questionnaire_version=campaign.questionnaire_version,
        opens_on=campaign.opens_on,
        closes_on=campaign.closes_on,
        status=campaign.status,
        processes=sorted(p.process_code for p in campaign.processes),
        partners=partners or 0,
    )


def partners_in_scope(session: Session, processes: Sequence[str]) -> list[str]:
    """Partners expected to answer: current members of the processes, and the organisations."""
    members = select(ProcessMembership.partner_code).where(
        ProcessMembership.process_code.in_(processes),
        ProcessMembership.status.in_(ASSIGNED_STATUSES),
    )
    return list(
        session.scalars(
            select(Partner.code)
            .where(
                Partner.is_jvap_partner,
                (Partner.code.in_(members)) | (Partner.kind == "organisation"),
            )
            .order_by(Partner.code)
        )
    )


def assign_partners(session: Session, *, campaign: Campaign) -> int:
    """Add an assignment for every partner in scope that has none yet; how many were added."""
    codes = partners_in_scope(session, [p.process_code for p in campaign.processes])
    existing = set(
        session.scalars(
            select(Assignment.partner_code).where(Assignment.campaign_id == campaign.id)
        )
    )
    added = [code for code in codes if code not in existing]
    session.add_all(Assignment(campaign_id=campaign.id, partner_code=code) for code in added)
    session.flush()
    return len(added)


def create_campaign(
    session: Session,
    *,
    data: CampaignCreate,
    user: User | None = None,
    ip_address: str | None = None,
) -> Campaign:
    """A draft campaign with an assignment for every partner of its processes."""
    if session.scalar(select(Campaign.id).where(Campaign.code == data.code)) is not None:
        raise Conflict(f"campaign {data.code} already exists")
    known = set(session.scalars(select(Process.code)))
    unknown = [code for code in data.processes if code not in known]
    if unknown:
        raise InvalidInput(
            f"unknown process(es) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            issues=[
                {"field": "processes", "code": "unknown_process", "message": f"unknown {code}"}
                for code in unknown
            ],
        )
    campaign = Campaign(
        code=data.code,
        title=data.title,
        questionnaire_version=data.questionnaire_version,
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        status="draft",
    )
    campaign.processes = [
        CampaignProcess(process_code=code) for code in dict.fromkeys(data.processes)
    ]
    session.add(campaign)
    session.flush()
    added = assign_partners(session, campaign=campaign)
    record_event(
        session,
        action="campaign.create",
        user=user,
        object_type="campaign",
        object_id=campaign.code,
        ip_address=ip_address,
        detail={"processes": data.processes, "assignments": added},
    )
    return campaign


def open_campaign(
    session: Session, *, code: str, user: User | None = None, ip_address: str | None = None
) -> Campaign:
    """Open a draft or closed campaign for uploads (assignments are completed first)."""
    campaign = get_campaign(session, code)
    if campaign.status == "open":
        raise Conflict(f"campaign {code} is already open")
    added = assign_partners(session, campaign=campaign)
    previous, campaign.status = campaign.status, "open"
    record_event(
        session,
        action="campaign.open",
        user=user,
        object_type="campaign",
        object_id=code,
        ip_address=ip_address,
        detail={"from": previous, "assignments_added": added},
    )
    session.flush()
    return campaign


def close_campaign(
    session: Session, *, code: str, user: User | None = None, ip_address: str | None = None
) -> Campaign:
    """Close a campaign: uploads are refused from now on; review goes on."""
    campaign = get_campaign(session, code)
    if campaign.status == "closed":
        raise Conflict(f"campaign {code} is already closed")
    previous, campaign.status = campaign.status, "closed"
    record_event(
        session,
        action="campaign.close",
        user=user,
        object_type="campaign",
        object_id=code,
        ip_address=ip_address,
        detail={"from": previous},
    )
    session.flush()
    return campaign


def get_assignment(session: Session, *, campaign: Campaign, partner_code: str) -> Assignment:
    assignment = session.scalar(
        select(Assignment).where(
            Assignment.campaign_id == campaign.id, Assignment.partner_code == partner_code
        )
    )
    if assignment is None:
        raise NotFound(f"partner {partner_code} is not expected to answer campaign {campaign.code}")
    return assignment


# --- template ------------------------------------------------------------------------------


@paused_gc()  # tens of thousands of cells and records, none of them cyclic garbage
def build_template(
    session: Session,
    *,
    campaign_code: str,
    partner_code: str,
    lang: str = "en",
    user: User | None = None,
) -> tuple[str, bytes]:
    """(file name, .xlsx bytes) of the questionnaire pre-filled with the partner's initiatives."""
    if lang not in LANGS:
        raise BadRequest(f"unknown language {lang!r}; use en or fr")
    partner_code = partner_code.upper()
    if user is not None:
        access.check_partner(user, partner_code)
    campaign = get_campaign(session, campaign_code)
    partner = reference_service.get_partner(session, partner_code)
    get_assignment(session, campaign=campaign, partner_code=partner.code)
    stored = initiatives_service.load_records(session, partner_code=partner.code)
    domains = [
        (d.code, d.title_fr if lang == "fr" else d.title_en)
        for d in reference_service.list_domains(session)
    ]
    priorities = [
        (p.code, p.domain_code, (p.title_fr or p.title_en) if lang == "fr" else p.title_en)
        for p in reference_service.list_priorities(session)
    ]
    context = template.TemplateContext(
        campaign_code=campaign.code,
        campaign_title=campaign.title,
        opens_on=campaign.opens_on,
        closes_on=campaign.closes_on,
        questionnaire_version=campaign.questionnaire_version,
        partner_code=partner.code,
        partner_name=partner.name_fr if lang == "fr" else partner.name_en,
        lang=lang,
        rows=[
            template.TemplateRow(ref=item.ref, revision=item.revision, record=item.record)
            for item in stored.values()
        ],
        domains=domains,
        priorities=priorities,
        generated_at=datetime.now(UTC),
    )
    filename = f"jvap-{campaign.code}-{partner.code}-{lang}.xlsx"
    return filename, template.build_template(context)


# --- submissions ---------------------------------------------------------------------------


def _sort_key(issue: Issue) -> tuple[int, int, str]:
    column = issue.column or ""
    return (issue.row or 0, len(column), column)


@paused_gc()  # reading, checking and staging an upload allocate objects by the million
def receive_submission(
    session: Session,
    *,
    campaign_code: str,
    partner_code: str,
    filename: str,
    content: bytes,
    content_type: str | None = None,
    user: User | None = None,
    channel: str = "api",
    max_uncompressed: int,
    ip_address: str | None = None,
) -> tuple[Submission, bool]:
    """Store an upload raw, then read, normalise, validate, diff and stage it.

    Returns (submission, created). The raw file is stored before it is read, whatever
    comes of it: with errors the submission is `invalid` and stages nothing; without, it
    is `pending_review` and supersedes the partner's previous pending one. The same bytes
    uploaded again for the same assignment return the latest submission unchanged.
    """
    partner_code = partner_code.upper()
    if user is not None:
        access.check_partner(user, partner_code)
    campaign = get_campaign(session, campaign_code)
    assignment = get_assignment(session, campaign=campaign, partner_code=partner_code)
    if campaign.status == "closed":
        raise Conflict(
            f"campaign {campaign.code} is closed: uploads are no longer accepted (the deadline "
            f"was {campaign.closes_on:%Y-%m-%d}); contact the follow-up team"
        )
    if campaign.status != "open":
        raise Conflict(
            f"campaign {campaign.code} is not open yet: uploads open on "
            f"{campaign.opens_on:%Y-%m-%d}"
        )
    digest = hashlib.sha256(content).hexdigest()
    latest = session.scalar(
        select(Submission)
        .where(Submission.assignment_id == assignment.id, Submission.status != "superseded")
        .order_by(Submission.id.desc())
        .limit(1)
    )
    if latest is not None and latest.sha256 == digest:
        return latest, False

    submission = Submission(
        assignment_id=assignment.id,
        uploaded_by_id=user.id if user is not None else None,
        channel=channel,
        filename=(filename or "upload")[:255],
        content_type=content_type[:100] if content_type else None,
        size_bytes=len(content),
        sha256=digest,
        raw=content,
        status="received",
        report={},
        change_set={},
    )
    session.add(submission)
    session.flush()

    result, parsed, snapshot = _check_upload(
        session,
        content,
        campaign=campaign,
        partner_code=partner_code,
        max_uncompressed=max_uncompressed,
    )
    issues = sorted(result.issues, key=_sort_key)
    summary = result.summary()  # counts thousands of issues: once
    submission.report = {
        "format": parsed.format,
        "sheet": parsed.sheet,
        "metadata": parsed.metadata,
        "summary": summary,
        "issues": pack_issues(issues),
        "diff": result.diff(),
    }
    superseded: list[int] = []
    if summary["errors"]:
        submission.status = "invalid"
    else:
        submission.status = "pending_review"
        # The digest of the rules and reference data the records were checked against, so
        # that accepting can tell whether the rules must run again.
        submission.change_set = {
            **result.change_set(),
            "checked_digest": rules.checked_digest(snapshot),
        }
        for previous in session.scalars(
            select(Submission).where(
                Submission.assignment_id == assignment.id,
                Submission.status == "pending_review",
                Submission.id != submission.id,
            )
        ):
            previous.status = "superseded"
            superseded.append(previous.id)
    record_event(
        session,
        action="submission.upload",
        user=user,
        object_type="submission",
        object_id=submission.id,
        ip_address=ip_address,
        detail={
            "campaign": campaign.code,
            "partner": partner_code,
            "channel": channel,
            "sha256": digest,
            "status": submission.status,
            "summary": summary,
            "superseded": superseded,
        },
    )
    session.flush()
    return submission, True


def _check_upload(
    session: Session,
    content: bytes,
    *,
    campaign: Campaign,
    partner_code: str,
    max_uncompressed: int,
) -> tuple[validation.ValidationResult, parsing.ParsedFile, ReferenceSnapshot]:
    """The upload read and validated, and the reference snapshot it was validated with."""
    parsed = parsing.read_questionnaire(
        content,
        keys=list(FIELDS),
        aliases=validation.header_aliases(),
        max_uncompressed=max_uncompressed,
    )
    expected = validation.Expectation(
        campaign_code=campaign.code,
        partner_code=partner_code,
        questionnaire_version=campaign.questionnaire_version,
    )
    snapshot = reference_service.load_snapshot(session)
    if not parsed.readable:
        result = validation.validate(parsed, snapshot, expected=expected, stored={}, partner_ids=())
        return result, parsed, snapshot
    stored = initiatives_service.load_records(session, ids=validation.referenced_ids(parsed))
    partner_ids = list(
        session.scalars(select(Initiative.id).where(Initiative.partner_code == partner_code))
    )
    result = validation.validate(
        parsed, snapshot, expected=expected, stored=stored, partner_ids=partner_ids
    )
    return result, parsed, snapshot


def get_submission(session: Session, *, submission_id: int, user: User | None = None) -> Submission:
    """A submission; NotFound for one of another partner, so that ids cannot be probed."""
    submission = session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .options(selectinload(Submission.assignment).selectinload(Assignment.campaign))
    )
    if submission is None:
        raise NotFound(f"no submission {submission_id}")
    if user is not None:
        access.check_visible(
            user, submission.assignment.partner_code, what=f"submission {submission_id}"
        )
    return submission


def submission_read(
    session: Session, submission: Submission, *, lang: str = "en", duplicate: bool = False
) -> SubmissionRead:
    report = submission.report or {}
    user_ids = [i for i in (submission.uploaded_by_id, submission.reviewed_by_id) if i]
    users: dict[int, str] = {
        row.id: row.email
        for row in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    }
    return SubmissionRead(
        id=submission.id,
        campaign=submission.assignment.campaign.code,
        partner=submission.assignment.partner_code,
        status=submission.status,
        channel=submission.channel,
        filename=submission.filename,
        content_type=submission.content_type,
        size_bytes=submission.size_bytes,
        sha256=submission.sha256,
        uploaded_at=submission.uploaded_at,
        uploaded_by=users.get(submission.uploaded_by_id) if submission.uploaded_by_id else None,
        summary=report.get("summary", {}),
        issues=[localise(issue, lang) for issue in issue_records(report.get("issues"))],
        diff=report.get("diff", {}),
        reviewed_at=submission.reviewed_at,
        reviewed_by=users.get(submission.reviewed_by_id) if submission.reviewed_by_id else None,
        review_comment=submission.review_comment,
        duplicate=duplicate,
    )


def upload_failure_detail(submission: Submission) -> str:
    summary = (submission.report or {}).get("summary", {})
    return (
        f"submission {submission.id}: {summary.get('errors', 0)} error(s) and "
        f"{summary.get('warnings', 0)} warning(s); nothing was staged. Fix the flagged cells "
        f"(GET /api/submissions/{submission.id}/annotated.xlsx) and upload the file again"
    )


def annotated_workbook(
    session: Session, *, submission: Submission, lang: str = "en"
) -> tuple[str, bytes]:
    """(file name, .xlsx bytes): the uploaded workbook with its issues marked."""
    raw = session.scalar(select(Submission.raw).where(Submission.id == submission.id))
    report = submission.report or {}
    content = annotate.annotate(
        raw or b"",
        fmt=report.get("format"),
        sheet=report.get("sheet"),
        issues=[localise(issue, lang) for issue in issue_records(report.get("issues"))],
        lang=lang,
    )
    stem = submission.filename.rsplit(".", 1)[0] or "questionnaire"
    return f"{stem}-annotated.xlsx", content


def _reviewable(session: Session, submission_id: int) -> Submission:
    submission = get_submission(session, submission_id=submission_id)
    if submission.status != "pending_review":
        raise Conflict(
            f"submission {submission_id} is {submission.status}: only a submission waiting "
            f"for review can be accepted or returned"
        )
    return submission


@paused_gc()  # decoding the stored change set allocates as much as the writes do
def accept_submission(
    session: Session,
    *,
    submission_id: int,
    user: User | None = None,
    comment: str | None = None,
    ip_address: str | None = None,
) -> Submission:
    """Apply the whole change set in one transaction: new initiatives created, changed ones
    updated with a revision each, all of them published; nothing is applied if any fails."""
    submission = _reviewable(session, submission_id)
    change_set = (
        session.scalar(select(Submission.change_set).where(Submission.id == submission.id)) or {}
    )
    partner_code = submission.assignment.partner_code
    user_id = user.id if user is not None else None
    snapshot = reference_service.load_snapshot(session)
    # Staging ran every rule against the rules and reference data of that moment; unless
    # either changed since, running them again cannot find anything new.
    checked = change_set.get("checked_digest") == rules.checked_digest(snapshot)
    fields = change_set.get("fields", RECORD_FIELDS)
    new_items = [
        (partner_code, validation.record_from_json(item["record"], fields))
        for item in change_set.get("new", [])
    ]
    changed_items = [
        (
            item["initiative_id"],
            item["revision"],
            validation.record_from_json(item["record"], fields),
        )
        for item in change_set.get("changed", [])
    ]
    # A savepoint, so that a failure part-way leaves the caller's transaction as it was.
    with session.begin_nested():
        created = initiatives_service.create_initiatives(
            session,
            new_items,
            user_id=user_id,
            submission_id=submission.id,
            publish=True,
            source="questionnaire",
            snapshot=snapshot,
            checked=checked,
        )
        initiatives_service.update_initiatives(
            session,
            changed_items,
            user_id=user_id,
            submission_id=submission.id,
            publish=True,
            snapshot=snapshot,
            checked=checked,
        )
        submission.status = "accepted"
        submission.reviewed_by_id = user_id
        submission.reviewed_at = utcnow()
        submission.review_comment = comment
        submission.report = {
            **(submission.report or {}),
            "applied": {"created": len(created), "updated": len(changed_items)},
        }
        record_event(
            session,
            action="submission.accept",
            user=user,
            object_type="submission",
            object_id=submission.id,
            ip_address=ip_address,
            detail={
                "campaign": submission.assignment.campaign.code,
                "partner": partner_code,
                "created": len(created),
                "updated": len(changed_items),
            },
        )
        session.flush()
    return submission


def return_submission(
    session: Session,
    *,
    submission_id: int,
    comment: str,
    user: User | None = None,
    ip_address: str | None = None,
) -> Submission:
    """Send a submission back to the partner with comments; nothing is applied."""
    if not comment or not comment.strip():
        raise BadRequest("say why the submission is returned (comment)")
    submission = _reviewable(session, submission_id)
    submission.status = "returned"
    submission.reviewed_by_id = user.id if user is not None else None
    submission.reviewed_at = utcnow()
    submission.review_comment = comment.strip()
    record_event(
        session,
        action="submission.return",
        user=user,
        object_type="submission",
        object_id=submission.id,
        ip_address=ip_address,
        detail={
            "campaign": submission.assignment.campaign.code,
            "partner": submission.assignment.partner_code,
            "comment": comment.strip(),
        },
    )
    session.flush()
    return submission


def list_submissions(
    session: Session,
    *,
    campaign_code: str,
    partner_code: str | None = None,
    status: str | None = None,
    user: User | None = None,
) -> list[Submission]:
    campaign = get_campaign(session, campaign_code)
    if user is not None and access.is_partner_bound(user):
        if partner_code is not None:
            access.check_partner(user, partner_code)
        partner_code = user.partner_code
    query = (
        select(Submission)
        .join(Assignment)
        .where(Assignment.campaign_id == campaign.id)
        .options(
            selectinload(Submission.assignment).selectinload(Assignment.campaign),
            undefer(Submission.report),  # every listed submission shows its report
        )
        .order_by(Submission.id)
    )
    if partner_code:
        query = query.where(Assignment.partner_code == partner_code.upper())
    if status:
        query = query.where(Submission.status == status)
    return list(session.scalars(query))


# --- progress ------------------------------------------------------------------------------


def _counts(partners: list[PartnerProgress]) -> dict[str, Any]:
    expected = len(partners)
    states = [p.state for p in partners]
    submitted_any = sum(1 for s in states if s in ("submitted", "returned", "accepted"))
    accepted = states.count("accepted")
    on_time = sum(1 for p in partners if p.on_time)

    def rate(n: int) -> float:
        return round(n / expected, 4) if expected else 0.0

    return {
        "expected": expected,
        "not_started": states.count("not_started"),
        "uploaded_with_errors": states.count("uploaded_with_errors"),
        "submitted": states.count("submitted"),
        "returned": states.count("returned"),
        "accepted": accepted,
        "on_time": on_time,
        "late": sum(1 for p in partners if p.late),
        "submission_rate": rate(submitted_any),
        "acceptance_rate": rate(accepted),
        "on_time_rate": rate(on_time),
    }


def campaign_progress(
    session: Session, *, code: str, today: date | None = None
) -> CampaignProgress:
    """Per partner and per process: not started, uploaded with errors, submitted, returned,
    accepted; on time or late against the closing date; and the rates."""
    campaign = get_campaign(session, code)
    today = today or date.today()
    rows = session.execute(
        select(Assignment.id, Assignment.partner_code, Partner.name_en)
        .join(Partner, Partner.code == Assignment.partner_code)
        .where(Assignment.campaign_id == campaign.id)
        .order_by(Assignment.partner_code)
    ).all()
    submissions: dict[int, list[tuple[str, datetime]]] = {}
    for assignment_id, status, uploaded_at in session.execute(
        select(Submission.assignment_id, Submission.status, Submission.uploaded_at)
        .join(Assignment)
        .where(Assignment.campaign_id == campaign.id)
        .order_by(Submission.id)
    ):
        submissions.setdefault(assignment_id, []).append((status, uploaded_at))
    process_codes = [p.process_code for p in campaign.processes]
    memberships: dict[str, list[str]] = {}
    for partner_code, process_code in session.execute(
        select(ProcessMembership.partner_code, ProcessMembership.process_code).where(
            ProcessMembership.process_code.in_(process_codes),
            ProcessMembership.status.in_(ASSIGNED_STATUSES),
        )
    ):
        memberships.setdefault(partner_code, []).append(process_code)

    partners: list[PartnerProgress] = []
    for assignment_id, partner_code, name in rows:
        history = submissions.get(assignment_id, [])
        live = [(s, at) for s, at in history if s != "superseded"]
        valid = [(s, at) for s, at in history if s in VALID_STATUSES or s == "superseded"]
        if any(s in VALID_STATUSES for s, _ in live):
            state = STATE_OF[[s for s, _ in live if s in VALID_STATUSES][-1]]
        elif history:
            state = "uploaded_with_errors"
        else:
            state = "not_started"
        submitted_at = _aware(valid[0][1]) if valid else None
        on_time = submitted_at.date() <= campaign.closes_on if submitted_at else None
        late = (on_time is False) or (submitted_at is None and today > campaign.closes_on)
        partners.append(
            PartnerProgress(
                partner=partner_code,
                name=name,
                processes=sorted(memberships.get(partner_code, [])),
                state=state,
                submissions=len(history),
                last_upload_at=_aware(history[-1][1]) if history else None,
                submitted_at=submitted_at,
                on_time=on_time,
                late=late,
            )
        )
    return CampaignProgress(
        campaign=campaign.code,
        title=campaign.title,
        status=campaign.status,
        opens_on=campaign.opens_on,
        closes_on=campaign.closes_on,
        as_of=today,
        totals=ProgressCounts(**_counts(partners)),
        processes=[
            ProcessProgress(
                process=process_code,
                **_counts([p for p in partners if process_code in p.processes]),
            )
            for process_code in sorted(process_codes)
        ],
        partners=partners,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
