"""Submissions: report and change set as text on PostgreSQL, no longer json.

Revision ID: a3d8f1c6e9b4
Revises: f2b9d4e6a8c1
Create Date: 2026-11-24 07:00:00.000000

PostgreSQL only (SQLite stores JSON as text already). The json type parses every byte
written to check its syntax: 13 ms of writing the ~4 MB report and change set of a
5,000-row upload, against 4 ms as text. The application writes and reads them whole with
orjson and never queries inside.

A change of type resets a column's compression to the server default, and the cast
rewrites the table (under an exclusive lock, so uploads wait meanwhile): lz4, chosen in
8a4c1f6e2b37, is set in the same statement, so that the rewrite already uses it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a3d8f1c6e9b4"
down_revision: str | None = "f2b9d4e6a8c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("report", "change_set")


def _change_type(sql_type: str) -> None:
    def alter(with_lz4: bool) -> str:
        actions = []
        for column in COLUMNS:
            actions.append(f"ALTER COLUMN {column} TYPE {sql_type} USING {column}::{sql_type}")
            if with_lz4:
                actions.append(f"ALTER COLUMN {column} SET COMPRESSION lz4")
        return f"ALTER TABLE submission {', '.join(actions)}"

    # As in 8a4c1f6e2b37: a server without lz4 keeps its default compression.
    op.execute(
        f"DO $$ BEGIN EXECUTE '{alter(True)}'; "
        f"EXCEPTION WHEN feature_not_supported OR syntax_error THEN "
        f"RAISE NOTICE 'compression lz4 not available: the default stays'; "
        f"EXECUTE '{alter(False)}'; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _change_type("text")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _change_type("json")
