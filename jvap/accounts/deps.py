"""FastAPI dependencies that identify the caller (Bearer token or session cookie) and check it."""

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from jvap.accounts import service, signing
from jvap.accounts.models import User
from jvap.config import Settings
from jvap.db import SessionDep
from jvap.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_bearer = HTTPBearer(auto_error=False, description="API token from `jvap users token`")
_cookie = APIKeyCookie(
    name=signing.SESSION_COOKIE,
    auto_error=False,
    description="Web session from POST /api/auth/login; unsafe requests also need the "
    "X-CSRF-Token header",
)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def secret_key(request: Request) -> str:
    """The key that signs cookies: JVAP_SECRET_KEY, or one random key for this process."""
    state = request.app.state
    key: str | None = getattr(state, "secret_key", None)
    if key is None:
        configured = _settings(request).secret_key
        key = configured.get_secret_value() if configured else secrets.token_urlsafe(48)
        state.secret_key = key
    return key


def session_ttl(request: Request) -> timedelta:
    return timedelta(hours=_settings(request).session_ttl_hours)


def read_session_cookie(request: Request) -> signing.SessionCookie | None:
    value = request.cookies.get(signing.SESSION_COOKIE)
    if not value:
        return None
    return signing.read_session(
        secret_key(request), value, max_age_seconds=int(session_ttl(request).total_seconds())
    )


async def _csrf_form_field(request: Request) -> str | None:
    # Only cookie-authenticated unsafe form posts without the header need the form read here;
    # Starlette caches the parsed form, so the route's own Form/File parameters still see it.
    if (
        request.method in SAFE_METHODS
        or signing.CSRF_HEADER in request.headers
        or "authorization" in request.headers
        or signing.SESSION_COOKIE not in request.cookies
        or not request.headers.get("content-type", "").startswith(_FORM_TYPES)
    ):
        return None
    value = (await request.form()).get(signing.CSRF_FIELD)
    return value if isinstance(value, str) else None


def get_optional_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_cookie: Annotated[str | None, Depends(_cookie)],
    form_csrf: Annotated[str | None, Depends(_csrf_form_field)],
) -> User | None:
    """The caller, or None if anonymous.

    A Bearer token wins over a cookie and needs no CSRF token (browsers never add it by
    themselves). A cookie that is forged, expired or of an ended session counts as anonymous;
    a live session must send its CSRF token with every unsafe request, else Forbidden.
    """
    if credentials is not None:
        return service.authenticate_token(
            session, token=credentials.credentials, ip_address=client_ip(request)
        )
    cookie = read_session_cookie(request)
    if cookie is None:
        return None
    user = service.session_user(session, secret=cookie.secret)
    if user is None:
        return None
    if request.method not in SAFE_METHODS:
        given = request.headers.get(signing.CSRF_HEADER) or form_csrf
        if not signing.csrf_matches(cookie.csrf, given):
            raise Forbidden(
                f"missing or wrong CSRF token: send the {signing.CSRF_HEADER} header "
                f"or a {signing.CSRF_FIELD} form field"
            )
    request.state.csrf_token = cookie.csrf
    return user


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>' or sign in"
        )
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """Dependency factory: the current user, if its role is one of `roles`."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")
        return user

    return check


def csrf_token(request: Request) -> str | None:
    """The CSRF token to embed in forms for this request's signed-in user, if any."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        cookie = read_session_cookie(request)
        token = cookie.csrf if cookie else None
    return token


def set_session_cookies(
    request: Request, response: Response, *, secret: str, csrf: str, ttl: timedelta
) -> None:
    """Sign the session into an HttpOnly cookie; the CSRF token goes in a readable one."""
    secure = _settings(request).session_cookie_secure
    max_age = int(ttl.total_seconds())
    response.set_cookie(
        signing.SESSION_COOKIE,
        signing.sign_session(secret_key(request), signing.SessionCookie(secret=secret, csrf=csrf)),
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # Readable by scripts on purpose (double submit): they copy it into X-CSRF-Token.
    response.set_cookie(
        signing.CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure
    )


def clear_session_cookies(request: Request, response: Response) -> None:
    secure = _settings(request).session_cookie_secure
    for name, httponly in ((signing.SESSION_COOKIE, True), (signing.CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="lax")


def pre_session_csrf(request: Request, response: Response) -> str:
    """A CSRF token for a sign-in form shown to an anonymous visitor (double submit).

    The page that shows the form calls this, embeds the token as `csrf_token`, and the form
    post to /api/auth/login/form is refused unless the field matches the jvap_csrf cookie.
    """
    token = request.cookies.get(signing.CSRF_COOKIE) or secrets.token_urlsafe(32)
    response.set_cookie(
        signing.CSRF_COOKIE,
        token,
        httponly=False,
        samesite="lax",
        secure=_settings(request).session_cookie_secure,
        path="/",
    )
    return token
