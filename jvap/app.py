"""FastAPI application factory: wiring only."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from jvap import __version__
from jvap.accounts.router import router as accounts_router
from jvap.campaigns.router import router as campaigns_router
from jvap.config import Settings, get_settings
from jvap.db import SessionDep, create_db_engine, create_sessionmaker
from jvap.errors import ERROR_CLASSES, JvapError
from jvap.initiatives.router import router as initiatives_router
from jvap.reference.router import router as reference_router
from jvap.reports import snapshot
from jvap.reports.router import router as reports_router
from jvap.web import router as web_router

logger = logging.getLogger(__name__)

ERROR_SHAPE = {
    "content": {
        "application/json": {"example": {"error": "not_found", "detail": "…", "issues": []}}
    }
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    cls.status_code: {"description": cls.__name__, **ERROR_SHAPE} for cls in ERROR_CLASSES
}


def error_body(
    code: str, detail: str, issues: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": code, "detail": detail, "issues": issues or []}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JvapError)
    def _jvap_error(_request: Request, exc: JvapError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                "code": err["type"],
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        body = error_body("invalid_request", f"{len(issues)} problem(s) in the request", issues)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        body = error_body(codes.get(exc.status_code, "http_error"), str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _warm_summaries(app: FastAPI) -> None:
    """Read the summaries' copy of the registry (a background thread at startup)."""
    try:
        with app.state.sessionmaker() as session:
            snapshot.warm(session)
    except Exception:  # a cold cache only costs time: the first summary reads it instead
        logger.exception("could not read the summaries' copy of the registry at startup")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.settings.warm_summaries:
        threading.Thread(target=_warm_summaries, args=(app,), name="warm", daemon=True).start()
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="jvap",
        version=__version__,
        description="Monitoring database and data-collection tool for the Joint Valletta "
        "Action Plan (JVAP). Errors always have the shape "
        '`{"error": code, "detail": message, "issues": [...]}`.',
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings.database_url)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    _install_error_handlers(app)

    api = APIRouter(prefix="/api")

    @api.get("/health", tags=["meta"])
    def health(session: SessionDep) -> dict[str, str]:
        """Liveness and database reachability."""
        session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    api.include_router(reference_router)
    api.include_router(accounts_router)
    api.include_router(campaigns_router)
    api.include_router(initiatives_router)
    api.include_router(reports_router)
    app.include_router(api)
    # The web portal: "/" is its home (sign-in when anonymous); the API docs stay at /docs.
    web_router.install(app)

    return app
