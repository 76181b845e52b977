"""Signed session cookie values and CSRF tokens (no session, no settings: the key is passed in)."""

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "jvap_session"
CSRF_COOKIE = "jvap_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SALT = "jvap.session"


@dataclass(frozen=True, slots=True)
class SessionCookie:
    secret: str  # the random value whose SHA-256 names the user_session row
    csrf: str  # the CSRF token bound to this session


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign_session(key: str, cookie: SessionCookie) -> str:
    return URLSafeTimedSerializer(key, salt=_SALT).dumps({"s": cookie.secret, "c": cookie.csrf})


def read_session(key: str, value: str, *, max_age_seconds: int) -> SessionCookie | None:
    """The cookie's content, or None if it is forged, malformed or older than `max_age_seconds`."""
    try:
        data = URLSafeTimedSerializer(key, salt=_SALT).loads(value, max_age=max_age_seconds)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    secret, csrf = data.get("s"), data.get("c")
    if not isinstance(secret, str) or not isinstance(csrf, str):
        return None
    return SessionCookie(secret=secret, csrf=csrf)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
