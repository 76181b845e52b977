"""Fixtures for the portal's page tests."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from jvap.web import router as web_router


@pytest.fixture
def app(app: FastAPI) -> Iterator[FastAPI]:
    if not any(getattr(r, "path", None) == "/dashboard" for r in app.routes):
        app.router.routes = [r for r in app.router.routes if getattr(r, "name", "") != "index"]
        web_router.install(app)
    yield app
