"""Database engine, declarative base and the per-request session."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Dialect, Engine, MetaData, Text, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from jvap.kit import jsontext

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class JSONText(TypeDecorator[Any]):
    """JSON kept as text, for documents written once and read whole, never queried inside:
    PostgreSQL's json type parses every byte written to check it (9 ms of a 4 MB write)."""

    impl = Text
    cache_ok = True
    hashable = False  # the values are dicts and lists, as JSON's are

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else jsontext.dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else jsontext.loads(value)


# Text on PostgreSQL; SQLite's JSON is text already (its columns stay declared JSON).
JSONDocument = JSONText().with_variant(JSON(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONType,
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(session: Session) -> bool:
    """Whether `session` talks to SQLite (the embedded default) rather than PostgreSQL."""
    return session.get_bind().dialect.name == "sqlite"


def is_postgresql(bind: Session | Connection) -> bool:
    """Whether `bind` (a session, or a connection of its own) talks to PostgreSQL."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


# Where a SQLite connection keeps its total_changes at BEGIN, for has_written.
_CHANGES_AT_BEGIN = "jvap_total_changes_at_begin"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Engine for `url`; on SQLite, makes savepoints, transactions and foreign keys work."""
    backend = make_url(url).get_backend_name()
    kwargs = {"json_serializer": jsontext.dumps, "json_deserializer": jsontext.loads, **kwargs}
    if backend != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)

    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

    # pysqlite's own transaction handling breaks SAVEPOINT and ignores BEGIN; the
    # documented fix is to switch it off and emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
        # What has_written compares with: rows this connection has written since it opened.
        connection.info[_CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes

    return engine


def has_written(session: Session) -> bool:
    """Whether this SQLite transaction has written a row (committed or not, so far)."""
    connection = session.connection()
    at_begin = connection.info.get(_CHANGES_AT_BEGIN)
    return at_begin is None or connection.connection.dbapi_connection.total_changes != at_begin


def create_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back if it raises."""
    with request.app.state.sessionmaker.begin() as session:
        yield session


# scope="function" commits before the response is sent, so a failed commit is never a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def alembic_config(url: str) -> Any:
    """Alembic configuration for the repository's migrations, pointed at `url`."""
    ini = Path(__file__).resolve().parent.parent / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` with Alembic (never create_all)."""
    command.upgrade(alembic_config(url), revision)
