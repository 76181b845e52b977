"""Pydantic schemas for initiatives: filters, create/update bodies, reads and history."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jvap.initiatives.rules import FIELDS

Publication = Literal["published", "pending", "all"]
SORT_KEYS = (
    "ref",
    "title",
    "start_date",
    "end_date",
    "budget_eur",
    "updated_at",
    "status",
    "kind",
    "partner",
)
MAX_PAGE_SIZE = 500


def _help(key: str) -> str:
    return FIELDS[key].help_en


class InitiativeFilters(BaseModel):
    """Which initiatives to list or export; repeat a parameter to accept any of its values."""

    model_config = ConfigDict(extra="forbid")

    partner: list[str] = Field(default_factory=list, description="Reporting partner code(s)")
    country: list[str] = Field(default_factory=list, description="Country of implementation (ISO3)")
    process: list[str] = Field(
        default_factory=list,
        description="Process code (RP, KP): reported by a current member or implemented in one",
    )
    region: list[str] = Field(
        default_factory=list, description="Region code of a country of implementation"
    )
    domain: list[str] = Field(default_factory=list, description="Domain code (D1–D5)")
    priority: list[str] = Field(default_factory=list, description="Priority code")
    kind: list[str] = Field(default_factory=list, description="project or policy")
    status: list[str] = Field(
        default_factory=list, description="planned, ongoing, completed or suspended"
    )
    funder: list[str] = Field(
        default_factory=list,
        description="Funder: a partner code, or part of a funder's name",
    )
    active_from: date | None = Field(
        default=None, description="Under way on or after this date (ends on or after it)"
    )
    active_to: date | None = Field(
        default=None, description="Under way on or before this date (starts on or before it)"
    )
    q: str | None = Field(
        default=None, max_length=200, description="Text searched in titles and descriptions"
    )
    publication: Publication = Field(
        default="all", description="published, pending (not yet verified) or all"
    )

    @field_validator(
        "partner", "country", "process", "region", "domain", "priority", "kind", "status", "funder"
    )
    @classmethod
    def _no_nul_in_lists(cls, values: list[str]) -> list[str]:
        # PostgreSQL cannot compare text with a NUL byte; refuse it rather than fail later.
        if any("\x00" in value for value in values):
            raise ValueError("must not contain a NUL character")
        return values

    @field_validator("q")
    @classmethod
    def _no_nul_in_text(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class InitiativeQuery(InitiativeFilters):
    """The list's query string: the filters, the order and the page."""

    sort: str = Field(
        default="ref",
        description="ref, title, start_date, end_date, budget_eur, updated_at, status, kind "
        "or partner; prefix with - for descending",
    )
    page: int = Field(default=1, ge=1)
    size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)

    def filters(self) -> InitiativeFilters:
        return InitiativeFilters(**self.model_dump(exclude={"sort", "page", "size"}))


class InitiativeFields(BaseModel):
    """The data-dictionary fields of an initiative (see the questionnaire's help)."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(default=None, description=_help("kind"))
    title: str | None = Field(default=None, description=_help("title"))
    description: str | None = Field(default=None, description=_help("description"))
    status: str | None = Field(default=None, description=_help("status"))
    start_date: date | None = Field(default=None, description=_help("start_date"))
    end_date: date | None = Field(default=None, description=_help("end_date"))
    domains: list[str] = Field(default_factory=list, description=_help("domains"))
    priorities: list[str] = Field(default_factory=list, description=_help("priorities"))
    scope: str | None = Field(default=None, description=_help("scope"))
    countries: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-3 codes")
    budget: Decimal | None = Field(default=None, description=_help("budget"))
    currency: str | None = Field(default=None, description=_help("currency"))
    funders: list[str] = Field(default_factory=list, description=_help("funders"))
    funder_category: str | None = Field(default=None, description=_help("funder_category"))
    implementers: list[str] = Field(default_factory=list, description=_help("implementers"))
    target_groups: list[str] = Field(default_factory=list, description=_help("target_groups"))
    gender_marker: int | None = Field(default=None, description=_help("gender_marker"))
    entity: str | None = Field(default=None, description=_help("entity"))
    external_ids: list[str] = Field(default_factory=list, description=_help("external_ids"))
    website: str | None = Field(default=None, description=_help("website"))
    remarks: str | None = Field(default=None, description=_help("remarks"))


class InitiativeCreate(InitiativeFields):
    """A new initiative, reported by `partner_code`."""

    partner_code: str = Field(description="Code of the reporting partner (ISO3 or acronym)")


class InitiativeUpdate(BaseModel):
    """A change to an initiative: `revision` as last read, and only the fields to change."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(description="The revision the change is based on (from the last read)")
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    domains: list[str] | None = None
    priorities: list[str] | None = None
    scope: str | None = None
    countries: list[str] | None = None
    budget: Decimal | None = None
    currency: str | None = None
    funders: list[str] | None = None
    funder_category: str | None = None
    implementers: list[str] | None = None
    target_groups: list[str] | None = None
    gender_marker: int | None = None
    entity: str | None = None
    external_ids: list[str] | None = None
    website: str | None = None
    remarks: str | None = None


class InitiativeRead(InitiativeFields):
    """An initiative as stored, with its reference, revision and EUR equivalent."""

    model_config = ConfigDict(extra="ignore")

    ref: str = Field(description="Public reference, e.g. JV-000123; never reused")
    partner_code: str
    revision: int
    publication_status: str = Field(description="published (verified) or pending")
    source: str
    budget_eur: Decimal | None = Field(default=None, description="Budget in EUR")
    eur_rate: Decimal | None = Field(default=None, description="EUR per unit of the currency")
    eur_rate_date: date | None = Field(default=None, description="Date of the ECB rate used")
    funder_partner_codes: list[str | None] = Field(
        default_factory=list, description="The partner each funder was matched to, if any"
    )
    created_at: datetime
    updated_at: datetime


class InitiativePage(BaseModel):
    total: int = Field(description="Initiatives matching the filters, on every page")
    page: int
    size: int
    items: list[InitiativeRead]


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any


class RevisionRead(BaseModel):
    number: int
    changed_at: datetime
    changed_by_id: int | None
    changed_by: str | None = Field(description="Name of the user who made the change")
    submission_id: int | None = Field(description="The accepted submission it came from, if any")
    changes: list[FieldChange]
