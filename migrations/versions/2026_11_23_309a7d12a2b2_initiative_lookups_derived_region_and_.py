"""Initiative lookups: derived region and process tables, substring search structures.

Revision ID: 309a7d12a2b2
Revises: 1c7608c268c2
Create Date: 2026-11-23 19:19:04.848071

initiative_region and initiative_process cache the region and process rules, so that
those filters count keys instead of de-duplicating joins; they are filled here from the
existing rows. Text search: on SQLite an FTS5 trigram table over title and description,
kept in sync by triggers; on PostgreSQL trigram GIN indexes, which the ILIKE uses as is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "309a7d12a2b2"
down_revision: str | None = "1c7608c268c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of reference_service.CURRENT_STATUSES as of this revision.
CURRENT = "('partner', 'member', 'observer', 'partner_organisation')"

FILL_REGIONS = """
INSERT INTO initiative_region (region_code, initiative_id)
SELECT DISTINCT country.region_code, initiative_country.initiative_id
FROM initiative_country JOIN country ON country.iso3 = initiative_country.country_iso3
WHERE country.region_code IS NOT NULL
"""
FILL_PROCESSES = f"""
INSERT INTO initiative_process (process_code, initiative_id)
SELECT m.process_code, initiative.id
FROM initiative JOIN process_membership AS m ON m.partner_code = initiative.partner_code
WHERE m.status IN {CURRENT}
UNION
SELECT m.process_code, initiative_country.initiative_id
FROM initiative_country
JOIN partner ON partner.country_iso3 = initiative_country.country_iso3
JOIN process_membership AS m ON m.partner_code = partner.code
WHERE m.status IN {CURRENT}
"""

# External content: the FTS5 table stores only the trigram index and reads the text from
# initiative, so the triggers must mirror every insert, delete and text change.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE initiative_search USING fts5("
    "title, description, content='initiative', content_rowid='id', tokenize='trigram')",
    """CREATE TRIGGER initiative_search_insert AFTER INSERT ON initiative BEGIN
        INSERT INTO initiative_search (rowid, title, description)
        VALUES (new.id, new.title, new.description);
    END""",
    """CREATE TRIGGER initiative_search_delete AFTER DELETE ON initiative BEGIN
        INSERT INTO initiative_search (initiative_search, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    END""",
    """CREATE TRIGGER initiative_search_update AFTER UPDATE OF title, description
    ON initiative
    WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
        INSERT INTO initiative_search (initiative_search, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
        INSERT INTO initiative_search (rowid, title, description)
        VALUES (new.id, new.title, new.description);
    END""",
    "INSERT INTO initiative_search (initiative_search) VALUES ('rebuild')",
]


def upgrade() -> None:
    for table, key, length in (
        ("initiative_region", "region_code", 32),
        ("initiative_process", "process_code", 8),
    ):
        # (key, initiative_id) first: a filter counts one key range of the primary key.
        op.create_table(
            table,
            sa.Column(key, sa.String(length=length), nullable=False),
            sa.Column("initiative_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["initiative_id"],
                ["initiative.id"],
                name=op.f(f"fk_{table}_initiative_id_initiative"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(key, "initiative_id", name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_initiative_id"), table, ["initiative_id"])
    op.execute(FILL_REGIONS)
    op.execute(FILL_PROCESSES)

    if op.get_bind().dialect.name == "postgresql":
        # Trusted since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("title", "description"):
            op.create_index(
                f"ix_initiative_{column}_trgm",
                "initiative",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
        # A backward scan of an ascending index gives DESC NULLS FIRST; lists sort NULLS
        # LAST both ways, so the descending orders most used need indexes of their own.
        for column in ("budget_eur", "start_date"):
            op.execute(
                f"CREATE INDEX ix_initiative_{column}_desc "
                f"ON initiative ({column} DESC NULLS LAST, id DESC)"
            )
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The pg_trgm extension stays: it may have existed before, and is harmless.
        for name in (
            "ix_initiative_start_date_desc",
            "ix_initiative_budget_eur_desc",
            "ix_initiative_description_trgm",
            "ix_initiative_title_trgm",
        ):
            op.drop_index(name, table_name="initiative")
    else:
        for trigger in ("update", "delete", "insert"):
            op.execute(f"DROP TRIGGER initiative_search_{trigger}")
        op.execute("DROP TABLE initiative_search")
    for table in ("initiative_region", "initiative_process"):
        op.drop_index(op.f(f"ix_{table}_initiative_id"), table_name=table)
        op.drop_table(table)
