"""The portal's pages: home, sign-in, language switch, and the pages of each audience."""

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from jvap.accounts.deps import OptionalUser, pre_session_csrf
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


@router.get("/login")
def sign_in_page(
    request: Request, user: OptionalUser, next: str | None = None, error: str | None = None
) -> Response:
    """The sign-in form; it posts to the accounts API, which comes back here if it fails."""
    if user is not None:
        return RedirectResponse(safe_next(next, home_for(user.role, user.partner_code)), 303)
    # The pre-session CSRF cookie is set on a scratch response and copied onto the page.
    scratch = Response()
    token = pre_session_csrf(request, scratch)
    failed = {"invalid": "sign_in_failed", "locked": "sign_in_locked"}.get(error or "")
    request.state.csrf_token = token
    page = render(
        request,
        "sign_in.html",
        {
            "next": safe_next(next),
            "failed": i18n.translate(page_language(request), failed) if failed else None,
            "email": "",
        },
    )
    for name, value in scratch.raw_headers:
        if name == b"set-cookie":
            page.raw_headers.append((name, value))
    return page


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
