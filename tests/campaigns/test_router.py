"""Campaign HTTP routes: template download, upload answers (201/422/413/409), review."""

import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jvap.campaigns.models import Submission
from jvap.campaigns.router import XLSX
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import Initiative
from tests.campaigns.workbooks import NEW_ROW, fill, record
from tests.factories import auth_headers, make_campaign, make_user

TEMPLATE = "/api/campaigns/T2025/partners/SEN/template"
UPLOAD = "/api/campaigns/T2025/partners/SEN/submissions"


@pytest.fixture
def headers(session: Session) -> dict[str, dict[str, str]]:
    make_campaign(session, code="T2025")
    initiatives_service.create_initiatives(session, [("SEN", record())], user_id=None)
    return {
        role: auth_headers(session, make_user(session, role=role, partner_code=partner))
        for role, partner in (
            ("analyst", None),
            ("manager", None),
            ("focal_point", "SEN"),
        )
    } | {"other": auth_headers(session, make_user(session, role="focal_point", partner_code="MLI"))}


def download(client: TestClient, headers: dict[str, str], lang: str = "en") -> bytes:
    response = client.get(TEMPLATE, headers=headers, params={"lang": lang})
    assert response.status_code == 200, response.text
    return response.content


def upload(
    client: TestClient, headers: dict[str, str], content: bytes, name: str = "q.xlsx"
) -> Any:
    return client.post(UPLOAD, headers=headers, files={"file": (name, content, XLSX)})


def test_template_download(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    response = client.get(TEMPLATE, headers=headers["focal_point"], params={"lang": "fr"})
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert 'filename="jvap-T2025-SEN-fr.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "Mode d'emploi"
    assert book["Initiatives"]["A3"].value.startswith("JV-")


def test_template_of_another_partner_is_forbidden(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    response = client.get(TEMPLATE, headers=headers["other"])
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert client.get(TEMPLATE, headers=headers["manager"]).status_code == 403


def test_a_clean_upload_is_201_and_waits_for_review(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(download(client, headers["focal_point"]), new_rows=[NEW_ROW])
    response = upload(client, headers["focal_point"], content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending_review"
    assert body["summary"]["new"] == 1 and body["summary"]["unchanged"] == 1
    assert body["summary"]["errors"] == 0
    assert response.headers["location"] == f"/api/submissions/{body['id']}"
    again = upload(client, headers["focal_point"], content)
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["duplicate"]) == (body["id"], True)


def test_an_upload_with_errors_is_422_with_every_issue_and_is_kept(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(
        download(client, headers["focal_point"]),
        new_rows=[{**NEW_ROW, "status": "ongoin", "start_date": "12/25/2019"}],
    )
    response = client.post(
        UPLOAD,
        headers=headers["focal_point"],
        params={"lang": "fr"},
        files={"file": ("q.xlsx", content, XLSX)},
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "detail", "issues"}
    assert body["error"] == "invalid_upload"
    located = {(i["code"], i["row"], i["column"], i["suggestion"]) for i in body["issues"]}
    assert ("unknown_code", 4, "F", "ongoing") in located
    assert ("month_day_swapped", 4, "G", "2019-12-25") in located
    assert all(i["message"] == i["message_fr"] for i in body["issues"])
    submission_id = int(response.headers["location"].rsplit("/", 1)[1])

    stored = client.get(f"/api/submissions/{submission_id}", headers=headers["focal_point"])
    assert stored.status_code == 200
    assert stored.json()["status"] == "invalid"
    assert session.get(Submission, submission_id).raw == content
    assert session.scalar(select(func.count()).select_from(Initiative)) == 1


def test_annotated_workbook_marks_the_cells_and_lists_the_issues(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(download(client, headers["focal_point"]), new_rows=[{**NEW_ROW, "status": "x"}])
    location = upload(client, headers["focal_point"], content).headers["location"]
    response = client.get(f"{location}/annotated.xlsx", headers=headers["focal_point"])
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "Issues"
    cell = book["Initiatives"]["F4"]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "not a valid code" in cell.comment.text
    rows = list(book["Issues"].iter_rows(min_row=2, values_only=True))
    assert ("error", "Initiatives", "F4", "status", "unknown_code") in [r[:5] for r in rows]
    assert book["Initiatives"]["D3"].value  # the partner's own content is still there


def test_a_non_spreadsheet_gets_an_annotated_issues_workbook(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    response = upload(client, headers["focal_point"], b"name;title\nx;y\n", name="q.csv")
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["issues"]] == ["not_a_spreadsheet"]
    location = response.headers["location"]
    annotated = client.get(f"{location}/annotated.xlsx", headers=headers["focal_point"])
    book = openpyxl.load_workbook(io.BytesIO(annotated.content))
    assert book.sheetnames == ["Issues"]


def test_an_upload_over_the_size_limit_is_413_and_not_stored(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]]
) -> None:
    content = b"PK\x03\x04" + b"\0" * (11 * 1024 * 1024)
    response = upload(client, headers["focal_point"], content)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "10 MiB" in response.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_closed_campaign_refuses_uploads_with_409(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(download(client, headers["focal_point"]), new_rows=[NEW_ROW])
    client.post("/api/campaigns/T2025/close", headers=headers["analyst"])
    response = upload(client, headers["focal_point"], content)
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_uploading_for_another_partner_is_forbidden(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(download(client, headers["focal_point"]), new_rows=[NEW_ROW])
    assert upload(client, headers["other"], content).status_code == 403


def test_a_guessed_submission_id_of_another_partner_is_404(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    content = fill(download(client, headers["focal_point"]), new_rows=[NEW_ROW])
    submission_id = upload(client, headers["focal_point"], content).json()["id"]
    for path in ("", "/annotated.xlsx"):
        response = client.get(f"/api/submissions/{submission_id}{path}", headers=headers["other"])
        assert response.status_code == 404
    assert client.get("/api/submissions/999999", headers=headers["analyst"]).status_code == 404


def test_accept_and_return(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]]
) -> None:
    template = download(client, headers["focal_point"])
    first = upload(client, headers["focal_point"], fill(template, new_rows=[NEW_ROW])).json()
    denied = client.post(f"/api/submissions/{first['id']}/accept", headers=headers["focal_point"])
    assert denied.status_code == 403
    returned = client.post(
        f"/api/submissions/{first['id']}/return",
        headers=headers["analyst"],
        json={"comment": "Please add the implementers"},
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    assert returned.json()["review_comment"] == "Please add the implementers"

    row = {**NEW_ROW, "implementers": "IOM; GIZ"}
    second = upload(client, headers["focal_point"], fill(template, new_rows=[row])).json()
    accepted = client.post(f"/api/submissions/{second['id']}/accept", headers=headers["analyst"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert session.scalar(select(func.count()).select_from(Initiative)) == 2
    again = client.post(f"/api/submissions/{second['id']}/accept", headers=headers["analyst"])
    assert again.status_code == 409


def test_campaign_routes_and_progress(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    created = client.post(
        "/api/campaigns",
        headers=headers["analyst"],
        json={
            "code": "2031",
            "title": "Cycle 2031",
            "opens": "2031-03-01",
            "closes": "2031-09-30",
            "processes": ["KP"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["partners"] > 0
    assert client.post("/api/campaigns/2031/open", headers=headers["analyst"]).json()["status"] == (
        "open"
    )
    assert [c["code"] for c in client.get("/api/campaigns", headers=headers["manager"]).json()] == [
        "T2025",
        "2031",
    ]
    progress = client.get("/api/campaigns/T2025/progress", headers=headers["manager"])
    assert progress.status_code == 200
    body = progress.json()
    assert body["totals"]["expected"] == len(body["partners"])
    assert {p["process"] for p in body["processes"]} == {"RP", "KP"}
    assert client.get(
        "/api/campaigns/T2025/progress", headers=headers["focal_point"]
    ).status_code == (403)
    assert body["closes_on"] == date(2026, 12, 31).isoformat()


def test_a_nul_character_in_a_cell_is_an_error_and_its_report_is_kept(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    # Excel writes a control character as _xHHHH_; the reader turns it back into one.
    content = fill(
        download(client, headers["focal_point"]),
        new_rows=[{**NEW_ROW, "title": "Border_x0000_ management"}],
    )
    response = upload(client, headers["focal_point"], content)
    assert response.status_code == 422, response.text
    located = {(i["code"], i["row"], i["column"]) for i in response.json()["issues"]}
    assert ("invalid_character", 4, "D") in located
    location = response.headers["location"]
    stored = client.get(location, headers=headers["focal_point"])
    assert stored.status_code == 200
    quoted = [i["value"] for i in stored.json()["issues"] if i["code"] == "invalid_character"]
    assert quoted == ["Border\x00 management"]
    annotated = client.get(f"{location}/annotated.xlsx", headers=headers["focal_point"])
    assert annotated.status_code == 200
    # A worksheet cannot hold the character itself: the annotated file shows its symbol.
    rows = openpyxl.load_workbook(io.BytesIO(annotated.content))["Issues"].iter_rows(
        min_row=2, values_only=True
    )
    assert ("D4", "invalid_character", "Border\u2400 management") in [
        (row[2], row[4], row[6]) for row in rows
    ]
