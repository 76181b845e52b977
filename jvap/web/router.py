"""The portal's pages: home, sign-in, language switch, and the pages of each audience."""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from jvap.accounts import service as accounts_service
from jvap.accounts import signing
from jvap.accounts.deps import OptionalUser, client_ip, pre_session_csrf
from jvap.db import SessionDep
from jvap.errors import Forbidden, InvalidInput
from jvap.web import dashboard_pages, i18n, partner_pages, staff_pages, submission_pages
from jvap.web.deps import PageUser
from jvap.web.templating import STATIC_DIR, PageRoute, page_language, render

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the portal's pages and its static files (served by jvap itself, no CDN) to `app`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (other hosts, schemes) falls back to `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def home_for(role: str, partner_code: str | None) -> str:
    if partner_code:
        return f"/partners/{partner_code}"
    if role in ("admin", "analyst"):
        return "/progress"
    return "/dashboard"


@router.get("/")
def home(user: PageUser) -> RedirectResponse:
    """Each role starts on its own page; anonymous visitors are sent to sign in."""
    return RedirectResponse(home_for(user.role, user.partner_code), status_code=303)


def _anonymous_form(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """A form for a visitor without a session: its CSRF token is a pre-session cookie."""
    scratch = Response()
    request.state.csrf_token = pre_session_csrf(request, scratch)
    page = render(request, template, context, status_code=status_code)
    for name, value in scratch.raw_headers:
        if name == b"set-cookie":
            page.raw_headers.append((name, value))
    return page


@router.get("/login")
def sign_in_page(
    request: Request,
    user: OptionalUser,
    next: str | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    """The sign-in form; it posts to the accounts API, which comes back here if it fails."""
    if user is not None:
        return RedirectResponse(safe_next(next, home_for(user.role, user.partner_code)), 303)
    lang = page_language(request)
    failed = {"invalid": "sign_in_failed", "locked": "sign_in_locked"}.get(error or "")
    return _anonymous_form(
        request,
        "sign_in.html",
        {
            "next": safe_next(next),
            "failed": i18n.translate(lang, failed) if failed else None,
            "notice": i18n.translate(lang, "password_set") if notice == "password_set" else None,
        },
    )


@router.get("/accept-invitation")
def invitation_page(request: Request, token: str = "") -> Response:
    """Where an invitation link leads: the invited person chooses a password."""
    return _anonymous_form(request, "accept_invitation.html", {"token": token, "problem": None})


@router.post("/accept-invitation")
def accept_invitation(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Set the password of the invited account, then go to the sign-in page."""
    if not signing.csrf_matches(request.cookies.get(signing.CSRF_COOKIE), csrf_token):
        raise Forbidden("missing or wrong CSRF token: open the invitation link again")
    try:
        accounts_service.accept_invitation(
            session, token=token, password=password, ip_address=client_ip(request)
        )
    except InvalidInput as exc:
        # The password breaks a rule: say which, beside the form.
        return _anonymous_form(
            request,
            "accept_invitation.html",
            {"token": token, "problem": exc},
            status_code=exc.status_code,
        )
    return RedirectResponse("/login?notice=password_set", status_code=303)


@router.get("/language/{lang}")
def switch_language(lang: str, next: str | None = None) -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            lang,
            max_age=LANGUAGE_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
        )
    return response


router.include_router(partner_pages.router)
router.include_router(submission_pages.router)
router.include_router(staff_pages.router)
router.include_router(dashboard_pages.router)
