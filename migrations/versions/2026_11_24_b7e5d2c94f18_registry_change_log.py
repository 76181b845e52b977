"""Registry change log: which initiatives each registry version touched.

Revision ID: b7e5d2c94f18
Revises: 8a4c1f6e2b37
Create Date: 2026-11-24 02:30:00.000000

The summaries' snapshot (jvap/reports/snapshot.py) used to read the whole registry again
after any write (~0.4 s over 100,000 initiatives). With this log it reads only the
initiatives written since the version it holds. Each backend keeps the log its own way:

- SQLite (one writer at a time, row triggers only): one row per initiative, the registry
  counter of its latest write. The version triggers are recreated to write both.
- PostgreSQL (counters are handed out at commit): one row per write statement with the
  distinct initiative ids it touched, from transition tables; the commit-time bump stamps
  the transaction's rows with its counter and, now and then, prunes old rows, moving
  registry_version.change_floor up to the newest counter it may have deleted.

Initiative id 0 stands for "anything": a write to a reference table (partner countries,
regions, memberships feed the summaries everywhere) or a TRUNCATE.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e5d2c94f18"
down_revision: str | None = "8a4c1f6e2b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Watched table -> the column holding the initiative id, or None for a reference table.
# Keep in step with jvap/reports/models.py WATCHED_TABLES.
INITIATIVE_COLUMN = {
    "initiative": "id",
    "initiative_country": "initiative_id",
    "initiative_domain": "initiative_id",
    "initiative_priority": "initiative_id",
    "initiative_funder": "initiative_id",
    "initiative_revision": "initiative_id",
    "country": None,
    "partner": None,
    "priority": None,
    "process_membership": None,
}
EVENTS = ("insert", "update", "delete")
# PostgreSQL keeps the rows of this many latest commits; a snapshot older than that reads
# everything again.
KEPT_COMMITS = 4096

BUMP_BEFORE = (
    "CREATE OR REPLACE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF coalesce(current_setting('jvap.registry_bumped', true), '') = '' THEN "
    "UPDATE registry_version SET counter = counter + 1, "
    "token = nextval('registry_version_token') WHERE id = 1; "
    "PERFORM set_config('jvap.registry_bumped', 'yes', true); "
    "END IF; "
    "RETURN NULL; END $$"
)
STAMP_BEFORE = (
    "CREATE OR REPLACE FUNCTION registry_version_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "PERFORM set_config('jvap.registry_stamp', "
    "nextval('registry_version_token')::text, true); "
    "IF TG_OP = 'TRUNCATE' THEN "
    "UPDATE registry_version SET counter = counter + 1, "
    "token = nextval('registry_version_token') WHERE id = 1; "
    "END IF; "
    "RETURN NULL; END $$"
)


def _sqlite_trigger(table: str, event: str, *, log: bool) -> str:
    body = "UPDATE registry_version SET counter = counter + 1, token = random() WHERE id = 1; "
    if log:
        column = INITIATIVE_COLUMN[table]
        rows = {"insert": ["NEW"], "update": ["NEW", "OLD"], "delete": ["OLD"]}[event]
        for position, row in enumerate(rows):
            initiative = f"{row}.{column}" if column else "0"
            # An update that keeps the id logs it once.
            unchanged = f" AND OLD.{column} IS NOT NEW.{column}" if position else ""
            if position and not column:
                continue
            body += (
                "INSERT OR REPLACE INTO registry_change (initiative_id, counter) "
                f"SELECT {initiative}, counter FROM registry_version WHERE id = 1{unchanged}; "
            )
    return (
        f"CREATE TRIGGER registry_version_{table}_{event} AFTER {event.upper()} "
        f"ON {table} BEGIN {body}END"
    )


def _postgresql_log_function(table: str) -> str:
    column = INITIATIVE_COLUMN[table] or "0::bigint"

    def log(rows: str) -> str:
        return (
            "INSERT INTO registry_change (initiative_ids) "
            f"SELECT array_agg(DISTINCT {column}) FROM ({rows}) AS touched HAVING count(*) > 0; "
        )

    # Each branch names only the transition tables its trigger declares: PL/pgSQL plans a
    # statement when it first runs it.
    return (
        f"CREATE FUNCTION registry_change_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        + log("SELECT * FROM new_rows")
        + "ELSIF TG_OP = 'DELETE' THEN "
        + log("SELECT * FROM old_rows")
        + "ELSE "
        + log("SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows")
        + "END IF; RETURN NULL; END $$"
    )


def upgrade() -> None:
    op.add_column(
        "registry_version",
        sa.Column("change_floor", sa.BigInteger(), server_default="0", nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        op.execute(
            "CREATE TABLE registry_change (initiative_id INTEGER PRIMARY KEY, "
            "counter BIGINT NOT NULL)"
        )
        op.execute("CREATE INDEX ix_registry_change_counter ON registry_change (counter)")
        for table in INITIATIVE_COLUMN:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER registry_version_{table}_{event}")
                op.execute(_sqlite_trigger(table, event, log=True))
        return

    op.execute(
        "CREATE TABLE registry_change (id bigserial PRIMARY KEY, "
        "xid xid8 NOT NULL DEFAULT pg_current_xact_id(), counter bigint, "
        "initiative_ids bigint[] NOT NULL)"
    )
    op.execute("CREATE INDEX ix_registry_change_counter ON registry_change (counter)")
    # The commit-time bump finds its transaction's rows, the only ones still without counter.
    op.execute("CREATE INDEX ix_registry_change_xid ON registry_change (xid) WHERE counter IS NULL")
    for table in INITIATIVE_COLUMN:
        op.execute(_postgresql_log_function(table))
        for event, referencing in (
            ("insert", "NEW TABLE AS new_rows"),
            ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("delete", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER registry_change_{table}_{event} AFTER {event.upper()} "
                f"ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION registry_change_{table}()"
            )
    # TRUNCATE has no transition table and bumps the counter at once: log "anything" with it.
    op.execute(
        "CREATE OR REPLACE FUNCTION registry_version_stamp() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ "
        "BEGIN "
        "PERFORM set_config('jvap.registry_stamp', "
        "nextval('registry_version_token')::text, true); "
        "IF TG_OP = 'TRUNCATE' THEN "
        "UPDATE registry_version SET counter = counter + 1, "
        "token = nextval('registry_version_token') WHERE id = 1; "
        "INSERT INTO registry_change (counter, initiative_ids) "
        "SELECT counter, '{0}' FROM registry_version WHERE id = 1; "
        "END IF; "
        "RETURN NULL; END $$"
    )
    # Rows a statement logs after the bump (SET CONSTRAINTS ... IMMEDIATE fires deferred
    # triggers early) keep a null counter: readers count those as touched every time.
    op.execute(
        "CREATE OR REPLACE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ "
        "DECLARE bumped bigint; "
        "BEGIN "
        "IF coalesce(current_setting('jvap.registry_bumped', true), '') = '' THEN "
        "UPDATE registry_version SET counter = counter + 1, "
        "token = nextval('registry_version_token') WHERE id = 1 RETURNING counter INTO bumped; "
        "UPDATE registry_change SET counter = bumped "
        "WHERE xid = pg_current_xact_id() AND counter IS NULL; "
        f"IF bumped % 256 = 0 AND bumped > {KEPT_COMMITS} THEN "
        f"DELETE FROM registry_change WHERE counter <= bumped - {KEPT_COMMITS}; "
        f"UPDATE registry_version SET change_floor = bumped - {KEPT_COMMITS} WHERE id = 1; "
        "END IF; "
        "PERFORM set_config('jvap.registry_bumped', 'yes', true); "
        "END IF; "
        "RETURN NULL; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in INITIATIVE_COLUMN:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER registry_version_{table}_{event}")
                op.execute(_sqlite_trigger(table, event, log=False))
    else:
        op.execute(BUMP_BEFORE)
        op.execute(STAMP_BEFORE)
        for table in INITIATIVE_COLUMN:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER registry_change_{table}_{event} ON {table}")
            op.execute(f"DROP FUNCTION registry_change_{table}()")
    op.execute("DROP TABLE registry_change")
    op.execute("ALTER TABLE registry_version DROP COLUMN change_floor")
