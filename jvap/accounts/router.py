"""HTTP routes for sign-in, users, invitations, API tokens and the audit log."""

import secrets
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from jvap.accounts import audit, service, signing
from jvap.accounts.deps import (
    CurrentUser,
    OptionalUser,
    clear_session_cookies,
    client_ip,
    read_session_cookie,
    require_roles,
    session_ttl,
    set_session_cookies,
)
from jvap.accounts.models import User
from jvap.accounts.schemas import (
    AuditEventRead,
    AuditPage,
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    Me,
    SignIn,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from jvap.db import SessionDep
from jvap.errors import Forbidden, InvalidInput, JvapError, TooManyRequests, Unauthorized

# The web portal's sign-in page: where a failed form sign-in sends the browser back to.
LOGIN_PATH = "/login"
ACCEPT_INVITATION_PATH = "/accept-invitation"

router = APIRouter()

Admin = Annotated[User, Depends(require_roles("admin"))]
UserManager = Annotated[User, Depends(require_roles("admin", "focal_point"))]


def _kept_error(exc: JvapError) -> JSONResponse:
    # Returned, not raised: raising would roll back the record of the failed attempt.
    headers = {"Retry-After": str(15 * 60)} if isinstance(exc, TooManyRequests) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def _local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else "/" (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _start_session(request: Request, response: Response, session: SessionDep, user: User) -> str:
    previous = read_session_cookie(request)
    if previous is not None:
        service.end_session(session, secret=previous.secret, ip_address=client_ip(request))
    ttl = session_ttl(request)
    _, secret = service.start_session(session, user=user, ttl=ttl, ip_address=client_ip(request))
    csrf = secrets.token_urlsafe(32)
    set_session_cookies(request, response, secret=secret, csrf=csrf, ttl=ttl)
    return csrf


@router.post("/auth/login", response_model=Me, tags=["auth"])
def login(body: SignIn, request: Request, response: Response, session: SessionDep) -> Response | Me:
    """Sign in with email and password; sets the session cookie.

    Answers with the user and the CSRF token to send back in the `X-CSRF-Token` header with
    every unsafe request made with the cookie. A wrong email or password gives one generic
    401; after 5 failures in 15 minutes from one address the email is locked for 15 minutes
    (429, even with the right password).
    """
    try:
        user = service.sign_in(
            session, email=body.email, password=body.password, ip_address=client_ip(request)
        )
    except (Unauthorized, TooManyRequests) as exc:
        return _kept_error(exc)
    csrf = _start_session(request, response, session, user)
    return Me(user=UserRead.of(user), csrf_token=csrf)


@router.post("/auth/login/form", status_code=303, response_class=RedirectResponse, tags=["auth"])
def login_form(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> RedirectResponse:
    """Sign in from an HTML form; redirects to `next` (a local path) when it works.

    The form must carry `csrf_token` equal to the `jvap_csrf` cookie the sign-in page set.
    On failure it redirects to the sign-in page with `error=invalid` or `error=locked`.
    """
    if not signing.csrf_matches(request.cookies.get(signing.CSRF_COOKIE), csrf_token):
        raise Forbidden("missing or wrong CSRF token: reload the sign-in page and try again")
    target = _local_path(next_path)
    try:
        user = service.sign_in(
            session, email=email, password=password, ip_address=client_ip(request)
        )
    except (Unauthorized, TooManyRequests) as exc:
        error = "locked" if isinstance(exc, TooManyRequests) else "invalid"
        query = urlencode({"error": error, "next": target})
        return RedirectResponse(f"{LOGIN_PATH}?{query}", status_code=303)
    redirect = RedirectResponse(target, status_code=303)
    _start_session(request, redirect, session, user)
    return redirect


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(
    request: Request,
    session: SessionDep,
    _user: OptionalUser,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """End the web session and clear its cookies (with the CSRF token, as for any form post).

    With `?next=/path`, redirects there (303) instead of answering 204. API tokens are not
    affected: revoke them with DELETE /api/tokens/{id}.
    """
    cookie = read_session_cookie(request)
    if cookie is not None:
        service.end_session(session, secret=cookie.secret, ip_address=client_ip(request))
    response: Response = (
        RedirectResponse(_local_path(next_path), status_code=303)
        if next_path is not None
        else Response(status_code=204)
    )
    clear_session_cookies(request, response)
    return response


@router.get("/auth/me", response_model=Me, tags=["auth"])
def me(user: CurrentUser, request: Request) -> Me:
    """The signed-in user, and the CSRF token of its web session (None with a Bearer token)."""
    return Me(user=UserRead.of(user), csrf_token=getattr(request.state, "csrf_token", None))


@router.post("/auth/accept-invitation", response_model=Me, tags=["auth"])
def accept_invitation(
    body: InvitationAccept, request: Request, response: Response, session: SessionDep
) -> Me:
    """Set the password of an invited account with the one-time token of its link.

    The link then stops working; the user is signed in (session cookie set).
    """
    user = service.accept_invitation(
        session, token=body.token, password=body.password, ip_address=client_ip(request)
    )
    csrf = _start_session(request, response, session, user)
    return Me(user=UserRead.of(user), csrf_token=csrf)


@router.get("/users", response_model=list[UserRead], tags=["users"])
def list_users(
    session: SessionDep,
    actor: UserManager,
    role: str | None = None,
    partner: str | None = None,
    active: bool | None = None,
) -> list[UserRead]:
    """Users: all of them for admins; their own partner's for focal points."""
    users = service.list_users(session, actor=actor, role=role, partner_code=partner, active=active)
    return [UserRead.of(u) for u in users]


@router.post("/users", response_model=UserRead, status_code=201, tags=["users"])
def create_user(body: UserCreate, request: Request, session: SessionDep, actor: Admin) -> UserRead:
    """Create an account directly (admins). Without a password it can only use API tokens,
    until an invitation or `jvap users` gives it one."""
    user = service.create_user(
        session,
        email=body.email,
        name=body.name,
        role=body.role,
        partner_code=body.partner_code,
        password=body.password,
        language=body.language,
        actor=actor,
        ip_address=client_ip(request),
    )
    return UserRead.of(user)


@router.post(
    "/users/invitations", response_model=InvitationCreated, status_code=201, tags=["users"]
)
def invite_user(
    body: InvitationCreate, request: Request, session: SessionDep, actor: UserManager
) -> InvitationCreated:
    """Invite someone: creates the account and a one-time link to set its password.

    Admins invite any role; a focal point invites contributors of its own partner. The token
    is shown once; inviting again someone who has not yet set a password replaces the link.
    """
    user, invitation, token = service.invite_user(
        session,
        actor=actor,
        email=body.email,
        name=body.name,
        role=body.role,
        partner_code=body.partner_code,
        language=body.language,
        ttl_days=request.app.state.settings.invitation_ttl_days,
        ip_address=client_ip(request),
    )
    return InvitationCreated(
        user=UserRead.of(user),
        token=token,
        accept_url=f"{ACCEPT_INVITATION_PATH}?{urlencode({'token': token})}",
        expires_at=invitation.expires_at,
    )


@router.get("/users/{user_id}", response_model=UserRead, tags=["users"])
def get_user(user_id: int, session: SessionDep, actor: UserManager) -> UserRead:
    """One user (admins; focal points for their own partner's users)."""
    return UserRead.of(service.get_user(session, actor=actor, user_id=user_id))


@router.post("/users/{user_id}/deactivate", response_model=UserRead, tags=["users"])
def deactivate_user(
    user_id: int, request: Request, session: SessionDep, actor: UserManager
) -> UserRead:
    """Disable an account and revoke its tokens and sessions (admins; focal points for their
    partner's contributors)."""
    user = service.set_user_active(
        session, actor=actor, user_id=user_id, active=False, ip_address=client_ip(request)
    )
    return UserRead.of(user)


@router.post("/users/{user_id}/reactivate", response_model=UserRead, tags=["users"])
def reactivate_user(
    user_id: int, request: Request, session: SessionDep, actor: UserManager
) -> UserRead:
    """Enable a disabled account again; its old tokens stay revoked."""
    user = service.set_user_active(
        session, actor=actor, user_id=user_id, active=True, ip_address=client_ip(request)
    )
    return UserRead.of(user)


@router.get("/tokens", response_model=list[TokenRead], tags=["tokens"])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    """Your own API tokens (never their values)."""
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, user=user)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["tokens"])
def create_token(
    body: TokenCreate, request: Request, session: SessionDep, user: CurrentUser
) -> TokenCreated:
    """Create an API token for yourself; its value is shown once, in this answer only."""
    max_days = request.app.state.settings.token_ttl_days
    if body.days is not None and body.days > max_days:
        raise InvalidInput(
            "token lifetime too long",
            issues=[{"field": "days", "code": "too_long", "message": f"at most {max_days} days"}],
        )
    token, plain = service.issue_token(
        session,
        user=user,
        name=body.name,
        ttl_days=body.days or max_days,
        actor=user,
        ip_address=client_ip(request),
    )
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def revoke_token(token_id: int, request: Request, session: SessionDep, user: CurrentUser) -> None:
    """Revoke one of your tokens (admins: anyone's); it stops working at once."""
    service.revoke_token(session, actor=user, token_id=token_id, ip_address=client_ip(request))


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def list_audit_events(
    session: SessionDep,
    _admin: Admin,
    user_id: int | None = None,
    action: Annotated[
        str | None, Query(description='Exact action, or a family ending in "." like "auth."')
    ] = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """The audit log, newest first (admins): who changed what, when, from which address.

    Nothing in the application changes or deletes it, and database triggers refuse UPDATE
    and DELETE on it.
    """
    events, total = audit.list_events(
        session,
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return AuditPage(
        items=[AuditEventRead.model_validate(e) for e in events],
        total=total,
        limit=limit,
        offset=offset,
    )
