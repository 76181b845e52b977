"""Uploads, reviews and edits land in the audit log with the acting user and address."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jvap.campaigns.router import XLSX
from jvap.initiatives.models import format_ref
from tests.campaigns.workbooks import NEW_ROW, fill
from tests.factories import auth_headers, make_campaign, make_initiative, make_user

PASSWORD = "audit trail password"


def _audit(client: TestClient, admin: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/api/audit", params=filters, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _upload_api(client: TestClient, headers: dict[str, str], title: str) -> int:
    template = client.get("/api/campaigns/A2025/partners/SEN/template", headers=headers)
    assert template.status_code == 200, template.text
    content = fill(template.content, new_rows=[{**NEW_ROW, "title": title}])
    response = client.post(
        "/api/campaigns/A2025/partners/SEN/submissions",
        files={"file": ("q.xlsx", content, XLSX)},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_api_uploads_and_reviews_are_audited_with_the_acting_user(
    client: TestClient, session: Session
) -> None:
    make_campaign(session, code="A2025")
    focal = make_user(session, role="focal_point", partner_code="SEN")
    contributor = make_user(session, role="contributor", partner_code="SEN")
    analyst = make_user(session, role="analyst")
    admin = auth_headers(session, make_user(session, role="admin"))
    analyst_headers = auth_headers(session, analyst)

    accepted = _upload_api(client, auth_headers(session, focal), "First programme")
    response = client.post(f"/api/submissions/{accepted}/accept", headers=analyst_headers)
    assert response.status_code == 200, response.text
    returned = _upload_api(client, auth_headers(session, contributor), "Second programme")
    response = client.post(
        f"/api/submissions/{returned}/return",
        json={"comment": "Budget missing"},
        headers=analyst_headers,
    )
    assert response.status_code == 200, response.text

    trail = {
        (e["action"], e["object_id"]): e
        for e in _audit(client, admin, action="submission.", object_type="submission")
    }
    expected = {
        ("submission.upload", str(accepted)): focal.id,
        ("submission.accept", str(accepted)): analyst.id,
        ("submission.upload", str(returned)): contributor.id,
        ("submission.return", str(returned)): analyst.id,
    }
    assert {key: trail[key]["user_id"] for key in expected} == expected
    assert all(trail[key]["ip_address"] == "testclient" for key in expected)
    assert trail[("submission.return", str(returned))]["detail"]["comment"] == "Budget missing"
    # The focal point's own events can be found by user too.
    mine = _audit(client, admin, user_id=focal.id, action="submission.upload")
    assert [e["object_id"] for e in mine] == [str(accepted)]


def test_portal_uploads_and_reviews_are_audited_and_need_the_csrf_token(
    client: TestClient, session: Session
) -> None:
    make_campaign(session, code="A2025")
    focal = make_user(session, role="focal_point", partner_code="SEN", password=PASSWORD)
    analyst = make_user(session, role="analyst", password=PASSWORD)
    admin = auth_headers(session, make_user(session, role="admin"))
    template = client.get(
        "/api/campaigns/A2025/partners/SEN/template", headers=auth_headers(session, focal)
    ).content
    files = {"file": ("q.xlsx", fill(template, new_rows=[NEW_ROW]), XLSX)}

    login = client.post("/api/auth/login", json={"email": focal.email, "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    url = "/partners/SEN/campaigns/A2025/upload"
    refused = client.post(url, files=files, follow_redirects=False)
    assert refused.status_code == 403
    response = client.post(url, data={"csrf_token": csrf}, files=files, follow_redirects=False)
    assert response.status_code == 303, response.text
    submission_id = int(response.headers["location"].rsplit("/", 1)[1])

    client.cookies.clear()
    login = client.post("/api/auth/login", json={"email": analyst.email, "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    review = f"/submissions/{submission_id}/return"
    refused = client.post(review, data={"comment": "No"}, follow_redirects=False)
    assert refused.status_code == 403
    response = client.post(
        review, data={"comment": "Dates?", "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text

    trail = {
        e["action"]: e
        for e in _audit(client, admin, object_type="submission", object_id=str(submission_id))
    }
    assert trail["submission.upload"]["user_id"] == focal.id
    assert trail["submission.upload"]["detail"]["channel"] == "web"
    assert trail["submission.return"]["user_id"] == analyst.id
    assert set(trail) == {"submission.upload", "submission.return"}


def test_registry_edits_are_audited_with_the_acting_user(
    client: TestClient, session: Session
) -> None:
    analyst = make_user(session, role="analyst")
    admin = auth_headers(session, make_user(session, role="admin"))
    initiative = make_initiative(session, publication_status="pending")
    ref = format_ref(initiative.id)
    headers = auth_headers(session, analyst)
    response = client.patch(
        f"/api/initiatives/{ref}",
        json={"revision": initiative.revision, "title": "Renamed", "funders": ["European Union"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert client.post(f"/api/initiatives/{ref}/publish", headers=headers).status_code == 200
    trail = _audit(client, admin, object_type="initiative", object_id=ref)
    assert [(e["action"], e["user_id"]) for e in trail] == [
        ("initiative.publish", analyst.id),
        ("initiative.update", analyst.id),
    ]
