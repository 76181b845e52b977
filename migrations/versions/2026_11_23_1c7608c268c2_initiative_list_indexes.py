"""Initiative list indexes: covering (value, initiative_id) ones, filter and sort keys.

Revision ID: 1c7608c268c2
Revises: 1265f3389403
Create Date: 2026-11-23 16:53:08.931006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "1c7608c268c2"
down_revision: str | None = "1265f3389403"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_publication_status"))
        batch_op.create_index(
            batch_op.f("ix_initiative_publication_status"),
            ["publication_status", "kind", "status", "start_date", "end_date"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_initiative_start_date"))
        batch_op.create_index(
            batch_op.f("ix_initiative_start_date"), ["start_date", "end_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_initiative_budget_eur"), ["budget_eur"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiative_updated_at"), ["updated_at"], unique=False)

    with op.batch_alter_table("initiative_country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_country_country_iso3"))
        batch_op.create_index(
            batch_op.f("ix_initiative_country_country_iso3"),
            ["country_iso3", "initiative_id"],
            unique=False,
        )

    with op.batch_alter_table("initiative_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_domain_domain_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_domain_domain_code"),
            ["domain_code", "initiative_id"],
            unique=False,
        )

    with op.batch_alter_table("initiative_funder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_funder_partner_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_funder_partner_code"),
            ["partner_code", "initiative_id"],
            unique=False,
        )

    with op.batch_alter_table("initiative_priority", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_priority_priority_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_priority_priority_code"),
            ["priority_code", "initiative_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("initiative_priority", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_priority_priority_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_priority_priority_code"), ["priority_code"], unique=False
        )

    with op.batch_alter_table("initiative_funder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_funder_partner_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_funder_partner_code"), ["partner_code"], unique=False
        )

    with op.batch_alter_table("initiative_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_domain_domain_code"))
        batch_op.create_index(
            batch_op.f("ix_initiative_domain_domain_code"), ["domain_code"], unique=False
        )

    with op.batch_alter_table("initiative_country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_country_country_iso3"))
        batch_op.create_index(
            batch_op.f("ix_initiative_country_country_iso3"), ["country_iso3"], unique=False
        )

    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_updated_at"))
        batch_op.drop_index(batch_op.f("ix_initiative_budget_eur"))
        batch_op.drop_index(batch_op.f("ix_initiative_start_date"))
        batch_op.create_index(batch_op.f("ix_initiative_start_date"), ["start_date"], unique=False)
        batch_op.drop_index(batch_op.f("ix_initiative_publication_status"))
        batch_op.create_index(
            batch_op.f("ix_initiative_publication_status"), ["publication_status"], unique=False
        )
