"""Accounts: web sessions, invitations, sign-in attempts; audit_event made append-only.

Revision ID: 1265f3389403
Revises: c2c394a09bc7
Create Date: 2026-11-23 16:25:08.818868
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1265f3389403"
down_revision: str | None = "c2c394a09bc7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append-only below the application too: UPDATE, DELETE (and TRUNCATE on
# PostgreSQL) on audit_event fail. A later batch migration that rebuilds audit_event on
# SQLite must create these triggers again.
_SQLITE_GUARD = [
    f"""
    CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
    """
    for verb in ("UPDATE", "DELETE")
]
_POSTGRESQL_GUARD = [
    """
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
]


def _create_audit_guard() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_GUARD if dialect == "postgresql" else _SQLITE_GUARD:
        op.execute(statement)


def _drop_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")


def upgrade() -> None:
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_attempt_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_sign_in_attempt_email_ip_at", ["email", "ip_address", "at"], unique=False
        )
        batch_op.create_index("ix_sign_in_attempt_ip_at", ["ip_address", "at"], unique=False)

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["user.id"], name=op.f("fk_invitation_invited_by_id_user")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_invitation_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_user_session_session_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    _create_audit_guard()


def downgrade() -> None:
    _drop_audit_guard()
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_user_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_attempt_ip_at")
        batch_op.drop_index("ix_sign_in_attempt_email_ip_at")
        batch_op.drop_index(batch_op.f("ix_sign_in_attempt_at"))

    op.drop_table("sign_in_attempt")
