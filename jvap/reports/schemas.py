"""Pydantic schemas for summaries, gap analysis, campaign progress and report requests."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Dimension = Literal["countries", "regions", "processes", "domains", "priorities"]
ReportFormat = Literal["xlsx", "csv"]
Language = Literal["en", "fr"]

BUDGET_ATTRIBUTION = (
    "Budgets are in EUR (converted at the rate recorded with each initiative). An initiative "
    "that covers several rows of a breakdown (countries, regions, domains, priorities, "
    "processes) is counted, with its full budget, in each of them; nothing is divided. Row "
    "figures therefore do not add up to the total: the total counts every initiative and its "
    "budget once. shared_initiatives / shared_budget_eur show how much of a row comes from "
    "initiatives that also appear in other rows (for countries: multi-country initiatives). "
    "For a country, budget_eur is the budget of initiatives implemented in it and "
    "budget_eur_funded that of initiatives it funds (a co-funded initiative counts in full for "
    "each funder, as funders' shares are not recorded)."
)
PROCESS_INVOLVEMENT = (
    "An initiative involves a process when its reporting partner, or the state of one of its "
    "countries of implementation, is a current member of the process (membership status "
    "partner, member, observer or partner_organisation)."
)


class SummaryFilters(BaseModel):
    """Which initiatives a summary or report covers."""

    campaign: str | None = Field(
        default=None,
        description="Campaign code (e.g. 2025): the change columns compare it with the "
        "previous campaign, and the as-of date defaults to its closing date.",
    )
    as_of: date | None = Field(
        default=None,
        description="Count initiatives recorded on or before this date (with their current "
        "values; past states are not rebuilt).",
    )
    process: str | None = Field(default=None, description="Only initiatives involving it (RP, KP).")
    region: str | None = Field(
        default=None, description="Only initiatives implemented in at least one of its countries."
    )
    domain: str | None = Field(default=None, description="Only initiatives covering it (D1–D5).")
    include_pending: bool = Field(
        default=False, description="Count pending (not yet verified) initiatives too."
    )


class ChangeCounts(BaseModel):
    new: int
    updated: int
    completed: int


class Counts(BaseModel):
    initiatives: int
    projects: int
    policies: int
    by_status: dict[str, int]
    budget_eur: float
    projects_without_budget: int
    partners_reporting: int
    by_start_year: dict[str, int]
    change: ChangeCounts | None = None


class SummaryRow(Counts):
    key: str
    label_en: str
    label_fr: str
    group: str | None = Field(
        default=None, description="Region of a country, domain of a priority."
    )
    shared_initiatives: int = Field(
        description="Initiatives of this row that are also counted in other rows."
    )
    shared_budget_eur: float
    initiatives_funded: int | None = Field(
        default=None, description="Countries only: initiatives the country's state funds."
    )
    budget_eur_funded: float | None = Field(
        default=None, description="Countries only: EUR budget of the initiatives it funds."
    )


class ChangeWindow(BaseModel):
    campaign: str
    previous_campaign: str | None
    since: date | None = Field(description="Day after the previous campaign closed.")
    until: date = Field(description="Last day counted (campaign close or as-of date).")


class ProcessOverlap(BaseModel):
    processes: list[str]
    initiatives: int
    budget_eur: float


class Summary(BaseModel):
    dimension: Dimension
    filters: SummaryFilters
    generated_at: datetime
    rows: list[SummaryRow]
    total: Counts = Field(description="Every initiative in at least one row, counted once.")
    rows_sum: int = Field(description="Sum of the rows' initiative counts (double counts).")
    counted_in_several_rows: int
    budget_eur_in_several_rows: float = Field(
        description="EUR budget of the initiatives counted in several rows (once each)."
    )
    outside_rows: int = Field(
        description="Initiatives matching the filters that fall in no row (e.g. continental "
        "initiatives have no country, some have no priority)."
    )
    overlaps: list[ProcessOverlap] = Field(
        default_factory=list, description="Processes only: initiatives involving both."
    )
    change_window: ChangeWindow | None
    budget_attribution: str = BUDGET_ATTRIBUTION
    process_involvement: str = PROCESS_INVOLVEMENT


class Detail(BaseModel):
    """One country or process with its own breakdowns."""

    summary: SummaryRow
    by_domain: list[SummaryRow]
    by_priority: list[SummaryRow]
    by_country: list[SummaryRow] = Field(default_factory=list)
    by_process: list[SummaryRow] = Field(default_factory=list)
    change_window: ChangeWindow | None
    budget_attribution: str = BUDGET_ATTRIBUTION
    process_involvement: str = PROCESS_INVOLVEMENT


class GapRow(BaseModel):
    key: str
    label_en: str
    label_fr: str
    group: str | None
    active_initiatives: int


class OverlapPartner(BaseModel):
    partner: str
    initiatives: int


class Overlap(BaseModel):
    country: str
    country_label_en: str
    country_label_fr: str
    priority: str
    priority_label_en: str
    priority_label_fr: str
    partners: list[OverlapPartner]
    initiatives: int


class Gaps(BaseModel):
    filters: SummaryFilters
    active_statuses: list[str]
    few: int = Field(description="Rows with at most this many active initiatives are listed.")
    priorities: list[GapRow]
    countries: list[GapRow] = Field(
        description="African JVAP partner states (where initiatives are implemented)."
    )
    overlaps: list[Overlap] = Field(
        description="A priority in a country with active initiatives of several partners."
    )
