"""Users and API tokens."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jvap.accounts import lockout, service
from jvap.accounts.models import SignInAttempt
from jvap.errors import BadRequest, Conflict, NotFound, TooManyRequests, Unauthorized
from tests.factories import make_user


def test_token_authenticates_its_user(session: Session) -> None:
    user = make_user(session, role="focal_point", partner_code="SEN")
    token, plain = service.issue_token(session, user=user)
    assert token.token_hash != plain and plain not in token.token_hash
    assert service.authenticate_token(session, token=plain) is user
    assert token.last_used_at is not None


def test_a_token_used_again_within_a_minute_writes_nothing(session: Session) -> None:
    # A read-only request stays read-only (the summaries' cache builds on such states).
    user = make_user(session, role="analyst")
    token, plain = service.issue_token(session, user=user)
    service.authenticate_token(session, token=plain)
    session.flush()
    first = token.last_used_at
    service.authenticate_token(session, token=plain)
    assert token.last_used_at == first and not session.dirty
    token.last_used_at = first - timedelta(minutes=2)  # type: ignore[operator]
    session.flush()
    service.authenticate_token(session, token=plain)
    assert token.last_used_at != first - timedelta(minutes=2)  # type: ignore[operator]


@pytest.mark.parametrize("state", ["unknown", "expired", "revoked", "disabled"])
def test_unusable_tokens_are_refused(session: Session, state: str) -> None:
    user = make_user(session)
    token, plain = service.issue_token(session, user=user)
    if state == "unknown":
        plain = plain + "x"
    elif state == "expired":
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    elif state == "revoked":
        token.revoked_at = datetime.now(UTC)
    else:
        user.is_active = False
    with pytest.raises(Unauthorized):
        service.authenticate_token(session, token=plain)


def test_passwords_are_hashed_with_argon2(session: Session) -> None:
    user = make_user(session, password="correct horse")
    assert user.password_hash and user.password_hash.startswith("$argon2")
    assert service.verify_password(user.password_hash, "correct horse")
    assert not service.verify_password(user.password_hash, "wrong")
    assert not service.verify_password(None, "anything")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"role": "king"}, BadRequest),
        ({"role": "focal_point"}, BadRequest),
        ({"role": "analyst", "partner_code": "SEN"}, BadRequest),
        ({"role": "focal_point", "partner_code": "XXX"}, NotFound),
    ],
)
def test_invalid_users_are_refused(session: Session, kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        service.create_user(session, email="a@b.example", name="A", **kwargs)


def test_emails_are_unique_case_insensitively(session: Session) -> None:
    make_user(session, email="a@b.example")
    with pytest.raises(Conflict):
        service.create_user(session, email="A@B.example ", name="A", role="analyst")


def test_missing_token_is_unauthorized_in_the_error_shape(client: TestClient) -> None:
    from fastapi import Depends

    from jvap.accounts.deps import require_roles

    @client.app.get("/test-protected", dependencies=[Depends(require_roles("admin"))])
    def protected() -> dict[str, bool]:
        return {"ok": True}

    response = client.get("/test-protected")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_many_failures_from_one_address_lock_every_email_there(session: Session) -> None:
    now = datetime.now(UTC)
    session.add_all(
        SignInAttempt(email=f"u{n}@x.example", ip_address="10.0.0.9", outcome="failure", at=now)
        for n in range(lockout.MAX_FAILURES_PER_ADDRESS)
    )
    session.flush()
    until = service.sign_in_locked_until(session, email="new@x.example", ip_address="10.0.0.9")
    assert until is not None and until > now
    assert (
        service.sign_in_locked_until(session, email="new@x.example", ip_address="10.0.0.8") is None
    )
    with pytest.raises(TooManyRequests):
        service.sign_in(session, email="new@x.example", password="whatever", ip_address="10.0.0.9")
