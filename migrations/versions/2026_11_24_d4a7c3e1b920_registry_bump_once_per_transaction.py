"""Registry version on PostgreSQL: one deferred trigger event per transaction, not per row.

Revision ID: d4a7c3e1b920
Revises: b7e5d2c94f18
Create Date: 2026-11-24 03:00:00.000000

The counter was bumped at commit by a deferred constraint trigger on every row of every
watched table: accepting 5,000 initiatives queued ~100,000 events, each calling a function
that found the bump done (55-95 ms of the accept). Now the first logging statement of a
transaction inserts one row into registry_pending, whose deferred trigger bumps the counter
at commit, stamps the transaction's change-log rows and deletes the row. The log functions
know whether a statement changed rows (a statement that changes none stays unlogged and
bumps nothing, as before). SQLite is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d4a7c3e1b920"
down_revision: str | None = "b7e5d2c94f18"
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
KEPT_COMMITS = 4096


def _log_function(table: str, *, arm: bool) -> str:
    """registry_change_<table>(): logs the statement's initiatives; with `arm`, also makes
    sure that the commit bumps the counter."""
    column = INITIATIVE_COLUMN[table] or "0::bigint"
    # The setting first: with constraints IMMEDIATE the bump fires inside the INSERT and
    # clears it, so that the next statement arms again.
    armed = (
        "IF FOUND AND coalesce(current_setting('jvap.registry_pending', true), '') = '' THEN "
        "PERFORM set_config('jvap.registry_pending', 'yes', true); "
        "INSERT INTO registry_pending (xid) VALUES (pg_current_xact_id()) "
        "ON CONFLICT DO NOTHING; "
        "END IF; "
        if arm
        else ""
    )

    def log(rows: str) -> str:
        return (
            "INSERT INTO registry_change (initiative_ids) "
            f"SELECT array_agg(DISTINCT {column}) FROM ({rows}) AS touched HAVING count(*) > 0; "
            + armed
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


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE registry_pending (xid xid8 PRIMARY KEY)")
    # At commit: the counter once, this transaction's log rows stamped with it, now and
    # then old log rows pruned. The setting is cleared so that a statement after an early
    # firing (SET CONSTRAINTS ... IMMEDIATE) arms the bump again.
    op.execute(
        "CREATE OR REPLACE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ "
        "DECLARE bumped bigint; "
        "BEGIN "
        "UPDATE registry_version SET counter = counter + 1, "
        "token = nextval('registry_version_token') WHERE id = 1 RETURNING counter INTO bumped; "
        "UPDATE registry_change SET counter = bumped "
        "WHERE xid = pg_current_xact_id() AND counter IS NULL; "
        f"IF bumped % 256 = 0 AND bumped > {KEPT_COMMITS} THEN "
        f"DELETE FROM registry_change WHERE counter <= bumped - {KEPT_COMMITS}; "
        f"UPDATE registry_version SET change_floor = bumped - {KEPT_COMMITS} WHERE id = 1; "
        "END IF; "
        "DELETE FROM registry_pending WHERE xid = NEW.xid; "
        "PERFORM set_config('jvap.registry_pending', '', true); "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER registry_pending_commit AFTER INSERT ON registry_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION registry_version_bump()"
    )
    for table in INITIATIVE_COLUMN:
        op.execute(f"DROP TRIGGER registry_version_{table}_commit ON {table}")
        op.execute(_log_function(table, arm=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in INITIATIVE_COLUMN:
        op.execute(_log_function(table, arm=False))
    op.execute("DROP TRIGGER registry_pending_commit ON registry_pending")
    op.execute("DROP TABLE registry_pending")
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
    for table in INITIATIVE_COLUMN:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER registry_version_{table}_commit "
            f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION registry_version_bump()"
        )
