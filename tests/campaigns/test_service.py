"""The upload pipeline on a database: store, read, validate, diff, stage, review, progress."""

import io
import zipfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jvap.accounts.models import AuditEvent
from jvap.campaigns import service
from jvap.campaigns.definition import parse_definition
from jvap.campaigns.issues import issue_records
from jvap.campaigns.models import Assignment, Submission
from jvap.campaigns.template import DATA_SHEET
from jvap.errors import Conflict, Forbidden, InvalidInput, NotFound
from jvap.initiatives import rules
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import Initiative, InitiativeRevision
from jvap.initiatives.rules import diff_records
from tests.campaigns.workbooks import NEW_ROW, fill, open_book, record, save
from tests.factories import make_campaign, make_user

LIMIT = 200 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def campaign(session: Session) -> Any:
    return make_campaign(session, code="T2025")


@pytest.fixture
def sen_ids(session: Session) -> list[int]:
    return initiatives_service.create_initiatives(
        session,
        [
            ("SEN", record()),
            ("SEN", record(title="Second", kind="policy", budget=None, currency=None)),
        ],
        user_id=None,
        publish=True,
    )


def template(
    session: Session, partner: str = "SEN", lang: str = "en", code: str = "T2025"
) -> bytes:
    return service.build_template(session, campaign_code=code, partner_code=partner, lang=lang)[1]


def submit(session: Session, content: bytes, partner: str = "SEN", **kwargs: Any) -> Submission:
    submission, _created = service.receive_submission(
        session,
        campaign_code=kwargs.pop("code", "T2025"),
        partner_code=partner,
        filename="questionnaire.xlsx",
        content=content,
        max_uncompressed=kwargs.pop("limit", LIMIT),
        **kwargs,
    )
    return submission


def issue_codes(submission: Submission) -> list[str]:
    return [issue["code"] for issue in issue_records(submission.report["issues"])]


def registry(session: Session, partner: str = "SEN") -> dict[int, Any]:
    return initiatives_service.load_records(session, partner_code=partner)


def test_campaign_from_the_shipped_definition_gets_an_assignment_per_partner(
    session: Session,
) -> None:
    data = parse_definition((ROOT / "campaigns" / "2027.toml").read_bytes())
    campaign = service.create_campaign(session, data=data)
    assert (campaign.code, campaign.status, campaign.closes_on) == (
        "2027",
        "draft",
        date(2027, 9, 30),
    )
    partners = set(
        session.scalars(
            select(Assignment.partner_code).where(Assignment.campaign_id == campaign.id)
        )
    )
    assert {"SEN", "MLI", "FRA", "EU"} <= partners
    assert partners == set(service.partners_in_scope(session, ["RP", "KP"]))
    with pytest.raises(Conflict):
        service.create_campaign(session, data=data)


def test_a_campaign_of_one_process_assigns_only_its_members(session: Session) -> None:
    campaign = make_campaign(session, code="KP-ONLY", processes=("KP",))
    partners = {a.partner_code for a in campaign.assignments}
    assert "ERI" in partners and "SEN" not in partners


def test_definition_errors_are_listed(session: Session) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_definition(b'code = "X"\ntitle = "t"\nopens = 2025-05-01\ncloses = 2025-01-01\n')
    assert {issue["field"] for issue in raised.value.issues} >= {"processes"}
    data = parse_definition(
        b'code = "X"\ntitle = "t"\nopens = 2025-01-01\ncloses = 2025-05-01\nprocesses = ["ZZ"]\n'
    )
    with pytest.raises(InvalidInput, match="unknown process"):
        service.create_campaign(session, data=data)


def test_open_and_close(session: Session) -> None:
    make_campaign(session, code="C1", status="draft")
    assert service.open_campaign(session, code="C1").status == "open"
    with pytest.raises(Conflict):
        service.open_campaign(session, code="C1")
    assert service.close_campaign(session, code="C1").status == "closed"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == "C1").order_by(AuditEvent.id)
    ).all()
    assert actions == ["campaign.create", "campaign.open", "campaign.close"]


def test_round_trip_changes_exactly_what_was_filled(
    session: Session, campaign: Any, sen_ids: list[int]
) -> None:
    before = registry(session)
    first = before[sen_ids[0]].ref
    content = fill(
        template(session),
        edits={first: {"status": "Completed", "end_date": date(2023, 6, 30)}},
        new_rows=[NEW_ROW],
    )
    submission = submit(session, content)
    assert submission.status == "pending_review", submission.report["issues"]
    assert submission.report["summary"]["new"] == 1
    assert submission.report["summary"]["changed"] == 1
    assert submission.raw == content

    service.accept_submission(session, submission_id=submission.id)
    after = registry(session)
    assert diff_records(before[sen_ids[0]].record, after[sen_ids[0]].record) == {
        "status": ("ongoing", "completed"),
        "end_date": (date(2022, 12, 31), date(2023, 6, 30)),
    }
    assert after[sen_ids[0]].revision == before[sen_ids[0]].revision + 1
    assert after[sen_ids[1]] == before[sen_ids[1]]
    [new_id] = set(after) - set(before)
    new = after[new_id]
    assert (new.publication_status, new.record.title, new.record.funder_category) == (
        "published",
        "Border management training",
        "eu_institution",
    )
    assert new.record.target_groups == ["officials"]
    revisions = session.scalars(
        select(InitiativeRevision.submission_id).where(
            InitiativeRevision.initiative_id.in_([sen_ids[0], new_id])
        )
    ).all()
    assert revisions.count(submission.id) == 2
    assert submission.status == "accepted"


def test_french_template_round_trip(session: Session, campaign: Any, sen_ids: list[int]) -> None:
    before = registry(session)
    first = before[sen_ids[0]].ref
    french_row = {
        **NEW_ROW,
        "kind": "Politique",
        "status": "Prévu",
        "scope": "National",
        "funder_category": "Institution de l'UE",
        "target_groups": "Jeunes; Femmes",
        "countries": "Sénégal",
        "budget": None,
        "currency": None,
    }
    content = fill(
        template(session, lang="fr"), edits={first: {"status": "Achevé"}}, new_rows=[french_row]
    )
    submission = submit(session, content)
    assert submission.status == "pending_review", submission.report["issues"]
    service.accept_submission(session, submission_id=submission.id)
    after = registry(session)
    assert after[sen_ids[0]].record.status == "completed"
    [new_id] = set(after) - set(before)
    assert after[new_id].record.kind == "policy"
    assert after[new_id].record.status == "planned"
    assert after[new_id].record.target_groups == ["women", "youth"]


def test_reordered_columns_round_trip(session: Session, campaign: Any, sen_ids: list[int]) -> None:
    before = registry(session)
    book = open_book(fill(template(session), edits={before[sen_ids[1]].ref: {"title": "Moved"}}))
    sheet = book[DATA_SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    for r, row in enumerate(values, start=1):
        for c, value in enumerate(reversed(row), start=1):
            sheet.cell(r, c).value = value
    submission = submit(session, save(book))
    assert submission.status == "pending_review", submission.report["issues"]
    service.accept_submission(session, submission_id=submission.id)
    after = registry(session)
    assert after[sen_ids[1]].record.title == "Moved"
    assert after[sen_ids[0]] == before[sen_ids[0]]


def test_a_file_of_another_partner_is_refused(session: Session, campaign: Any) -> None:
    initiatives_service.create_initiatives(session, [("MLI", record())], user_id=None)
    submission = submit(session, template(session, partner="MLI"), partner="SEN")
    assert submission.status == "invalid"
    assert "wrong_partner" in issue_codes(submission)
    assert "ref_of_other_partner" in issue_codes(submission)
    assert submission.change_set == {}


def test_a_file_of_another_campaign_is_refused(session: Session, campaign: Any) -> None:
    make_campaign(session, code="OTHER")
    content = fill(template(session, code="OTHER"), new_rows=[NEW_ROW])
    submission = submit(session, content)
    assert submission.status == "invalid"
    assert issue_codes(submission) == ["wrong_campaign"]


@pytest.mark.parametrize(("status", "message"), [("closed", "closed"), ("draft", "not open yet")])
def test_a_campaign_that_is_not_open_refuses_uploads(
    session: Session, status: str, message: str
) -> None:
    make_campaign(session, code="SHUT", status=status)
    with pytest.raises(Conflict, match=message):
        submit(session, b"anything", code="SHUT")
    assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_non_spreadsheet_is_stored_raw_then_refused(session: Session, campaign: Any) -> None:
    submission = submit(session, b"%PDF-1.7 not a workbook")
    assert submission.status == "invalid"
    assert issue_codes(submission) == ["not_a_spreadsheet"]
    assert submission.raw == b"%PDF-1.7 not a workbook"
    assert len(submission.sha256) == 64


def test_a_zip_bomb_is_stored_and_refused(session: Session, campaign: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    submission = submit(session, buffer.getvalue(), limit=4 * 1024 * 1024)
    assert submission.status == "invalid"
    assert issue_codes(submission) == ["too_large_uncompressed"]


def test_the_same_bytes_twice_are_one_submission(session: Session, campaign: Any) -> None:
    content = fill(template(session), new_rows=[NEW_ROW])
    first, created = service.receive_submission(
        session,
        campaign_code="T2025",
        partner_code="SEN",
        filename="a.xlsx",
        content=content,
        max_uncompressed=LIMIT,
    )
    again, created_again = service.receive_submission(
        session,
        campaign_code="T2025",
        partner_code="sen",
        filename="b.xlsx",
        content=content,
        max_uncompressed=LIMIT,
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Submission)) == 1


def test_a_new_upload_supersedes_the_pending_one_but_a_broken_one_does_not(
    session: Session, campaign: Any
) -> None:
    first = submit(session, fill(template(session), new_rows=[NEW_ROW]))
    broken = submit(session, fill(template(session), new_rows=[{**NEW_ROW, "status": "??"}]))
    assert (first.status, broken.status) == ("pending_review", "invalid")
    second = submit(session, fill(template(session), new_rows=[{**NEW_ROW, "title": "Other"}]))
    assert (first.status, second.status) == ("superseded", "pending_review")
    with pytest.raises(Conflict, match="superseded"):
        service.accept_submission(session, submission_id=first.id)


def test_a_failure_during_accept_leaves_the_registry_as_it_was(
    session: Session, campaign: Any, sen_ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = registry(session)
    first = before[sen_ids[0]].ref
    content = fill(template(session), edits={first: {"title": "New title"}}, new_rows=[NEW_ROW])
    submission = submit(session, content)
    count = session.scalar(select(func.count()).select_from(Initiative))

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    # The last write of accept fails: everything written before it must be undone.
    monkeypatch.setattr(service, "record_event", fail)
    with pytest.raises(RuntimeError):
        service.accept_submission(session, submission_id=submission.id)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Initiative)) == count
    assert registry(session) == before
    assert session.get(Submission, submission.id).status == "pending_review"


def test_accept_refuses_a_record_changed_since_the_upload_and_applies_nothing(
    session: Session, campaign: Any, sen_ids: list[int]
) -> None:
    before = registry(session)
    first = before[sen_ids[0]].ref
    submission = submit(
        session, fill(template(session), edits={first: {"title": "Mine"}}, new_rows=[NEW_ROW])
    )
    current = before[sen_ids[0]]
    initiatives_service.update_initiatives(
        session, [(current.id, current.revision, record(title="Someone else's"))], user_id=None
    )
    moved = registry(session)
    with pytest.raises(Conflict, match="changed since revision"):
        service.accept_submission(session, submission_id=submission.id)
    assert registry(session) == moved
    assert submission.status == "pending_review"


def test_accept_runs_the_rules_again_only_if_the_reference_data_changed(
    session: Session, campaign: Any, sen_ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = registry(session)[sen_ids[0]].ref
    content = fill(template(session), edits={first: {"title": "Mine"}}, new_rows=[NEW_ROW])
    submission = submit(session, content)
    assert submission.change_set["checked_digest"]
    count = session.scalar(select(func.count()).select_from(Initiative))
    before = registry(session)

    # Domain D4 withdrawn since the upload: the new row may no longer be applied.
    load_snapshot = service.reference_service.load_snapshot
    monkeypatch.setattr(
        service.reference_service,
        "load_snapshot",
        lambda s: replace(load_snapshot(s), domains=load_snapshot(s).domains - {"D4"}),
    )
    with pytest.raises(InvalidInput) as raised:
        service.accept_submission(session, submission_id=submission.id)
    assert [issue["code"] for issue in raised.value.issues] == ["unknown_code"]
    assert session.scalar(select(func.count()).select_from(Initiative)) == count
    assert registry(session) == before

    # Unchanged reference data: what staging checked is applied without the rules.
    monkeypatch.setattr(service.reference_service, "load_snapshot", load_snapshot)

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the rules ran again")

    monkeypatch.setattr(initiatives_service, "check_record", fail)
    service.accept_submission(session, submission_id=submission.id)
    assert submission.status == "accepted"
    assert session.scalar(select(func.count()).select_from(Initiative)) == count + 1


def test_accept_runs_the_rules_again_after_a_release_changed_them(
    session: Session, campaign: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    submission = submit(session, fill(template(session), new_rows=[NEW_ROW]))
    # Another version of the rules' code was deployed between upload and review.
    monkeypatch.setattr(rules, "_rules_fingerprint", lambda: b"next release")
    calls: list[Any] = []
    check_record = initiatives_service.check_record

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return check_record(*args, **kwargs)

    monkeypatch.setattr(initiatives_service, "check_record", counted)
    service.accept_submission(session, submission_id=submission.id)
    assert submission.status == "accepted"
    assert len(calls) == 1


def test_return_with_comments(session: Session, campaign: Any) -> None:
    analyst = make_user(session, role="analyst")
    submission = submit(session, fill(template(session), new_rows=[NEW_ROW]))
    service.return_submission(
        session, submission_id=submission.id, comment="Add the budget source", user=analyst
    )
    assert (submission.status, submission.review_comment, submission.reviewed_by_id) == (
        "returned",
        "Add the budget source",
        analyst.id,
    )
    with pytest.raises(Conflict):
        service.accept_submission(session, submission_id=submission.id)
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "submission")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["submission.upload", "submission.return"]


def test_partner_users_reach_only_their_partner(session: Session, campaign: Any) -> None:
    focal = make_user(session, role="focal_point", partner_code="MLI")
    with pytest.raises(Forbidden):
        service.build_template(session, campaign_code="T2025", partner_code="SEN", user=focal)
    with pytest.raises(Forbidden):
        submit(session, b"x", user=focal)
    submission = submit(session, b"x")
    with pytest.raises(NotFound):
        service.get_submission(session, submission_id=submission.id, user=focal)


def test_a_partner_outside_the_campaign_has_no_template(session: Session) -> None:
    make_campaign(session, code="KP1", processes=("KP",))
    with pytest.raises(NotFound, match="not expected"):
        service.build_template(session, campaign_code="KP1", partner_code="SEN")


def test_progress_per_partner_and_process(session: Session) -> None:
    make_campaign(session, code="P1", closes_on=date(2030, 1, 1))

    def upload(partner: str, rows: list[dict[str, Any]]) -> Submission:
        content = fill(template(session, partner=partner, code="P1"), new_rows=rows)
        return submit(session, content, partner=partner, code="P1")

    upload("MLI", [{**NEW_ROW, "status": "??"}])
    upload("NER", [NEW_ROW])
    returned = upload("BFA", [NEW_ROW])
    service.return_submission(session, submission_id=returned.id, comment="incomplete")
    accepted = upload("SEN", [NEW_ROW])
    service.accept_submission(session, submission_id=accepted.id)

    progress = service.campaign_progress(session, code="P1", today=date(2029, 1, 1))
    states = {p.partner: p.state for p in progress.partners}
    assert (states["MLI"], states["NER"], states["BFA"], states["SEN"], states["FRA"]) == (
        "uploaded_with_errors",
        "submitted",
        "returned",
        "accepted",
        "not_started",
    )
    totals = progress.totals
    assert (totals.submitted, totals.returned, totals.accepted, totals.uploaded_with_errors) == (
        1,
        1,
        1,
        1,
    )
    assert totals.not_started == totals.expected - 4
    assert totals.on_time == 3 and totals.late == 0
    assert totals.submission_rate == round(3 / totals.expected, 4)
    rp = next(p for p in progress.processes if p.process == "RP")
    assert rp.accepted == 1 and rp.expected < totals.expected

    late = service.campaign_progress(session, code="P1", today=date(2030, 6, 1))
    assert late.totals.late == late.totals.expected - 3
    assert next(p for p in late.partners if p.partner == "SEN").on_time is True


def test_a_submission_after_the_closing_date_is_late(session: Session) -> None:
    make_campaign(session, code="P2", opens_on=date(2019, 1, 1), closes_on=date(2020, 1, 1))
    content = fill(template(session, code="P2"), new_rows=[NEW_ROW])
    submit(session, content, code="P2")
    sen = next(
        p for p in service.campaign_progress(session, code="P2").partners if p.partner == "SEN"
    )
    assert (sen.state, sen.on_time, sen.late) == ("submitted", False, True)


def test_budget_amounts_keep_their_precision(session: Session, campaign: Any) -> None:
    row = {**NEW_ROW, "budget": "1.234.567,89"}
    submission = submit(session, fill(template(session), new_rows=[row]))
    service.accept_submission(session, submission_id=submission.id)
    budget = session.scalar(select(Initiative.budget).where(Initiative.title == NEW_ROW["title"]))
    assert budget == Decimal("1234567.89")
