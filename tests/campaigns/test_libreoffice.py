"""Templates re-saved by LibreOffice (xlsx, ods, xls) still parse and apply exactly."""

import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jvap.campaigns import service
from jvap.campaigns.issues import issue_records
from jvap.campaigns.models import Submission
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.rules import diff_records
from tests.campaigns.workbooks import NEW_ROW, fill, record
from tests.factories import make_campaign

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SOFFICE is None,
        reason="LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc",
    ),
]


def resave(content: bytes, tmp_path: Path, fmt: str) -> bytes:
    """`content` opened and saved again by LibreOffice as `fmt`."""
    source = tmp_path / "questionnaire.xlsx"
    source.write_bytes(content)
    out = tmp_path / fmt
    # A profile of its own, so that parallel runs and a desktop LibreOffice do not collide.
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (out / f"questionnaire.{fmt}").read_bytes()


def upload(session: Session, content: bytes, fmt: str) -> Submission:
    submission, _created = service.receive_submission(
        session,
        campaign_code="LO25",
        partner_code="SEN",
        filename=f"questionnaire.{fmt}",
        content=content,
        max_uncompressed=10**8,
    )
    return submission


@pytest.fixture
def filled(session: Session) -> tuple[bytes, list[int], dict[int, Any]]:
    make_campaign(session, code="LO25")
    ids = initiatives_service.create_initiatives(
        session, [("SEN", record()), ("SEN", record(title="Second"))], user_id=None, publish=True
    )
    before = initiatives_service.load_records(session, partner_code="SEN")
    _name, template = service.build_template(
        session, campaign_code="LO25", partner_code="SEN", lang="fr"
    )
    content = fill(
        template,
        edits={before[ids[0]].ref: {"status": "Achevé", "end_date": date(2023, 6, 30)}},
        new_rows=[NEW_ROW],
    )
    return content, ids, before


@pytest.mark.parametrize("fmt", ["xlsx", "ods", "xls"])
def test_a_template_resaved_by_libreoffice_round_trips(
    session: Session, tmp_path: Path, filled: tuple[bytes, list[int], dict[int, Any]], fmt: str
) -> None:
    content, ids, before = filled
    resaved = resave(content, tmp_path, fmt)
    submission = upload(session, resaved, fmt)
    assert submission.report["format"] == fmt
    assert submission.report["metadata"]["partner"] == "SEN"
    assert submission.status == "pending_review", submission.report["issues"]
    assert submission.report["summary"] | {"warnings": 0} == {
        "rows": 3,
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "conflicting": 0,
        "not_reported": 0,
        "errors": 0,
        "warnings": 0,
    }
    service.accept_submission(session, submission_id=submission.id)
    after = initiatives_service.load_records(session, partner_code="SEN")
    assert diff_records(before[ids[0]].record, after[ids[0]].record) == {
        "status": ("ongoing", "completed"),
        "end_date": (date(2022, 12, 31), date(2023, 6, 30)),
    }
    assert after[ids[1]] == before[ids[1]]
    [new_id] = set(after) - set(before)
    assert after[new_id].record.title == NEW_ROW["title"]
    assert after[new_id].record.budget == 250000

    annotated = service.annotated_workbook(session, submission=submission)[1]
    assert annotated.startswith(b"PK")


def test_a_formula_in_an_xls_file_is_flagged_at_its_cell(
    session: Session, tmp_path: Path, filled: tuple[bytes, list[int], dict[int, Any]]
) -> None:
    content, _ids, before = filled
    ref = next(iter(before.values())).ref
    with_formula = fill(content, edits={ref: {"budget": "=1000*2"}})
    resaved = resave(with_formula, tmp_path, "xls")
    submission = upload(session, resaved, "xls")
    assert submission.status == "invalid"
    flagged = [i for i in issue_records(submission.report["issues"]) if i["code"] == "formula_cell"]
    assert [(i["sheet"], i["column"], i["field"]) for i in flagged] == [
        ("Initiatives", "M", "budget")
    ]
