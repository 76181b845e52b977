"""Summaries, gaps and details on the hand-built dataset of conftest.py, worked out by hand."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jvap.errors import InvalidInput, NotFound
from jvap.reports import breakdowns, queries, service
from jvap.reports.schemas import Counts, Summary, SummaryFilters
from tests.reports.conftest import Dataset


def summarise(session: Session, dimension: str, **filters: Any) -> Summary:
    return service.summarise(session, dimension=dimension, filters=SummaryFilters(**filters))


def rows(summary: Summary) -> dict[str, Any]:
    return {row.key: row for row in summary.rows}


def years(counts: Counts) -> dict[str, int]:
    return {year: n for year, n in counts.by_start_year.items() if n}


def figures(counts: Counts) -> tuple[int, int, int, float, int]:
    return (
        counts.initiatives,
        counts.projects,
        counts.policies,
        counts.budget_eur,
        counts.partners_reporting,
    )


def test_countries(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "countries")
    by_key = rows(summary)
    # Implemented in SEN, MLI, ETH, LBN, TUN; FRA and GBR only fund.
    assert list(by_key) == ["ETH", "FRA", "LBN", "MLI", "SEN", "TUN", "GBR"]  # by English name
    sen = by_key["SEN"]
    assert figures(sen) == (3, 3, 0, 4_250_000.0, 3)
    assert sen.by_status == {"planned": 0, "ongoing": 2, "completed": 1, "suspended": 0}
    # The multi-country I2 counts in full in SEN, MLI and ETH, flagged as shared.
    assert (sen.shared_initiatives, sen.shared_budget_eur) == (1, 3_000_000.0)
    assert figures(by_key["MLI"]) == (1, 1, 0, 3_000_000.0, 1)
    assert figures(by_key["ETH"]) == (2, 1, 1, 3_000_000.0, 2)
    assert figures(by_key["LBN"]) == (1, 1, 0, 500_000.0, 1)
    assert by_key["LBN"].group is None and sen.group == "west_africa"
    assert years(sen) == {"2018": 1, "2019": 1, "2020": 1}
    # As funder: FRA funds I1 and I2, GBR I4, TUN I6 (which it also implements).
    assert (by_key["FRA"].initiatives, by_key["FRA"].initiatives_funded) == (0, 2)
    assert by_key["FRA"].budget_eur_funded == 4_000_000.0
    assert (by_key["GBR"].initiatives_funded, by_key["GBR"].budget_eur_funded) == (1, 500_000.0)
    tun = by_key["TUN"]
    assert (tun.budget_eur, tun.budget_eur_funded) == (700_000.0, 700_000.0)
    assert sen.initiatives_funded == 0
    # Distinct total: I1 I2 I3 I4 I6 I8; I5 is continental; I2 is in three rows.
    assert summary.rows_sum == 8
    assert figures(summary.total) == (6, 5, 1, 5_450_000.0, 6)
    assert summary.counted_in_several_rows == 1
    assert summary.budget_eur_in_several_rows == 3_000_000.0
    assert summary.outside_rows == 1
    assert "full budget" in summary.budget_attribution


def test_processes_count_involvement_and_state_the_overlap(
    session: Session, dataset: Dataset
) -> None:
    summary = summarise(session, "processes")
    by_key = rows(summary)
    assert list(by_key) == ["KP", "RP"]
    rp, kp = by_key["RP"], by_key["KP"]
    assert figures(rp) == (5, 5, 0, 6_950_000.0, 4)
    assert rp.by_status == {"planned": 0, "ongoing": 3, "completed": 1, "suspended": 1}
    assert figures(kp) == (3, 2, 1, 3_700_000.0, 3)
    assert (rp.shared_initiatives, kp.shared_initiatives) == (2, 2)
    assert years(rp) == {"2017": 1, "2018": 1, "2019": 1, "2020": 1, "2022": 1}
    # Across processes each initiative once: RP or KP is 6, not 5 + 3.
    assert summary.rows_sum == 8
    assert figures(summary.total) == (6, 5, 1, 6_950_000.0, 5)
    assert summary.counted_in_several_rows == 2
    assert summary.outside_rows == 1  # I4: GBR reports on LBN, neither a current member
    [overlap] = summary.overlaps
    assert (overlap.processes, overlap.initiatives, overlap.budget_eur) == (
        ["KP", "RP"],
        2,
        3_700_000.0,
    )
    assert "current member" in summary.process_involvement


def test_domains(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "domains")
    by_key = rows(summary)
    assert list(by_key) == ["D1", "D2", "D3", "D4", "D5"]  # every domain, even empty ones
    assert figures(by_key["D1"]) == (3, 3, 0, 4_250_000.0, 3)
    assert figures(by_key["D2"]) == (0, 0, 0, 0.0, 0)
    assert figures(by_key["D3"]) == (2, 1, 1, 3_000_000.0, 2)
    assert figures(by_key["D4"]) == (2, 2, 0, 1_200_000.0, 2)
    assert figures(by_key["D5"]) == (1, 1, 0, 2_000_000.0, 1)
    assert by_key["D1"].shared_budget_eur == 3_000_000.0
    assert summary.rows_sum == 8
    assert figures(summary.total) == (7, 6, 1, 7_450_000.0, 6)
    assert summary.total.by_status == {
        "planned": 1,
        "ongoing": 4,
        "completed": 1,
        "suspended": 1,
    }
    assert years(summary.total) == {
        "2017": 1,
        "2018": 1,
        "2019": 1,
        "2020": 2,
        "2021": 1,
        "2022": 1,
    }
    assert (summary.counted_in_several_rows, summary.outside_rows) == (1, 0)


def test_priorities(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "priorities")
    by_key = rows(summary)
    assert len(by_key) == 20  # the whole list, so that empty priorities show
    counted = {key: row.initiatives for key, row in by_key.items() if row.initiatives}
    assert counted == {"D1.01": 3, "D3.01": 1, "D3.02": 1, "D4.01": 2}
    assert by_key["D3.02"].group == "D3"
    assert summary.rows_sum == 7
    assert summary.total.initiatives == 6
    assert (summary.counted_in_several_rows, summary.outside_rows) == (1, 1)  # I2; I5


def test_regions(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "regions")
    by_key = rows(summary)
    assert figures(by_key["west_africa"]) == (3, 3, 0, 4_250_000.0, 3)
    assert figures(by_key["east_africa_horn"]) == (2, 1, 1, 3_000_000.0, 2)
    assert by_key["north_africa"].initiatives == 1
    assert by_key["europe"].initiatives == 0
    assert summary.rows_sum == 6
    assert summary.total.initiatives == 5
    # I4 is in LBN, which has no region; I5 has no country.
    assert (summary.counted_in_several_rows, summary.outside_rows) == (1, 2)


def test_change_since_the_previous_campaign(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "domains", campaign="2025")
    window = summary.change_window
    assert window is not None
    assert (window.campaign, window.previous_campaign) == ("2025", "2020")
    assert (window.since, window.until) == (date(2020, 9, 1), date(2025, 12, 31))
    change = summary.total.change
    assert change is not None
    # New: I3, I4, I6 (its second revision is in the same window); updated: I1, I2.
    assert (change.new, change.updated, change.completed) == (3, 2, 1)
    d1 = rows(summary)["D1"].change
    assert d1 is not None and (d1.new, d1.updated, d1.completed) == (0, 2, 1)


def test_as_of_counts_what_was_recorded_by_then(session: Session, dataset: Dataset) -> None:
    summary = summarise(session, "domains", as_of=date(2020, 12, 31))
    assert summary.total.initiatives == 4  # I1, I2, I5, I8
    window = summary.change_window
    assert window is not None
    assert (window.campaign, window.previous_campaign, window.since) == ("2020", None, None)
    change = summary.total.change
    assert change is not None and (change.new, change.updated, change.completed) == (4, 0, 0)


def test_pending_initiatives_count_only_on_request(session: Session, dataset: Dataset) -> None:
    published = rows(summarise(session, "countries"))["SEN"]
    with_pending = rows(summarise(session, "countries", include_pending=True))["SEN"]
    assert (published.initiatives, with_pending.initiatives) == (3, 4)
    assert with_pending.budget_eur == 4_650_000.0


@pytest.mark.parametrize(
    ("dimension", "filters", "expected"),
    [
        ("countries", {"process": "KP"}, {"ETH": 2, "MLI": 1, "SEN": 1, "TUN": 1}),
        ("domains", {"region": "west_africa"}, {"D1": 3, "D3": 1}),
        ("priorities", {"domain": "D3"}, {"D3.01": 1, "D3.02": 1}),
        ("countries", {"region": "east_africa_horn"}, {"ETH": 2}),
        ("processes", {"process": "RP"}, {"RP": 5}),
    ],
)
def test_filters(
    session: Session,
    dataset: Dataset,
    dimension: str,
    filters: dict[str, Any],
    expected: dict[str, int],
) -> None:
    summary = summarise(session, dimension, **filters)
    assert {key: row.initiatives for key, row in rows(summary).items() if row.initiatives} == (
        expected
    )


def test_domain_filter_limits_the_priority_rows(session: Session, dataset: Dataset) -> None:
    assert set(rows(summarise(session, "priorities", domain="D3"))) == {"D3.01", "D3.02", "D3.03"}


def test_unknown_filter_values_are_invalid_input(session: Session, dataset: Dataset) -> None:
    with pytest.raises(InvalidInput) as caught:
        summarise(session, "domains", process="XX", domain="D9", campaign="1999")
    fields = {issue["field"] for issue in caught.value.issues}
    assert fields == {"process", "domain", "campaign"}


def test_country_detail(session: Session, dataset: Dataset) -> None:
    detail = service.summarise_country(session, iso3="sen", filters=SummaryFilters())
    assert figures(detail.summary) == (3, 3, 0, 4_250_000.0, 3)
    assert {r.key: r.initiatives for r in detail.by_domain} == {"D1": 3, "D3": 1}
    assert {r.key: r.initiatives for r in detail.by_priority} == {"D1.01": 3, "D3.01": 1}
    assert {r.key: r.initiatives for r in detail.by_process} == {"RP": 3, "KP": 1}
    funder = service.summarise_country(session, iso3="FRA", filters=SummaryFilters())
    assert (funder.summary.initiatives, funder.summary.budget_eur_funded) == (0, 4_000_000.0)
    with pytest.raises(NotFound):
        service.summarise_country(session, iso3="XXX", filters=SummaryFilters())


def test_process_detail(session: Session, dataset: Dataset) -> None:
    detail = service.summarise_process(session, code="kp", filters=SummaryFilters())
    assert figures(detail.summary) == (3, 2, 1, 3_700_000.0, 3)
    assert {r.key: r.initiatives for r in detail.by_country} == {
        "ETH": 2,
        "MLI": 1,
        "SEN": 1,
        "TUN": 1,
    }
    assert {r.key: r.initiatives for r in detail.by_domain} == {"D1": 1, "D3": 2, "D4": 1}
    with pytest.raises(NotFound):
        service.summarise_process(session, code="XX", filters=SummaryFilters())


def test_gaps_and_overlaps(session: Session, dataset: Dataset) -> None:
    gaps = service.find_gaps(session, filters=SummaryFilters(), few=1)
    active = {g.key: g.active_initiatives for g in gaps.priorities}
    # Active (ongoing): I1, I3, I6, I8. D1.01 has two (I1, I8), so it is no gap at few=1.
    assert "D1.01" not in active
    assert (active["D3.02"], active["D4.01"], active["D3.01"], active["D2.01"]) == (1, 1, 0, 0)
    countries = {g.key: g.active_initiatives for g in gaps.countries}
    assert "SEN" not in countries  # two active
    assert (countries["ETH"], countries["TUN"], countries["MLI"]) == (1, 1, 0)
    assert "FRA" not in countries  # only African partner states are expected to implement
    [overlap] = gaps.overlaps
    assert (overlap.country, overlap.priority, overlap.initiatives) == ("SEN", "D1.01", 2)
    assert [(p.partner, p.initiatives) for p in overlap.partners] == [("EU", 1), ("SEN", 1)]


def test_pairwise_process_overlaps_agree_with_the_two_process_shortcut(
    session: Session, dataset: Dataset
) -> None:
    # The query used when there are more than two processes gives the same answer.
    pairwise = breakdowns.process_overlaps(session, scope=queries.Scope())
    assert pairwise.to_dict("records") == [
        {"first": "KP", "second": "RP", "initiatives": 2, "budget_eur": 3_700_000.0}
    ]
