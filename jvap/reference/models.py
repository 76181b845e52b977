"""ORM models for reference data."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jvap.db import Base, utcnow


class Region(Base):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_fr: Mapped[str] = mapped_column(String(100))


class Country(Base):
    """Any country an initiative can be implemented in (all of ISO 3166-1)."""

    __tablename__ = "country"

    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_fr: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    region_verified: Mapped[bool] = mapped_column(default=False)


class Partner(Base):
    """A JVAP partner: a state (code = ISO3) or an organisation (code = acronym)."""

    __tablename__ = "partner"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # state | organisation
    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))
    country_iso3: Mapped[str | None] = mapped_column(ForeignKey("country.iso3"), unique=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    # One of the funder categories (african_country, eu_institution, ...).
    category: Mapped[str] = mapped_column(String(32))
    is_jvap_partner: Mapped[bool] = mapped_column(default=True)
    verified: Mapped[bool] = mapped_column(default=False)

    memberships: Mapped[list["ProcessMembership"]] = relationship(back_populates="partner")


class Process(Base):
    __tablename__ = "process"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(300))
    established: Mapped[str | None] = mapped_column(String(10))

    memberships: Mapped[list["ProcessMembership"]] = relationship(back_populates="process")


class ProcessMembership(Base):
    __tablename__ = "process_membership"

    process_code: Mapped[str] = mapped_column(ForeignKey("process.code"), primary_key=True)
    # Indexed on its own: the process rule looks memberships up by partner.
    partner_code: Mapped[str] = mapped_column(
        ForeignKey("partner.code"), primary_key=True, index=True
    )
    # partner | observer | member | former_partner | former_member | unclear
    status: Mapped[str] = mapped_column(String(32))
    since: Mapped[date | None]
    until: Mapped[str | None] = mapped_column(String(10))
    verified: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)

    process: Mapped[Process] = relationship(back_populates="memberships")
    partner: Mapped[Partner] = relationship(back_populates="memberships")


class Domain(Base):
    __tablename__ = "domain"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title_en: Mapped[str] = mapped_column(String(300))
    title_fr: Mapped[str] = mapped_column(String(300))
    verified: Mapped[bool] = mapped_column(default=False)
    title_fr_verified: Mapped[bool] = mapped_column(default=False)


class ReferenceListVersion(Base):
    """One load of a replaceable reference list (e.g. the priority list)."""

    __tablename__ = "reference_list_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Priority(Base):
    """The level below a domain: a priority area or an action within one."""

    __tablename__ = "priority"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    domain_code: Mapped[str] = mapped_column(ForeignKey("domain.code"), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("priority.code"))
    level: Mapped[str] = mapped_column(String(8), default="action")  # area | action
    title_en: Mapped[str] = mapped_column(Text)
    title_fr: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(default=False)
    priority_initiative_2015: Mapped[bool | None]
    list_version: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(default=0)
