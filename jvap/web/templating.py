"""Jinja2 set-up for the portal: templates from the package, EN/FR helpers, one render call."""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from jvap.accounts.router import LOGIN_PATH
from jvap.errors import BadRequest, JvapError, Unauthorized
from jvap.reference.codelists import CODELISTS
from jvap.web import i18n

# Everything the pages use comes from jvap itself: no other origin, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _code_label(field_key: str, code: object, lang: str) -> str:
    """The EN/FR label of a questionnaire code (kind, status, ...), or the code itself."""
    for item in CODELISTS.get(field_key, ()):
        if item.code == str(code):
            return item.label(lang)
    return "" if code is None else str(code)


def _static_url(name: str) -> str:
    # The file's modification time busts browser caches after an upgrade.
    stamp = int((STATIC_DIR / name).stat().st_mtime)
    return f"/static/{name}?v={stamp}"


def page_language(request: Request) -> str:
    """The language of this request's page (set by the page dependencies, English before)."""
    return getattr(request.state, "lang", None) or i18n.negotiate(
        cookie=request.cookies.get(i18n.LANGUAGE_COOKIE),
        user_language=None,
        accept_language=request.headers.get("accept-language"),
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render template `name` in the request's language, with the signed-in user if any."""
    lang = page_language(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "fr" else "fr",
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "t": lambda key, **kw: i18n.translate(lang, key, **kw),
        "number": lambda value, decimals=0: i18n.format_number(value, lang, decimals=decimals),
        "percent": lambda value: i18n.format_percent(value, lang),
        "day": lambda value: i18n.format_date(value, lang),
        "code_label": lambda field_key, code: _code_label(field_key, code, lang),
        "name_of": lambda item: (
            getattr(item, f"name_{lang}", None) or getattr(item, f"title_{lang}", None) or ""
        ),
        "static": _static_url,
        "current_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "quote": lambda text: quote(text, safe=""),
    }
    values.update(context or {})
    html = environment.get_template(name).render(values)
    response = HTMLResponse(html, status_code=status_code)
    # Pages show personal data: never keep them in shared caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, exc: JvapError) -> Response:
    """A typed error as a page; an anonymous visitor is sent to sign in and brought back."""
    if isinstance(exc, Unauthorized) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
    key = f"error_{exc.status_code}"
    return render(
        request,
        "error.html",
        {
            "status_code": exc.status_code,
            "message_key": key if key in i18n.MESSAGES else "error_other",
            "detail": exc.detail,
            "issues": exc.issues,
        },
        status_code=exc.status_code,
    )


class PageRoute(APIRoute):
    """A route whose typed errors render as HTML pages instead of the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except JvapError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                issues = [
                    {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()
                ]
                return error_page(request, BadRequest("the form is incomplete", issues=issues))

        return page_handler
