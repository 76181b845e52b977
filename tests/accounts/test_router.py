"""HTTP sign-in, sessions and CSRF, invitations, users, tokens and the audit log."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from jvap.accounts import lockout
from jvap.accounts.models import ApiToken, AuditEvent, SignInAttempt, User
from jvap.app import create_app
from jvap.config import Settings
from jvap.db import upgrade_database
from tests.factories import auth_headers, make_user

PASSWORD = "correct horse battery"


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


# Sign-in and sessions


def test_sign_in_sets_an_httponly_samesite_session_cookie(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, role="focal_point", password=PASSWORD)
    response = client.post(
        "/api/auth/login", json={"email": user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == user.email and body["user"]["partner_code"] == "SEN"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    session_cookie = cookies["jvap_session"].lower()
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie
    assert "max-age=43200" in session_cookie and "secure" not in session_cookie
    assert "httponly" not in cookies["jvap_csrf"].lower()
    assert body["csrf_token"] in cookies["jvap_csrf"]

    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user.id and me.json()["csrf_token"] == body["csrf_token"]
    [event] = _events(session, "auth.sign_in")
    assert event.user_id == user.id and event.ip_address == "testclient"


def test_session_cookie_is_secure_when_configured(client: TestClient, session: Session) -> None:
    client.app.state.settings.session_cookie_secure = True
    user = make_user(session, password=PASSWORD)
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert all("secure" in c.lower() for c in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "disabled", "no password"])
def test_failed_sign_in_is_generic_and_audited(
    client: TestClient, session: Session, case: str
) -> None:
    user = make_user(session, password=None if case == "no password" else PASSWORD)
    email, password = user.email, PASSWORD
    if case == "wrong password":
        password = "wrong password!"
    elif case == "unknown email":
        email = "nobody@test.example"
    elif case == "disabled":
        user.is_active = False
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "detail": "invalid email or password",
        "issues": [],
    }
    assert "set-cookie" not in response.headers
    [event] = _events(session, "auth.sign_in_failed")
    assert event.detail["email"] == email and event.ip_address == "testclient"
    assert event.user_id == (None if case == "unknown email" else user.id)


def test_sign_in_locks_after_five_failures_even_with_the_right_password(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, password=PASSWORD)
    wrong = {"email": user.email, "password": "not the password"}
    for _ in range(lockout.MAX_FAILURES):
        assert client.post("/api/auth/login", json=wrong).status_code == 401
    locked = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"] == "too_many_requests"
    assert locked.json()["detail"] == "too many failed sign-in attempts; try again later"
    assert locked.headers["retry-after"] == "900"
    assert len(_events(session, "auth.sign_in_failed")) == lockout.MAX_FAILURES
    assert len(_events(session, "auth.sign_in_locked")) == 1
    # Another account from the same address is not locked by these failures.
    other = make_user(session, password=PASSWORD)
    _sign_in(client, other.email)


def test_lock_ends_after_fifteen_minutes(client: TestClient, session: Session) -> None:
    user = make_user(session, password=PASSWORD)
    long_ago = datetime.now(UTC) - lockout.LOCK - timedelta(seconds=1)
    session.add_all(
        SignInAttempt(email=user.email, ip_address="testclient", outcome="failure", at=long_ago)
        for _ in range(lockout.MAX_FAILURES)
    )
    session.flush()
    _sign_in(client, user.email)


def test_a_success_resets_the_failure_count(client: TestClient, session: Session) -> None:
    user = make_user(session, password=PASSWORD)
    wrong = {"email": user.email, "password": "not the password"}
    for _ in range(lockout.MAX_FAILURES - 1):
        client.post("/api/auth/login", json=wrong)
    _sign_in(client, user.email)
    for _ in range(lockout.MAX_FAILURES - 1):
        assert client.post("/api/auth/login", json=wrong).status_code == 401
    _sign_in(client, user.email)


def test_logout_ends_the_session_for_good(client: TestClient, session: Session) -> None:
    user = make_user(session, password=PASSWORD)
    csrf = _sign_in(client, user.email)
    stolen = client.cookies.get("jvap_session")
    response = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    # Replaying the old cookie does not bring the session back.
    client.cookies.set("jvap_session", stolen)
    assert client.get("/api/auth/me").status_code == 401
    assert [e.user_id for e in _events(session, "auth.sign_out")] == [user.id]


def test_a_forged_cookie_is_anonymous(client: TestClient) -> None:
    client.cookies.set("jvap_session", "eyJzIjoiYSIsImMiOiJiIn0.forged.signature")
    assert client.get("/api/auth/me").status_code == 401


def test_deactivation_ends_web_sessions(client: TestClient, session: Session) -> None:
    user = make_user(session, password=PASSWORD)
    _sign_in(client, user.email)
    admin = make_user(session, role="admin")
    client.post(f"/api/users/{user.id}/deactivate", headers=auth_headers(session, admin))
    assert client.get("/api/auth/me").status_code == 401


# CSRF


def test_cookie_requests_that_change_state_need_the_csrf_token(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, password=PASSWORD)
    csrf = _sign_in(client, user.email)
    refused = client.post("/api/tokens", json={"name": "no csrf"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden" and "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/tokens", json={"name": "bad"}, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert (
        client.post("/api/tokens", json={"name": "ok"}, headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )
    # Reads need no token.
    assert client.get("/api/tokens").status_code == 200
    names = [t.name for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))]
    assert names == ["ok"]


def test_the_csrf_token_may_come_as_a_form_field(client: TestClient, session: Session) -> None:
    user = make_user(session, password=PASSWORD)
    csrf = _sign_in(client, user.email)
    assert client.post("/api/auth/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post("/api/auth/logout", data={"csrf_token": csrf}).status_code == 204


def test_bearer_requests_need_no_csrf_token(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, make_user(session))
    assert client.post("/api/tokens", json={"name": "x"}, headers=headers).status_code == 201


def test_a_csrf_token_of_another_session_is_refused(client: TestClient, session: Session) -> None:
    first, second = make_user(session, password=PASSWORD), make_user(session, password=PASSWORD)
    other_csrf = _sign_in(client, first.email)
    _sign_in(client, second.email)
    response = client.post("/api/tokens", json={"name": "x"}, headers={"X-CSRF-Token": other_csrf})
    assert response.status_code == 403


# Form sign-in (web portal)


def test_form_sign_in_needs_the_pre_session_csrf_cookie(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, password=PASSWORD)
    form = {"email": user.email, "password": PASSWORD, "next": "/portal"}
    refused = client.post("/api/auth/login/form", data=form, follow_redirects=False)
    assert refused.status_code == 403
    client.cookies.set("jvap_csrf", "pre-session-token")
    response = client.post(
        "/api/auth/login/form",
        data={**form, "csrf_token": "pre-session-token"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/portal"
    assert client.get("/api/auth/me").json()["user"]["id"] == user.id


@pytest.mark.parametrize(
    ("next_path", "location"),
    [("/portal?x=1", "/portal?x=1"), ("https://evil.example/", "/"), ("//evil.example", "/")],
)
def test_form_sign_in_redirects_only_to_local_paths(
    client: TestClient, session: Session, next_path: str, location: str
) -> None:
    user = make_user(session, password=PASSWORD)
    client.cookies.set("jvap_csrf", "t")
    response = client.post(
        "/api/auth/login/form",
        data={"email": user.email, "password": PASSWORD, "csrf_token": "t", "next": next_path},
        follow_redirects=False,
    )
    assert response.headers["location"] == location


def test_failed_form_sign_in_goes_back_to_the_sign_in_page(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, password=PASSWORD)
    client.cookies.set("jvap_csrf", "t")
    response = client.post(
        "/api/auth/login/form",
        data={"email": user.email, "password": "wrong one!", "csrf_token": "t", "next": "/x"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?error=invalid&next=%2Fx"
    assert len(_events(session, "auth.sign_in_failed")) == 1


# Invitations


def test_admin_invites_and_the_link_sets_the_password_once(
    client: TestClient, session: Session
) -> None:
    admin = make_user(session, role="admin")
    response = client.post(
        "/api/users/invitations",
        json={"email": "New.Analyst@Test.example", "name": "New", "role": "analyst"},
        headers=auth_headers(session, admin),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "new.analyst@test.example"
    assert body["user"]["has_password"] is False
    assert body["accept_url"] == f"/accept-invitation?token={body['token']}"
    # The account cannot sign in before accepting.
    login = {"email": "new.analyst@test.example", "password": PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 401

    accept = {"token": body["token"], "password": PASSWORD}
    accepted = client.post("/api/auth/accept-invitation", json=accept)
    assert accepted.status_code == 200
    assert accepted.json()["user"]["has_password"] is True
    assert client.get("/api/auth/me").status_code == 200
    again = client.post("/api/auth/accept-invitation", json=accept)
    assert again.status_code == 404
    assert client.post("/api/auth/login", json=login).status_code == 200
    [invited] = _events(session, "user.invited")
    assert invited.user_id == admin.id and invited.object_id == str(body["user"]["id"])
    assert len(_events(session, "user.invitation_accepted")) == 1


def test_an_expired_invitation_is_refused_and_can_be_renewed(
    client: TestClient, session: Session
) -> None:
    from jvap.accounts.models import Invitation

    focal = make_user(session, role="focal_point", partner_code="SEN")
    headers = auth_headers(session, focal)
    invite = {"email": "c@sen.example", "name": "C"}
    first = client.post("/api/users/invitations", json=invite, headers=headers).json()
    session.scalars(select(Invitation)).one().expires_at = datetime.now(UTC) - timedelta(1)
    session.flush()
    accept = {"token": first["token"], "password": PASSWORD}
    assert client.post("/api/auth/accept-invitation", json=accept).status_code == 404
    second = client.post("/api/users/invitations", json=invite, headers=headers)
    assert second.status_code == 201 and second.json()["user"]["id"] == first["user"]["id"]
    assert second.json()["user"]["role"] == "contributor"
    assert second.json()["user"]["partner_code"] == "SEN"
    ok = client.post(
        "/api/auth/accept-invitation", json={"token": second.json()["token"], "password": PASSWORD}
    )
    assert ok.status_code == 200


def test_a_short_password_is_refused(client: TestClient, session: Session) -> None:
    admin = make_user(session, role="admin")
    body = client.post(
        "/api/users/invitations",
        json={"email": "x@test.example", "name": "X", "role": "manager"},
        headers=auth_headers(session, admin),
    ).json()
    response = client.post(
        "/api/auth/accept-invitation", json={"token": body["token"], "password": "short"}
    )
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "password"


@pytest.mark.parametrize(
    ("invite", "status"),
    [
        ({"role": "contributor"}, 201),
        ({"role": "contributor", "partner_code": "SEN"}, 201),
        ({"role": "contributor", "partner_code": "MLI"}, 403),
        ({"role": "focal_point"}, 403),
        ({"role": "analyst"}, 403),
        ({"role": "admin"}, 403),
    ],
)
def test_a_focal_point_invites_only_contributors_of_its_partner(
    client: TestClient, session: Session, invite: dict[str, str], status: int
) -> None:
    focal = make_user(session, role="focal_point", partner_code="SEN")
    response = client.post(
        "/api/users/invitations",
        json={"email": "c@sen.example", "name": "C", **invite},
        headers=auth_headers(session, focal),
    )
    assert response.status_code == status, response.text


# Users


def test_focal_points_see_and_manage_only_their_partners_contributors(
    client: TestClient, session: Session
) -> None:
    focal = make_user(session, role="focal_point", partner_code="SEN")
    own = make_user(session, role="contributor", partner_code="SEN")
    peer = make_user(session, role="focal_point", partner_code="SEN")
    other = make_user(session, role="contributor", partner_code="MLI")
    headers = auth_headers(session, focal)
    listed = {u["id"] for u in client.get("/api/users", headers=headers).json()}
    assert listed == {focal.id, own.id, peer.id}
    assert client.get(f"/api/users/{other.id}", headers=headers).status_code == 404
    assert client.post(f"/api/users/{other.id}/deactivate", headers=headers).status_code == 404
    assert client.post(f"/api/users/{peer.id}/deactivate", headers=headers).status_code == 403
    response = client.post(f"/api/users/{own.id}/deactivate", headers=headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    [event] = _events(session, "user.deactivated")
    assert event.user_id == focal.id and event.object_id == str(own.id)


def test_deactivation_revokes_tokens_and_reactivation_does_not_restore_them(
    client: TestClient, session: Session
) -> None:
    admin_headers = auth_headers(session, make_user(session, role="admin"))
    user = make_user(session, role="analyst")
    headers = auth_headers(session, user)
    assert client.post(f"/api/users/{user.id}/deactivate", headers=admin_headers).status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert client.post(f"/api/users/{user.id}/reactivate", headers=admin_headers).status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert session.get(User, user.id).is_active


def test_admins_cannot_lock_themselves_out(client: TestClient, session: Session) -> None:
    admin = make_user(session, role="admin")
    response = client.post(
        f"/api/users/{admin.id}/deactivate", headers=auth_headers(session, admin)
    )
    assert response.status_code == 409


def test_admin_creates_a_user_and_it_is_audited(client: TestClient, session: Session) -> None:
    admin = make_user(session, role="admin")
    response = client.post(
        "/api/users",
        json={
            "email": "fp@mli.example",
            "name": "Fp",
            "role": "focal_point",
            "partner_code": "MLI",
        },
        headers=auth_headers(session, admin),
    )
    assert response.status_code == 201
    created = [e for e in _events(session, "user.created") if e.user_id == admin.id]
    assert [e.detail["email"] for e in created] == ["fp@mli.example"]
    assert created[0].ip_address == "testclient"


# API tokens


def test_a_token_created_through_the_api_works_until_it_expires(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, role="manager")
    response = client.post(
        "/api/tokens", json={"name": "laptop", "days": 30}, headers=auth_headers(session, user)
    )
    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith("jvap_")
    assert datetime.fromisoformat(created["expires_at"]) > datetime.now(UTC) + timedelta(days=29)
    token_headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/auth/me", headers=token_headers).status_code == 200
    stored = session.get(ApiToken, created["id"])
    assert stored.token_hash != created["token"]
    listed = client.get("/api/tokens", headers=token_headers).json()
    assert "token" not in listed[-1] and listed[-1]["last_used_at"] is not None

    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    expired = client.get("/api/auth/me", headers=token_headers)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "invalid, expired or revoked token"


def test_a_token_lifetime_is_capped(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, make_user(session))
    response = client.post("/api/tokens", json={"days": 10_000}, headers=headers)
    assert response.status_code == 422 and response.json()["issues"][0]["field"] == "days"


def test_a_revoked_token_stops_working_at_once(client: TestClient, session: Session) -> None:
    user = make_user(session, role="contributor")
    headers = auth_headers(session, user)
    created = client.post("/api/tokens", json={"name": "cli"}, headers=headers).json()
    token_headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.delete(f"/api/tokens/{created['id']}", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=token_headers).status_code == 401
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    [event] = _events(session, "token.revoked")
    assert event.user_id == user.id and event.object_id == str(created["id"])


def test_another_users_token_cannot_be_revoked_or_probed(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session)
    token_headers = auth_headers(session, owner)
    token = session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)).one()
    intruder = auth_headers(session, make_user(session, role="focal_point"))
    assert client.delete(f"/api/tokens/{token.id}", headers=intruder).status_code == 404
    assert client.delete("/api/tokens/999999", headers=intruder).status_code == 404
    assert client.get("/api/auth/me", headers=token_headers).status_code == 200
    admin = auth_headers(session, make_user(session, role="admin"))
    assert client.delete(f"/api/tokens/{token.id}", headers=admin).status_code == 204
    assert client.get("/api/auth/me", headers=token_headers).status_code == 401


def test_token_use_is_audited_at_most_hourly(client: TestClient, session: Session) -> None:
    user = make_user(session)
    headers = auth_headers(session, user)
    for _ in range(3):
        client.get("/api/auth/me", headers=headers)
    [event] = _events(session, "token.used")
    assert event.user_id == user.id and event.ip_address == "testclient"


# Audit log


def test_admins_read_the_audit_log_with_filters_and_pages(
    client: TestClient, session: Session
) -> None:
    admin = make_user(session, role="admin")
    headers = auth_headers(session, admin)
    user = make_user(session, password=PASSWORD)
    before = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(3):
        client.post("/api/auth/login", json={"email": user.email, "password": "bad password"})
    page = client.get(
        "/api/audit",
        params={"action": "auth.sign_in_failed", "limit": 2, "since": before.isoformat()},
        headers=headers,
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]
    rest = client.get(
        "/api/audit",
        params={"action": "auth.sign_in_failed", "limit": 2, "offset": 2},
        headers=headers,
    ).json()
    assert len(rest["items"]) == 1
    family = client.get(
        "/api/audit", params={"action": "auth.", "user_id": user.id}, headers=headers
    ).json()
    assert {e["action"] for e in family["items"]} == {"auth.sign_in_failed"}
    assert client.get("/api/audit", params={"limit": 501}, headers=headers).status_code == 422


def test_failed_attempts_are_committed_across_requests_on_a_real_database(
    fresh_database_url: str, tmp_path: Path
) -> None:
    upgrade_database(fresh_database_url)
    app = create_app(
        Settings(
            database_url=fresh_database_url,
            exports_dir=tmp_path,
            secret_key="another-test-secret-key-0123456789abcdef",
        )
    )
    try:
        with app.state.sessionmaker.begin() as session:
            user = make_user(session, password=PASSWORD)
        with TestClient(app) as client:
            wrong = {"email": user.email, "password": "not the password"}
            for _ in range(lockout.MAX_FAILURES):
                assert client.post("/api/auth/login", json=wrong).status_code == 401
            right = {"email": user.email, "password": PASSWORD}
            assert client.post("/api/auth/login", json=right).status_code == 429
        with app.state.sessionmaker() as session:
            assert len(_events(session, "auth.sign_in_failed")) == lockout.MAX_FAILURES
    finally:
        app.state.engine.dispose()


def test_json_sign_in_cannot_be_posted_by_a_cross_site_form(
    client: TestClient, session: Session
) -> None:
    # A form on another site can send text/plain but never application/json.
    user = make_user(session, password=PASSWORD)
    body = f'{{"email": "{user.email}", "password": "{PASSWORD}"}}'
    response = client.post("/api/auth/login", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert "set-cookie" not in response.headers
