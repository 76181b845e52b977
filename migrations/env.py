"""Alembic environment: runs migrations on a passed-in connection or JVAP_DATABASE_URL."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection, make_url

from jvap.config import get_settings
from jvap.db import create_db_engine
from jvap.models import Base, include_name, include_object_for

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
        include_name=include_name,
        include_object=include_object_for(connection.dialect.name),
        # jvap.db makes SQLite emit BEGIN itself, so DDL is transactional on both backends.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
        include_object=include_object_for(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
