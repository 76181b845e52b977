"""Registry change log: which table each logged initiative was written in.

Revision ID: f2b9d4e6a8c1
Revises: e6f1a8b3c5d7
Create Date: 2026-11-24 05:30:00.000000

A summary after a write patched every part of its snapshot for every initiative written,
whatever the write changed: a status change of 5,000 initiatives read their countries,
funders and revisions again (~80 of 150 ms over 100,000 initiatives). With the table named,
each part rereads only the initiatives written in its own table. The log starts afresh
(emptied, change_floor moved up to the current counter), so that a snapshot held from
before reads everything once.

- SQLite: one row per (table, initiative), the counter of the latest write.
- PostgreSQL: each statement's row names its table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2b9d4e6a8c1"
down_revision: str | None = "e6f1a8b3c5d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep in step with jvap/reports/models.py WATCHED_TABLES (None: a reference table).
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
FORGET_THE_LOG = "UPDATE registry_version SET change_floor = counter WHERE id = 1"


def _sqlite_trigger(table: str, event: str, *, named: bool) -> str:
    """The version trigger of b7e5d2c94f18, logging the table's name when `named`."""
    body = "UPDATE registry_version SET counter = counter + 1, token = random() WHERE id = 1; "
    column = INITIATIVE_COLUMN[table]
    rows = {"insert": ["NEW"], "update": ["NEW", "OLD"], "delete": ["OLD"]}[event]
    for position, row in enumerate(rows):
        if position and not column:
            continue
        initiative = f"{row}.{column}" if column else "0"
        # An update that keeps the id logs it once.
        unchanged = f" AND OLD.{column} IS NOT NEW.{column}" if position else ""
        if named:
            body += (
                "INSERT OR REPLACE INTO registry_change (table_name, initiative_id, counter) "
                f"SELECT '{table}', {initiative}, counter FROM registry_version "
                f"WHERE id = 1{unchanged}; "
            )
        else:
            body += (
                "INSERT OR REPLACE INTO registry_change (initiative_id, counter) "
                f"SELECT {initiative}, counter FROM registry_version WHERE id = 1{unchanged}; "
            )
    return (
        f"CREATE TRIGGER registry_version_{table}_{event} AFTER {event.upper()} "
        f"ON {table} BEGIN {body}END"
    )


def _postgresql_log_function(table: str, *, named: bool) -> str:
    """The log function of d4a7c3e1b920, logging the table's name when `named`."""
    column = INITIATIVE_COLUMN[table] or "0::bigint"
    armed = (
        "IF FOUND AND coalesce(current_setting('jvap.registry_pending', true), '') = '' THEN "
        "PERFORM set_config('jvap.registry_pending', 'yes', true); "
        "INSERT INTO registry_pending (xid) VALUES (pg_current_xact_id()) "
        "ON CONFLICT DO NOTHING; "
        "END IF; "
    )
    target, name = "(initiative_ids)", ""
    if named:
        target, name = "(table_name, initiative_ids)", f"'{table}', "

    def log(rows: str) -> str:
        return (
            f"INSERT INTO registry_change {target} "
            f"SELECT {name}array_agg(DISTINCT {column}) FROM ({rows}) AS touched "
            "HAVING count(*) > 0; " + armed
        )

    return (
        f"CREATE OR REPLACE FUNCTION registry_change_{table}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        + log("SELECT * FROM new_rows")
        + "ELSIF TG_OP = 'DELETE' THEN "
        + log("SELECT * FROM old_rows")
        + "ELSE "
        + log("SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows")
        + "END IF; RETURN NULL; END $$"
    )


def _sqlite_log_table(*, named: bool) -> None:
    op.execute("DROP TABLE registry_change")
    if named:
        op.execute(
            "CREATE TABLE registry_change (table_name TEXT NOT NULL, "
            "initiative_id INTEGER NOT NULL, counter BIGINT NOT NULL, "
            "PRIMARY KEY (table_name, initiative_id))"
        )
    else:
        op.execute(
            "CREATE TABLE registry_change (initiative_id INTEGER PRIMARY KEY, "
            "counter BIGINT NOT NULL)"
        )
    op.execute("CREATE INDEX ix_registry_change_counter ON registry_change (counter)")
    for table in INITIATIVE_COLUMN:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER registry_version_{table}_{event}")
            op.execute(_sqlite_trigger(table, event, named=named))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_log_table(named=True)
    else:
        # A transaction still writing keeps its unnamed rows; its counter will be at most
        # the floor set below, so no reader looks at them.
        op.execute("DELETE FROM registry_change WHERE counter IS NOT NULL")
        op.execute("ALTER TABLE registry_change ADD COLUMN table_name text")
        for table in INITIATIVE_COLUMN:
            op.execute(_postgresql_log_function(table, named=True))
    op.execute(FORGET_THE_LOG)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_log_table(named=False)
    else:
        for table in INITIATIVE_COLUMN:
            op.execute(_postgresql_log_function(table, named=False))
        op.execute("ALTER TABLE registry_change DROP COLUMN table_name")
    op.execute(FORGET_THE_LOG)
