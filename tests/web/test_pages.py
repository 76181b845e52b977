"""Portal pages through the app: who sees which page, in English and French, and the flows."""

import html
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jvap.accounts import service as accounts_service
from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.initiatives.models import Initiative
from tests.campaigns.workbooks import NEW_ROW, fill
from tests.factories import make_campaign, make_initiative, make_user

PASSWORD = "portal password 1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLES = ("admin", "analyst", "manager", "focal_point", "contributor", "other_focal_point")


@dataclass
class World:
    users: dict[str, User]
    campaign: str
    submission_id: int
    initiative: Initiative


def sign_in(client: TestClient, user: User) -> str:
    """Sign in through the sign-in page as a browser does; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/api/auth/login/form",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/", follow_redirects=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert found is not None
    return found.group(1)


def upload(
    client: TestClient, csrf: str, content: bytes, *, partner: str = "SEN", campaign: str = "T2025"
) -> Any:
    return client.post(
        f"/partners/{partner}/campaigns/{campaign}/upload",
        data={"csrf_token": csrf},
        files={"file": ("answers.xlsx", content, XLSX)},
        follow_redirects=False,
    )


@pytest.fixture
def world(session: Session) -> World:
    users = {
        "admin": make_user(session, role="admin", password=PASSWORD),
        "analyst": make_user(session, role="analyst", password=PASSWORD),
        "manager": make_user(session, role="manager", password=PASSWORD),
        "focal_point": make_user(
            session, role="focal_point", partner_code="SEN", password=PASSWORD
        ),
        "contributor": make_user(
            session, role="contributor", partner_code="SEN", password=PASSWORD
        ),
        "other_focal_point": make_user(
            session, role="focal_point", partner_code="MLI", password=PASSWORD
        ),
    }
    campaign = make_campaign(session)
    # A policy: complete without budget and funders, so the re-uploaded template is valid.
    initiative = make_initiative(
        session,
        kind="policy",
        title="Youth employment programme",
        end_date=None,
        budget=None,
        currency=None,
    )
    _, template = campaigns_service.build_template(
        session, campaign_code=campaign.code, partner_code="SEN"
    )
    submission, _ = campaigns_service.receive_submission(
        session,
        campaign_code=campaign.code,
        partner_code="SEN",
        filename="answers.xlsx",
        content=fill(template, new_rows=[{**NEW_ROW, "end_date": "not a date"}]),
        user=users["focal_point"],
        max_uncompressed=50_000_000,
    )
    session.flush()
    return World(
        users=users, campaign=campaign.code, submission_id=submission.id, initiative=initiative
    )


PAGES: dict[str, dict[str, int]] = {
    # path template -> status per role (admin, analyst, manager, focal, contributor, other focal)
    "/partners/SEN": dict(zip(ROLES, (200, 200, 403, 200, 200, 403), strict=True)),
    "/partners/SEN/campaigns/{campaign}": dict(
        zip(ROLES, (200, 200, 403, 200, 200, 403), strict=True)
    ),
    "/partners/SEN/campaigns/{campaign}/questionnaire.xlsx": dict(
        zip(ROLES, (200, 200, 403, 200, 200, 403), strict=True)
    ),
    "/submissions/{submission}": dict(zip(ROLES, (200, 200, 403, 200, 200, 404), strict=True)),
    "/submissions/{submission}/annotated.xlsx": dict(
        zip(ROLES, (200, 200, 403, 200, 200, 404), strict=True)
    ),
    "/progress": dict(zip(ROLES, (200, 200, 403, 403, 403, 403), strict=True)),
    "/initiatives": dict(zip(ROLES, (200, 200, 200, 403, 403, 403), strict=True)),
    "/initiatives/{ref}": dict(zip(ROLES, (200, 200, 200, 403, 403, 403), strict=True)),
    "/dashboard": dict(zip(ROLES, (200, 200, 200, 403, 403, 403), strict=True)),
}


def _url(template: str, world: World) -> str:
    return template.format(
        campaign=world.campaign, submission=world.submission_id, ref=world.initiative.ref
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_in_both_languages(
    client: TestClient, world: World, role: str
) -> None:
    sign_in(client, world.users[role])
    wrong = {}
    for lang, sign_out in (("en", "Sign out"), ("fr", "Se déconnecter")):
        client.get(f"/language/{lang}")
        for template, statuses in PAGES.items():
            response = client.get(_url(template, world), follow_redirects=False)
            if response.status_code != statuses[role]:
                wrong[(lang, template)] = response.status_code
            elif response.headers["content-type"].startswith("text/html"):
                assert f'<html lang="{lang}">' in response.text
                assert sign_out in response.text
    assert not wrong, f"{role}: {wrong}"


def test_anonymous_visitors_are_sent_to_sign_in_and_brought_back(
    client: TestClient, world: World
) -> None:
    for template in PAGES:
        url = _url(template, world)
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/login?next=%2F"
    focal = world.users["focal_point"]
    page = client.get("/login?next=/partners/SEN/campaigns/T2025")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    assert 'name="next" value="/partners/SEN/campaigns/T2025"' in page.text
    response = client.post(
        "/api/auth/login/form",
        data={
            "email": focal.email,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/partners/SEN/campaigns/T2025",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/partners/SEN/campaigns/T2025"


def test_a_failed_sign_in_says_so_in_the_visitors_language(client: TestClient) -> None:
    page = client.get("/login?error=invalid", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text
    assert "L'adresse électronique ou le mot de passe est incorrect." in html.unescape(page.text)
    assert "jvap_csrf" in page.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("focal_point", "/partners/SEN"),
        ("contributor", "/partners/SEN"),
        ("analyst", "/progress"),
        ("admin", "/progress"),
        ("manager", "/dashboard"),
    ],
)
def test_each_role_starts_on_its_own_page(
    client: TestClient, world: World, role: str, home: str
) -> None:
    sign_in(client, world.users[role])
    assert client.get("/", follow_redirects=False).headers["location"] == home


def test_the_language_choice_is_remembered_over_the_accounts_language(
    client: TestClient, session: Session, world: World
) -> None:
    user = world.users["analyst"]
    user.language = "fr"
    session.flush()
    sign_in(client, user)
    assert '<html lang="fr">' in client.get("/dashboard").text
    switched = client.get("/language/en?next=/dashboard", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/dashboard"
    assert "jvap_lang=en" in switched.headers["set-cookie"]
    for _ in range(2):
        assert '<html lang="en">' in client.get("/dashboard").text
    # The link to the other language keeps the page the visitor is on.
    assert 'href="/language/fr?next=%2Fdashboard"' in client.get("/dashboard").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil", None])
def test_the_language_switch_never_leaves_the_site(client: TestClient, target: str | None) -> None:
    query = {"next": target} if target is not None else {}
    response = client.get("/language/fr", params=query, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_a_focal_point_cannot_reach_another_partners_pages(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, world.users["other_focal_point"])
    assert client.get("/partners/SEN").status_code == 403
    assert client.get(f"/partners/SEN/campaigns/{world.campaign}").status_code == 403
    download = client.get(f"/partners/SEN/campaigns/{world.campaign}/questionnaire.xlsx")
    assert download.status_code == 403
    refused = upload(client, csrf, b"anything")
    assert refused.status_code == 403
    assert "You do not have access to this page." in refused.text
    # A guessed submission id of another partner looks like one that does not exist.
    guessed = client.get(f"/submissions/{world.submission_id}")
    assert guessed.status_code == 404
    assert "This page does not exist." in guessed.text
    assert client.get("/submissions/999999").status_code == 404
    # Its own partner's pages work.
    assert client.get("/partners/MLI").status_code == 200


def test_the_result_page_groups_issues_by_row_with_column_and_message(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.users["focal_point"])
    client.get("/language/en")
    page = client.get(f"/submissions/{world.submission_id}")
    assert page.status_code == 200
    text = page.text
    assert "Has errors" in text
    # The appended row of the template: row, column letter and message are all shown.
    row = re.search(r"Row (\d+)", text)
    assert row is not None and int(row.group(1)) >= 3
    assert re.search(r"<td>[A-Z]{1,2}</td>\s*<td>End date</td>", text)
    assert "Border management training" in text
    assert f'href="/submissions/{world.submission_id}/annotated.xlsx"' in text
    annotated = client.get(f"/submissions/{world.submission_id}/annotated.xlsx")
    assert annotated.headers["content-type"] == XLSX
    assert annotated.content[:2] == b"PK"
    # No review buttons for the partner.
    assert "/accept" not in text


def test_upload_accept_and_dashboard_through_the_pages(
    client: TestClient, session: Session, world: World
) -> None:
    analyst = world.users["analyst"]
    sign_in(client, analyst)
    before = client.get("/dashboard").text
    total_before = int(re.sub(r"\D", "", _stat(before, "total-initiatives")))

    csrf = sign_in(client, world.users["focal_point"])
    client.get("/language/en")
    template = client.get(f"/partners/SEN/campaigns/{world.campaign}/questionnaire.xlsx")
    assert template.status_code == 200
    assert "attachment" in template.headers["content-disposition"]
    response = upload(client, csrf, fill(template.content, new_rows=[NEW_ROW]))
    assert response.status_code == 303
    result = client.get(response.headers["location"])
    assert "Waiting for review" in result.text
    assert "Submitted. The follow-up team will review it." in result.text
    assert "Border management training" in result.text
    submission_id = int(response.headers["location"].rsplit("/", 1)[1])
    history = client.get(f"/partners/SEN/campaigns/{world.campaign}").text
    assert f"/submissions/{submission_id}" in history

    csrf = sign_in(client, analyst)
    client.get("/language/en")
    board = client.get("/progress").text
    assert 'id="partner-SEN"' in board
    review = client.get(f"/submissions/{submission_id}").text
    assert f'action="/submissions/{submission_id}/accept"' in review
    accepted = client.post(
        f"/submissions/{submission_id}/accept",
        data={"csrf_token": csrf},
        follow_redirects=True,
    )
    assert accepted.status_code == 200
    assert "Accepted: the registry is updated." in accepted.text

    after = client.get("/dashboard").text
    assert int(re.sub(r"\D", "", _stat(after, "total-initiatives"))) == total_before + 1


def _stat(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert found is not None, element_id
    return found.group(1)


def test_return_with_a_comment_shows_in_the_partners_history(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, world.users["focal_point"])
    template = client.get(f"/partners/SEN/campaigns/{world.campaign}/questionnaire.xlsx").content
    response = upload(client, csrf, fill(template, new_rows=[NEW_ROW]))
    submission_id = int(response.headers["location"].rsplit("/", 1)[1])
    csrf = sign_in(client, world.users["analyst"])
    returned = client.post(
        f"/submissions/{submission_id}/return",
        data={"csrf_token": csrf, "comment": "Please add the budget source."},
        follow_redirects=True,
    )
    assert "Returned to the partner." in returned.text
    sign_in(client, world.users["focal_point"])
    client.get("/language/en")
    history = client.get(f"/partners/SEN/campaigns/{world.campaign}").text
    assert "Please add the budget source." in history


def test_forms_need_the_csrf_token(client: TestClient, world: World) -> None:
    sign_in(client, world.users["analyst"])
    response = client.post(f"/submissions/{world.submission_id}/accept", follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_accepting_a_submission_with_errors_is_refused_on_a_page(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, world.users["analyst"])
    response = client.post(f"/submissions/{world.submission_id}/accept", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert "<html" in response.text
    assert "only a submission waiting for review" in response.text


def test_an_upload_to_a_closed_campaign_is_explained_beside_the_form(
    client: TestClient, session: Session, world: World
) -> None:
    make_campaign(session, code="OLD", status="closed")
    csrf = sign_in(client, world.users["focal_point"])
    client.get("/language/en")
    page = client.get("/partners/SEN/campaigns/OLD").text
    assert "This campaign is not open" in page
    response = upload(client, csrf, b"PK", campaign="OLD")
    assert response.status_code == 409
    assert "uploads are no longer accepted" in response.text


def test_a_file_that_is_not_a_workbook_is_kept_and_reported(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, world.users["focal_point"])
    response = upload(client, csrf, b"this is not a spreadsheet")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert 'class="issue-row' in page.text


def test_initiative_search_and_detail_with_history(client: TestClient, world: World) -> None:
    sign_in(client, world.users["analyst"])
    client.get("/language/en")
    found = client.get("/initiatives", params={"q": "youth employment", "domain": "D1"}).text
    assert f'href="/initiatives/{world.initiative.ref}"' in found
    none = client.get("/initiatives", params={"q": "no such words anywhere"}).text
    assert "No initiative matches." in none
    detail = client.get(f"/initiatives/{world.initiative.ref}").text
    assert "Youth employment programme" in detail
    assert 'id="history"' in detail


def test_text_from_partners_is_escaped(client: TestClient, session: Session, world: World) -> None:
    initiative = make_initiative(session, title="<script>alert(1)</script>")
    sign_in(client, world.users["analyst"])
    page = client.get(f"/initiatives/{initiative.ref}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_dashboard_has_every_chart_with_a_data_table(client: TestClient, world: World) -> None:
    sign_in(client, world.users["manager"])
    client.get("/language/fr")
    page = client.get("/dashboard").text
    assert page.count("<svg") == 6
    assert page.count("<table>") == 6
    for title in (
        "Initiatives par domaine",
        "Initiatives par processus",
        "Initiatives par région",
        "Budget par domaine (EUR)",
        "Initiatives lancées par année",
        "Campagne T2025 : réponses",
    ):
        assert title in page


def test_static_files_are_served_by_jvap(client: TestClient) -> None:
    response = client.get("/login")
    # Only jvap's own files may load in the pages.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for asset in re.findall(r'(?:href|src)="(/static/[^"?]+)', page):
        response = client.get(asset)
        assert response.status_code == 200, asset
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page


def test_an_invitation_link_leads_to_choosing_a_password(
    client: TestClient, session: Session, world: World
) -> None:
    _, _, token = accounts_service.invite_user(
        session,
        actor=world.users["admin"],
        email="invited@test.example",
        name="Invited",
        role="manager",
    )
    page = client.get("/accept-invitation", params={"token": token})
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"token": token, "csrf_token": csrf.group(1)}
    short = client.post("/accept-invitation", data={**form, "password": "short"})
    assert short.status_code == 422
    assert 'id="password-problem"' in short.text
    forged = client.post(
        "/accept-invitation", data={**form, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    done = client.post(
        "/accept-invitation", data={**form, "password": PASSWORD}, follow_redirects=False
    )
    assert done.headers["location"] == "/login?notice=password_set"
    assert "Your password is set" in client.get(done.headers["location"]).text
    used = client.post("/accept-invitation", data={**form, "password": PASSWORD})
    assert used.status_code == 404
    invited = accounts_service.get_user_by_email(session, "invited@test.example")
    sign_in(client, invited)
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
