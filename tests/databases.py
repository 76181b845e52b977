"""Throw-away test databases on the backend JVAP_TEST_DATABASE_URL names (SQLite by default)."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

ENV = "JVAP_TEST_DATABASE_URL"


def backend() -> str:
    url = os.environ.get(ENV)
    return make_url(url).get_backend_name() if url else "sqlite"


@contextmanager
def scratch_database(tmp_dir: Path) -> Iterator[str]:
    """URL of a new, empty database, dropped afterwards.

    On PostgreSQL each test run gets its own database, so parallel runs never collide.
    """
    base = os.environ.get(ENV)
    if not base:
        yield f"sqlite:///{tmp_dir / f'jvap-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        yield url.render_as_string(hide_password=False)
        return
    with postgres_database(url, prefix="jvap_test") as created:
        yield created


@contextmanager
def postgres_database(admin_url: URL | str, *, prefix: str) -> Iterator[str]:
    """URL of a new PostgreSQL database made through `admin_url`, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside one outer transaction that is rolled back afterwards, even where the
    code under test commits (its commits become savepoints)."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
