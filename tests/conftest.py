"""Shared fixtures: one migrated database per run, one rolled-back transaction per test."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jvap.app import create_app
from jvap.config import Settings, get_settings
from jvap.db import create_db_engine, get_session, upgrade_database
from jvap.reference import service as reference_service
from tests.databases import rolled_back_session, scratch_database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The run's database, built by the migrations (never create_all) with reference data."""
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    with Session(engine) as session, session.begin():
        reference_service.seed(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even where the code commits."""
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        exports_dir=tmp_path / "exports",
        secret_key="test-secret-key-test-secret-key-0123456789",
    )


@pytest.fixture
def app(settings: Settings, session: Session) -> Iterator[FastAPI]:
    application = create_app(settings)

    def test_session() -> Iterator[Session]:
        # A savepoint per request stands in for the request's own transaction.
        with session.begin_nested():
            yield session

    application.dependency_overrides[get_session] = test_session
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, for tests that commit (CLI, migrations)."""
    with scratch_database(tmp_path) as url:
        yield url


@pytest.fixture
def cli_env(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at a fresh database through the environment, as a user would."""
    monkeypatch.setenv("JVAP_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    yield fresh_database_url
    get_settings.cache_clear()
