"""Migrations: one head, every step up and down, models match the migrated schema."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from jvap.db import alembic_config, create_db_engine
from jvap.models import Base, include_name, include_object_for


def test_single_head_revision() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_every_revision_has_a_downgrade() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        source = revision.module.downgrade.__code__
        assert source.co_code != (lambda: None).__code__.co_code, revision.revision


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_up_and_down_every_step_then_models_match(fresh_database_url: str) -> None:
    config = alembic_config(fresh_database_url)
    script = ScriptDirectory.from_config(config)
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    engine = create_db_engine(fresh_database_url)
    try:
        for revision in revisions:
            command.upgrade(config, revision)
            command.downgrade(config, "-1")
            command.upgrade(config, revision)
        assert {"initiative", "campaign", "submission", "priority", "user"} <= _tables(engine)
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn,
                    opts={
                        "compare_type": True,
                        "include_name": include_name,
                        "include_object": include_object_for(conn.dialect.name),
                    },
                ),
                Base.metadata,
            )
        assert diff == []
        command.downgrade(config, "base")
        assert _tables(engine) == set()
    finally:
        engine.dispose()
