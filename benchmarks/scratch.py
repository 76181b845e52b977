"""Throw-away benchmark databases: a SQLite temp file, or a new PostgreSQL database."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tests.databases import postgres_database

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """URL of a new, empty database on `backend` (sqlite or postgresql), dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    with postgres_database(PG_ADMIN, prefix="jvap_bench") as url:
        yield url
