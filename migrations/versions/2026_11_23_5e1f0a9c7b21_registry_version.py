"""Registry version: a one-row (counter, token) that triggers change on every registry write.

Revision ID: 5e1f0a9c7b21
Revises: 309a7d12a2b2
Create Date: 2026-11-23 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1f0a9c7b21"
down_revision: str | None = "309a7d12a2b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The summaries' columnar cache is valid while this row is unchanged (jvap/reports/models.py
# WATCHED_TABLES; keep both lists equal). A batch migration that rebuilds one of these
# tables on SQLite drops its triggers: recreate them (tests/reports check every table).
WATCHED_TABLES = (
    "initiative",
    "initiative_country",
    "initiative_domain",
    "initiative_priority",
    "initiative_funder",
    "initiative_revision",
    "country",
    "partner",
    "priority",
    "process_membership",
)


def upgrade() -> None:
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_version")),
    )
    op.execute("INSERT INTO registry_version (id, counter, token) VALUES (1, 0, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE registry_version_token")
        # Per statement, a fresh stamp in a transaction-local setting: the writing transaction
        # sees its own changes (and a rollback to a savepoint restores the stamp with the
        # data). No lock is taken, so concurrent writers never queue on one another here.
        op.execute(
            "CREATE FUNCTION registry_version_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "PERFORM set_config('jvap.registry_stamp', "
            "nextval('registry_version_token')::text, true); "
            "IF TG_OP = 'TRUNCATE' THEN "  # constraint triggers cannot watch TRUNCATE
            "UPDATE registry_version SET counter = counter + 1, "
            "token = nextval('registry_version_token') WHERE id = 1; "
            "END IF; "
            "RETURN NULL; END $$"
        )
        # At commit, once per transaction, the shared row. Updating it at the first write
        # instead would hold its lock for the whole transaction: writers would queue, and
        # two touching the same initiatives could deadlock. Once, because updating one row
        # per statement grows a chain of row versions that every later update walks.
        op.execute(
            "CREATE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF coalesce(current_setting('jvap.registry_bumped', true), '') = '' THEN "
            "UPDATE registry_version SET counter = counter + 1, "
            "token = nextval('registry_version_token') WHERE id = 1; "
            "PERFORM set_config('jvap.registry_bumped', 'yes', true); "
            "END IF; "
            "RETURN NULL; END $$"
        )
        for table in WATCHED_TABLES:
            # The stamp once per statement, not per row: a bulk insert costs one call.
            op.execute(
                f"CREATE TRIGGER registry_version_{table} "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION registry_version_stamp()"
            )
            # Deferred to commit (constraint triggers are row triggers; after the first, each
            # call only reads a setting).
            op.execute(
                f"CREATE CONSTRAINT TRIGGER registry_version_{table}_commit "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION registry_version_bump()"
            )
        return
    for table in WATCHED_TABLES:
        # SQLite has row triggers only (~1.5 µs per row written).
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER registry_version_{table}_{event} AFTER {event.upper()} "
                f"ON {table} BEGIN UPDATE registry_version SET counter = counter + 1, "
                "token = random() WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER registry_version_{table}_commit ON {table}")
            op.execute(f"DROP TRIGGER registry_version_{table} ON {table}")
        op.execute("DROP FUNCTION registry_version_bump()")
        op.execute("DROP FUNCTION registry_version_stamp()")
        op.execute("DROP SEQUENCE registry_version_token")
    else:
        for table in WATCHED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER registry_version_{table}_{event}")
    op.drop_table("registry_version")
