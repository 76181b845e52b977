"""Every route × every role: the expected status, and no route without an entry.

Adding a route means adding its row to MATRIX below, after deciding who may call it:
`test_every_route_has_an_entry` fails until then.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.routing import Route

from jvap.accounts import service as accounts_service
from jvap.app import create_app
from jvap.campaigns import service as campaigns_service
from jvap.campaigns.router import XLSX
from jvap.config import Settings
from jvap.db import get_session
from jvap.initiatives.models import format_ref
from tests.campaigns.workbooks import NEW_ROW, fill
from tests.databases import rolled_back_session
from tests.factories import (
    auth_headers,
    initiative_payload,
    make_campaign,
    make_initiative,
    make_user,
)

ROLES = (
    "anonymous",
    "admin",
    "analyst",
    "manager",
    "focal_point",  # of SEN
    "contributor",  # of SEN
    "other_focal_point",  # of MLI: reaches SEN's records only by guessing
)
PASSWORD = "matrix password 1"
# FastAPI's own documentation pages.
DOCS_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@dataclass
class World:
    """Records of partner SEN (and MLI) that the routes' path parameters point at."""

    users: dict[str, Any]
    headers: dict[str, dict[str, str]]
    params: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


Body = Callable[[World], Any]


@dataclass(frozen=True)
class Case:
    statuses: dict[str, int]
    # Path parameters come from World.params unless `url` builds the URL itself.
    url: Callable[[World], str] | None = None
    json: Body | None = None
    data: Body | None = None
    files: Body | None = None
    cookies: dict[str, str] | None = None
    query: dict[str, str] | None = None


def statuses(default: int, **per_role: int) -> dict[str, int]:
    unknown = set(per_role) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return {role: per_role.get(role, default) for role in ROLES}


def everyone(status: int, **overrides: int) -> dict[str, int]:
    """Public: the same answer whoever asks."""
    return statuses(status, **overrides)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return statuses(status, **{"anonymous": 401, **overrides})


def only(roles: tuple[str, ...], status: int, **overrides: int) -> dict[str, int]:
    """`roles` get `status`; other signed-in roles 403; anonymous 401."""
    return statuses(403, **{"anonymous": 401, **dict.fromkeys(roles, status), **overrides})


def page(roles: tuple[str, ...], status: int, **overrides: int) -> dict[str, int]:
    """A portal page: `roles` get `status`; other roles a 403 page; anonymous, sign in (303)."""
    return statuses(403, **{"anonymous": 303, **dict.fromkeys(roles, status), **overrides})


ADMIN = ("admin",)
USER_MANAGERS = ("admin", "focal_point", "other_focal_point")
STAFF = ("admin", "analyst")
WATCHERS = ("admin", "analyst", "manager")
# Who reads and uploads questionnaires; partner users for their own partner only.
REPORTERS = ("admin", "analyst", "focal_point", "contributor", "other_focal_point")
# Who opens a partner's portal pages (partner users their own partner's only).
PARTNER_PAGES = ("admin", "analyst", "focal_point", "contributor")


MATRIX: dict[tuple[str, str], Case] = {
    # Meta and public reference data (published facts, no personal data).
    ("GET", "/"): Case(everyone(303)),
    ("GET", "/api/health"): Case(everyone(200)),
    ("GET", "/api/reference/domains"): Case(everyone(200)),
    ("GET", "/api/reference/priorities"): Case(everyone(200)),
    ("GET", "/api/reference/partners"): Case(everyone(200)),
    ("GET", "/api/reference/processes"): Case(everyone(200)),
    ("GET", "/api/reference/regions"): Case(everyone(200)),
    ("GET", "/api/reference/countries"): Case(everyone(200)),
    # Sign-in: open to all, by definition.
    ("POST", "/api/auth/login"): Case(
        everyone(200), json=lambda w: {"email": w.users["focal_point"].email, "password": PASSWORD}
    ),
    ("POST", "/api/auth/login/form"): Case(
        everyone(303),
        data=lambda w: {
            "email": w.users["focal_point"].email,
            "password": PASSWORD,
            "csrf_token": "pre-session",
        },
        cookies={"jvap_csrf": "pre-session"},
    ),
    ("POST", "/api/auth/logout"): Case(everyone(204)),
    ("GET", "/api/auth/me"): Case(signed_in(200)),
    ("POST", "/api/auth/accept-invitation"): Case(
        everyone(200), json=lambda w: {"token": w.values["invitation"], "password": PASSWORD}
    ),
    # Users: admins all; focal points their partner's contributors; a guessed id is 404.
    ("GET", "/api/users"): Case(only(USER_MANAGERS, 200)),
    ("POST", "/api/users"): Case(
        only(ADMIN, 201),
        json=lambda w: {"email": "new@test.example", "name": "New", "role": "analyst"},
    ),
    ("POST", "/api/users/invitations"): Case(
        only(USER_MANAGERS, 201, other_focal_point=403),
        json=lambda w: {
            "email": "invited@test.example",
            "name": "Invited",
            "role": "contributor",
            "partner_code": "SEN",
        },
    ),
    ("GET", "/api/users/{user_id}"): Case(only(USER_MANAGERS, 200, other_focal_point=404)),
    ("POST", "/api/users/{user_id}/deactivate"): Case(
        only(USER_MANAGERS, 200, other_focal_point=404)
    ),
    ("POST", "/api/users/{user_id}/reactivate"): Case(
        only(USER_MANAGERS, 200, other_focal_point=404)
    ),
    # Tokens: one's own; an admin may revoke anyone's; someone else's id is 404.
    ("GET", "/api/tokens"): Case(signed_in(200)),
    ("POST", "/api/tokens"): Case(signed_in(201), json=lambda w: {"name": "matrix"}),
    ("DELETE", "/api/tokens/{token_id}"): Case(signed_in(404, admin=204)),
    # Audit log: admins only.
    ("GET", "/api/audit"): Case(only(ADMIN, 200)),
    # Campaigns: staff run them, managers follow progress, partners answer their own.
    ("GET", "/api/campaigns"): Case(signed_in(200)),
    ("POST", "/api/campaigns"): Case(
        only(STAFF, 201),
        json=lambda w: {
            "code": "M2099",
            "title": "Matrix",
            "opens": "2099-01-01",
            "closes": "2099-06-30",
            "processes": ["RP"],
        },
    ),
    ("GET", "/api/campaigns/{code}"): Case(signed_in(200)),
    ("POST", "/api/campaigns/{code}/open"): Case(
        only(STAFF, 200), url=lambda w: "/api/campaigns/M2031/open"
    ),
    ("POST", "/api/campaigns/{code}/close"): Case(only(STAFF, 200)),
    ("GET", "/api/campaigns/{code}/progress"): Case(only(WATCHERS, 200)),
    ("GET", "/api/campaigns/{code}/partners/{partner}/template"): Case(
        only(REPORTERS, 200, other_focal_point=403)
    ),
    # The same bytes as the pending submission: an idempotent 200.
    ("POST", "/api/campaigns/{code}/partners/{partner}/submissions"): Case(
        only(REPORTERS, 200, other_focal_point=403),
        files=lambda w: {"file": ("q.xlsx", w.values["upload"], XLSX)},
    ),
    ("GET", "/api/campaigns/{code}/submissions"): Case(only(REPORTERS, 200)),
    ("GET", "/api/submissions/{submission_id}"): Case(only(REPORTERS, 200, other_focal_point=404)),
    ("GET", "/api/submissions/{submission_id}/annotated.xlsx"): Case(
        only(REPORTERS, 200, other_focal_point=404)
    ),
    ("POST", "/api/submissions/{submission_id}/accept"): Case(only(STAFF, 200)),
    ("POST", "/api/submissions/{submission_id}/return"): Case(
        only(STAFF, 200), json=lambda w: {"comment": "Please check the budget"}
    ),
    # Initiatives: partners read their own, managers published ones, staff edit.
    ("GET", "/api/initiatives"): Case(signed_in(200)),
    ("POST", "/api/initiatives"): Case(only(STAFF, 201), json=lambda w: initiative_payload()),
    # A pending (unpublished) initiative of SEN: managers read published ones only.
    ("GET", "/api/initiatives/{ref}"): Case(
        signed_in(200, manager=404, other_focal_point=404),
        url=lambda w: f"/api/initiatives/{w.values['pending_ref']}",
    ),
    ("PATCH", "/api/initiatives/{ref}"): Case(
        only(STAFF, 200),
        json=lambda w: {
            "revision": w.values["revision"],
            "title": "Renamed",
            "funders": ["European Union"],
        },
    ),
    ("POST", "/api/initiatives/{ref}/publish"): Case(
        only(STAFF, 200), url=lambda w: f"/api/initiatives/{w.values['pending_ref']}/publish"
    ),
    ("GET", "/api/initiatives/{ref}/history"): Case(signed_in(200, other_focal_point=404)),
    # Summaries and reports cover every partner: staff and programme managers.
    ("GET", "/api/summaries/countries"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/regions"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/processes"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/domains"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/priorities"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/countries/{iso3}"): Case(only(WATCHERS, 200)),
    ("GET", "/api/summaries/processes/{code}"): Case(
        only(WATCHERS, 200), url=lambda w: "/api/summaries/processes/RP"
    ),
    ("GET", "/api/summaries/gaps"): Case(only(WATCHERS, 200)),
    ("GET", "/api/reports/summary"): Case(only(WATCHERS, 200)),
    ("GET", "/api/reports/initiatives"): Case(only(WATCHERS, 200)),
    ("GET", "/api/reports/progress"): Case(only(WATCHERS, 200), query={"campaign": "M2025"}),
    # Portal pages: anonymous visitors are sent to sign in (303); refusals are pages too.
    ("GET", "/login"): Case(everyone(303, anonymous=200)),
    ("GET", "/language/{lang}"): Case(everyone(303), url=lambda w: "/language/fr"),
    ("GET", "/accept-invitation"): Case(everyone(200), query={"token": "any"}),
    ("POST", "/accept-invitation"): Case(
        everyone(303),
        data=lambda w: {
            "token": w.values["invitation"],
            "password": PASSWORD,
            "csrf_token": "pre-session",
        },
        cookies={"jvap_csrf": "pre-session"},
    ),
    ("GET", "/partners/{partner}"): Case(page(PARTNER_PAGES, 200)),
    ("GET", "/partners/{partner}/campaigns/{code}"): Case(page(PARTNER_PAGES, 200)),
    ("GET", "/partners/{partner}/campaigns/{code}/questionnaire.xlsx"): Case(
        page(PARTNER_PAGES, 200)
    ),
    # The same bytes as the pending submission: back to its page.
    ("POST", "/partners/{partner}/campaigns/{code}/upload"): Case(
        page(PARTNER_PAGES, 303, anonymous=401),
        files=lambda w: {"file": ("q.xlsx", w.values["upload"], XLSX)},
    ),
    ("GET", "/submissions/{submission_id}"): Case(page(PARTNER_PAGES, 200, other_focal_point=404)),
    ("GET", "/submissions/{submission_id}/annotated.xlsx"): Case(
        page(PARTNER_PAGES, 200, other_focal_point=404)
    ),
    ("POST", "/submissions/{submission_id}/accept"): Case(page(STAFF, 303, anonymous=401)),
    ("POST", "/submissions/{submission_id}/return"): Case(
        page(STAFF, 303, anonymous=401), data=lambda w: {"comment": "Please check the budget"}
    ),
    ("GET", "/progress"): Case(page(STAFF, 200)),
    ("GET", "/initiatives"): Case(page(WATCHERS, 200)),
    ("GET", "/initiatives/{ref}"): Case(page(WATCHERS, 200)),
    ("GET", "/dashboard"): Case(page(WATCHERS, 200)),
}


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every API and page route (documentation pages and mounts excluded)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute | Route) or context.path in DOCS_PATHS:
            continue
        for method in sorted((context.methods or set()) - {"HEAD"}):
            yield method, context.path


def test_every_route_has_an_entry(app: FastAPI) -> None:
    routes = set(app_routes(app))
    missing = sorted(routes - MATRIX.keys())
    assert not missing, (
        "routes without an access-matrix entry in tests/test_access_matrix.py "
        "(decide who may call them and add a row): "
        + ", ".join(f"{method} {path}" for method, path in missing)
    )
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, "matrix entries for routes that no longer exist: " + ", ".join(
        f"{method} {path}" for method, path in stale
    )


@pytest.fixture(scope="module")
def matrix_session(engine: Engine) -> Iterator[Session]:
    """One transaction for the whole module, so the world is built once; rolled back after."""
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture(scope="module")
def matrix_client(matrix_session: Session, database_url: str) -> Iterator[TestClient]:
    application = create_app(
        Settings(database_url=database_url, secret_key="matrix-secret-key-0123456789abcdefgh")
    )

    def test_session() -> Iterator[Session]:
        with matrix_session.begin_nested():
            yield matrix_session

    application.dependency_overrides[get_session] = test_session
    with TestClient(application) as client:
        yield client
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def world(matrix_session: Session) -> World:
    session = matrix_session
    users = {
        "admin": make_user(session, role="admin"),
        "analyst": make_user(session, role="analyst"),
        "manager": make_user(session, role="manager"),
        "focal_point": make_user(
            session, role="focal_point", partner_code="SEN", password=PASSWORD
        ),
        "contributor": make_user(session, role="contributor", partner_code="SEN"),
        "other_focal_point": make_user(session, role="focal_point", partner_code="MLI"),
    }
    headers = {role: auth_headers(session, user) for role, user in users.items()}
    headers["anonymous"] = {}
    target = make_user(session, role="contributor", partner_code="SEN")
    token, _ = accounts_service.issue_token(session, user=target)
    admin = users["admin"]
    _, _, invitation = accounts_service.invite_user(
        session, actor=admin, email="pending@test.example", name="Pending", role="manager"
    )
    session.flush()
    campaign_params, upload = _campaign_world(session)
    published = make_initiative(session, partner_code="SEN")
    pending = make_initiative(session, partner_code="SEN", publication_status="pending")
    return World(
        users=users,
        headers=headers,
        params={
            "user_id": target.id,
            "token_id": token.id,
            "ref": format_ref(published.id),
            "iso3": "SEN",
            **campaign_params,
        },
        values={
            "invitation": invitation,
            "upload": upload,
            "pending_ref": format_ref(pending.id),
            "revision": published.revision,
        },
    )


def _campaign_world(session: Session) -> tuple[dict[str, Any], bytes]:
    """An open campaign with a pending submission of SEN, and a draft campaign."""
    make_campaign(session, code="M2025")
    make_campaign(session, code="M2031", status="draft")
    _name, template = campaigns_service.build_template(
        session, campaign_code="M2025", partner_code="SEN"
    )
    upload = fill(template, new_rows=[NEW_ROW])
    submission, _created = campaigns_service.receive_submission(
        session,
        campaign_code="M2025",
        partner_code="SEN",
        filename="q.xlsx",
        content=upload,
        max_uncompressed=10**8,
    )
    assert submission.status == "pending_review", submission.report
    return {"code": "M2025", "partner": "SEN", "submission_id": submission.id}, upload


def _call(client: TestClient, method: str, path: str, case: Case, world: World, role: str) -> int:
    url = case.url(world) if case.url else path.format(**world.params)
    client.cookies.clear()
    for name, value in (case.cookies or {}).items():
        client.cookies.set(name, value)
    response = client.request(
        method,
        url,
        headers=world.headers[role],
        params=case.query,
        json=case.json(world) if case.json else None,
        data=case.data(world) if case.data else None,
        files=case.files(world) if case.files else None,
        follow_redirects=False,
    )
    return response.status_code


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda v: v)
def test_route_answers_each_role_as_expected(
    matrix_client: TestClient, matrix_session: Session, world: World, method: str, path: str
) -> None:
    client, session = matrix_client, matrix_session
    case = MATRIX[(method, path)]
    actual = {}
    for role in ROLES:
        # Each role starts from the same state: what one call changes is rolled back.
        savepoint = session.begin_nested()
        try:
            actual[role] = _call(client, method, path, case, world, role)
        finally:
            savepoint.rollback()
    wrong = {
        role: f"expected {case.statuses[role]}, got {actual[role]}"
        for role in ROLES
        if actual[role] != case.statuses[role]
    }
    assert not wrong, f"{method} {path}: {wrong}"


def test_listings_show_partner_users_only_their_own_partner(
    matrix_client: TestClient, world: World
) -> None:
    def get(role: str, url: str, **params: str) -> Any:
        response = matrix_client.get(url, headers=world.headers[role], params=params)
        return response.status_code, response.json()

    submissions = "/api/campaigns/M2025/submissions"
    own = world.params["submission_id"]
    for role in ("admin", "analyst", "focal_point", "contributor"):
        status, body = get(role, submissions)
        assert status == 200 and own in [s["id"] for s in body], role
    assert get("other_focal_point", submissions) == (200, [])
    assert get("other_focal_point", submissions, partner="SEN")[0] == 403

    def partners(role: str) -> set[str]:
        status, body = get(role, "/api/initiatives", size="200")
        assert status == 200, body
        return {i["partner_code"] for i in body["items"]}

    assert partners("focal_point") == {"SEN"} and partners("contributor") == {"SEN"}
    assert "SEN" not in partners("other_focal_point")
    assert "SEN" in partners("analyst")
    pending = world.values["pending_ref"]
    _, body = get("manager", "/api/initiatives", size="200")
    assert pending not in {i["ref"] for i in body["items"]}
    _, body = get("focal_point", "/api/initiatives", size="200")
    assert pending in {i["ref"] for i in body["items"]}

    _, body = get("other_focal_point", "/api/users")
    assert {u["partner_code"] for u in body} == {"MLI"}
