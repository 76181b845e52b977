"""ORM models for campaigns, assignments and submissions."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jvap.db import Base, JSONDocument, utcnow


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    questionnaire_version: Mapped[str] = mapped_column(String(16), default="1")
    opens_on: Mapped[date]
    closes_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | open | closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    processes: Mapped[list["CampaignProcess"]] = relationship(cascade="all, delete-orphan")
    assignments: Mapped[list["Assignment"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )


class CampaignProcess(Base):
    __tablename__ = "campaign_process"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    process_code: Mapped[str] = mapped_column(ForeignKey("process.code"), primary_key=True)


class Assignment(Base):
    """A partner expected to answer a campaign."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("campaign_id", "partner_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    partner_code: Mapped[str] = mapped_column(ForeignKey("partner.code"), index=True)

    campaign: Mapped[Campaign] = relationship(back_populates="assignments")
    submissions: Mapped[list["Submission"]] = relationship(
        back_populates="assignment", order_by="Submission.id"
    )


class Submission(Base):
    """One uploaded file (or API batch) for an assignment, kept raw before anything else."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8), default="api")  # web | api | cli
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Deferred: listing submissions must not pull every file into memory.
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # received | invalid | pending_review | returned | accepted | superseded
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    # Parse and validation report: counts, issues, diff summary. Report and change set are
    # megabytes written once and read whole, never queried inside: JSON as text, neither
    # JSONB, whose conversion costs twice the write, nor json, which parses every byte to
    # check it (lz4-compressed on PostgreSQL, see migrations).
    # Deferred too: an upload looks at the partner's previous submissions but not at their
    # reports (reading one back cost a re-upload 36 ms on SQLite).
    report: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict, deferred=True)
    # What accept will apply: new rows and field-by-field changes.
    change_set: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict, deferred=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[Assignment] = relationship(back_populates="submissions")
