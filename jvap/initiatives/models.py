"""ORM models for initiatives, their multi-valued fields and revisions."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jvap.db import Base, utcnow

REF_PREFIX = "JV-"
REF_DIGITS = 6  # at least; larger ids print all their digits


def format_ref(initiative_id: int) -> str:
    return f"{REF_PREFIX}{initiative_id:0{REF_DIGITS}d}"


def parse_ref(ref: str) -> int | None:
    """The id a public reference such as JV-000123 (or jv-123) stands for, or None."""
    text = ref.strip().upper()
    if not text.startswith(REF_PREFIX):
        return None
    digits = text.removeprefix(REF_PREFIX)
    return int(digits) if digits.isdigit() and 0 < int(digits) < 2**31 else None


class Initiative(Base):
    """A project or policy reported by a partner; its public ref derives from its id."""

    __tablename__ = "initiative"
    # AUTOINCREMENT on SQLite so that an id, and so a public ref, is never reused.
    __table_args__ = (
        Index("ix_initiative_partner_code_id", "partner_code", "id"),
        # Covering indexes for list filters and counts: reading them avoids the wide rows.
        Index(None, "publication_status", "kind", "status", "start_date", "end_date"),
        Index(None, "start_date", "end_date"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_code: Mapped[str] = mapped_column(ForeignKey("partner.code"))
    kind: Mapped[str] = mapped_column(String(16), index=True)  # project | policy
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(String(16))  # national | regional | continental
    budget: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    budget_eur: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), index=True)
    eur_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))  # EUR per unit of currency
    eur_rate_date: Mapped[date | None]
    funder_category: Mapped[str | None] = mapped_column(String(32))
    gender_marker: Mapped[int | None]
    entity: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    remarks: Mapped[str | None] = mapped_column(Text)
    # pending until the follow-up team verifies it; only published ones count in summaries.
    publication_status: Mapped[str] = mapped_column(String(16), default="pending")
    revision: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | questionnaire | demo
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    domains: Mapped[list["InitiativeDomain"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeDomain.domain_code"
    )
    priorities: Mapped[list["InitiativePriority"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativePriority.priority_code"
    )
    countries: Mapped[list["InitiativeCountry"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeCountry.country_iso3"
    )
    funders: Mapped[list["InitiativeFunder"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeFunder.position"
    )
    implementers: Mapped[list["InitiativeImplementer"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeImplementer.position"
    )
    target_groups: Mapped[list["InitiativeTargetGroup"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeTargetGroup.code"
    )
    external_ids: Mapped[list["InitiativeExternalId"]] = relationship(
        cascade="all, delete-orphan", order_by="InitiativeExternalId.value"
    )

    # A plain property: ORM bulk statements inspect hybrids at class level, and a ref is
    # looked up by parsing it back to an id (parse_ref), never by SQL on the text.
    @property
    def ref(self) -> str:
        return format_ref(self.id)


class InitiativeDomain(Base):
    __tablename__ = "initiative_domain"
    # (value, initiative_id): filters and counts read the index alone, never the table.
    __table_args__ = (Index(None, "domain_code", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    domain_code: Mapped[str] = mapped_column(ForeignKey("domain.code"), primary_key=True)


class InitiativePriority(Base):
    __tablename__ = "initiative_priority"
    __table_args__ = (Index(None, "priority_code", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    priority_code: Mapped[str] = mapped_column(ForeignKey("priority.code"), primary_key=True)


class InitiativeCountry(Base):
    __tablename__ = "initiative_country"
    __table_args__ = (Index(None, "country_iso3", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    country_iso3: Mapped[str] = mapped_column(ForeignKey("country.iso3"), primary_key=True)


class InitiativeFunder(Base):
    """A funder as written; linked to a partner when the name is a known partner."""

    __tablename__ = "initiative_funder"
    __table_args__ = (Index(None, "partner_code", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    partner_code: Mapped[str | None] = mapped_column(ForeignKey("partner.code"))


class InitiativeImplementer(Base):
    __tablename__ = "initiative_implementer"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))


class InitiativeTargetGroup(Base):
    __tablename__ = "initiative_target_group"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True)


class InitiativeExternalId(Base):
    __tablename__ = "initiative_external_id"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class InitiativeRegion(Base):
    """Derived: each region one of the initiative's countries is in, once.

    A cache of initiative_country joined with country.region_code, so that a region filter
    counts (region_code, initiative_id) keys instead of de-duplicating country links.
    Rebuilt by initiatives.service.refresh_lookups; no foreign key to region, so that a
    reference reload can replace regions before the rows are rebuilt.
    """

    __tablename__ = "initiative_region"

    region_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class InitiativeProcess(Base):
    """Derived: each process an initiative involves, once (the process summaries' rule).

    Involved: reported by a current member of the process, or implemented in the country
    of a current member. Rebuilt by initiatives.service.refresh_lookups.
    """

    __tablename__ = "initiative_process"

    process_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Search structures that exist on one backend only, created and dropped by migrations and
# left out of the model comparison (alembic check): SQLite's FTS5 table (and the shadow
# tables FTS5 creates for it), PostgreSQL's trigram and descending-order indexes.
# Triggers on initiative keep the FTS5 table in sync; a SQLite batch migration that copies
# the initiative table drops them, so such a migration must create them again.
SEARCH_TABLE = "initiative_search"
DATABASE_ONLY_INDEXES = frozenset(
    {
        "ix_initiative_title_trgm",
        "ix_initiative_description_trgm",
        "ix_initiative_budget_eur_desc",
        "ix_initiative_start_date_desc",
    }
)


# Foreign keys that PostgreSQL checks with statement triggers instead (one join per
# statement, not one lookup per row: see migration e6f1a8b3c5d7), as (table, column):
# every key of the initiative's own tables, except a revision's user and submission.
STATEMENT_CHECKED_KEYS = frozenset(
    {
        ("initiative", "partner_code"),
        *(
            (f"initiative_{child}", "initiative_id")
            for child in (
                "country",
                "domain",
                "external_id",
                "funder",
                "implementer",
                "priority",
                "process",
                "region",
                "revision",
                "target_group",
            )
        ),
        ("initiative_country", "country_iso3"),
        ("initiative_domain", "domain_code"),
        ("initiative_funder", "partner_code"),
        ("initiative_priority", "priority_code"),
    }
)


def is_database_only(name: str | None, type_: str) -> bool:
    """Whether a reflected object is one of those backend-specific search structures."""
    if name is None:
        return False
    if type_ == "table":
        return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")
    return type_ == "index" and name in DATABASE_ONLY_INDEXES


class InitiativeRevision(Base):
    """One change to an initiative: who, when, what changed, and from which submission."""

    __tablename__ = "initiative_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    # {field: [old, new]} for every field that changed; the first revision lists all set fields.
    changes: Mapped[dict[str, Any]]
