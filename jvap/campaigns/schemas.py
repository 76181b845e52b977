"""Pydantic schemas for campaigns, submissions and progress."""

from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator


class CampaignCreate(BaseModel):
    """A campaign definition, from `campaigns/<code>.toml` or an API body."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    title: str = Field(min_length=1, max_length=200)
    questionnaire_version: str = Field(default="1", min_length=1, max_length=16)
    opens_on: date = Field(validation_alias=AliasChoices("opens_on", "opens"))
    closes_on: date = Field(validation_alias=AliasChoices("closes_on", "closes"))
    processes: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates_in_order(self) -> "CampaignCreate":
        if self.closes_on < self.opens_on:
            raise ValueError("closes must not be before opens")
        return self


class CampaignRead(BaseModel):
    code: str
    title: str
    questionnaire_version: str
    opens_on: date
    closes_on: date
    status: str
    processes: list[str]
    partners: int


class SubmissionRead(BaseModel):
    """An upload and what came of it; `issues` carry messages in the requested language."""

    id: int
    campaign: str
    partner: str
    status: str
    channel: str
    filename: str
    content_type: str | None
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str | None
    summary: dict[str, Any]
    issues: list[dict[str, Any]]
    diff: dict[str, Any]
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_comment: str | None
    duplicate: bool = False


class ReturnRequest(BaseModel):
    comment: str = Field(min_length=1, max_length=4000)


class AcceptRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=4000)


class PartnerProgress(BaseModel):
    partner: str
    name: str
    processes: list[str]
    state: str  # not_started | uploaded_with_errors | submitted | returned | accepted
    submissions: int
    last_upload_at: datetime | None
    submitted_at: datetime | None
    on_time: bool | None  # None while nothing was submitted and the deadline has not passed
    late: bool


class ProgressCounts(BaseModel):
    expected: int
    not_started: int
    uploaded_with_errors: int
    submitted: int
    returned: int
    accepted: int
    on_time: int
    late: int
    submission_rate: float
    acceptance_rate: float
    on_time_rate: float


class ProcessProgress(ProgressCounts):
    process: str


class CampaignProgress(BaseModel):
    campaign: str
    title: str
    status: str
    opens_on: date
    closes_on: date
    as_of: date
    totals: ProgressCounts
    processes: list[ProcessProgress]
    partners: list[PartnerProgress]
