"""Breakdowns counted with numpy over the registry snapshot: the counting rules of DESIGN.md."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from jvap.reports import snapshot
from jvap.reports.queries import (
    DIMENSIONS,
    KINDS,
    STATUSES,
    Scope,
    Window,
    measure_columns,
    year_column,
)
from jvap.reports.snapshot import Initiatives, Links, Snapshot


@dataclass(slots=True)
class Breakdown:
    """One breakdown: per-row measures and the distinct total across rows."""

    rows: pd.DataFrame  # key + measure_columns(years) + partners_reporting, by key
    total: pd.Series  # the same measures, each initiative once
    years: list[int]  # the year_YYYY columns present
    outside_rows: int  # initiatives in scope that fall in no row
    in_several_rows: int  # initiatives counted in more than one row


def _datetime64(value: datetime) -> np.datetime64:
    """An aware datetime as the naive UTC datetime64 the snapshot stores."""
    return np.datetime64(value.astimezone(UTC).replace(tzinfo=None), "us")


def _hit(size: int, initiative: np.ndarray) -> np.ndarray:
    """Boolean per initiative: listed in `initiative` at least once."""
    mask = np.zeros(size, dtype=bool)
    mask[initiative] = True
    return mask


def _keys_where(links: Links, keep: Sequence[bool]) -> np.ndarray:
    """The link pairs whose key passes `keep` (one flag per distinct key)."""
    return np.asarray(keep, dtype=bool)[links.key.codes]


# --- derived link pairs -------------------------------------------------------------------


def _regions(session: Session, snap: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (initiative, region) pairs from the countries of implementation."""
    countries: Links = snap.part(session, "countries")
    reference = snap.part(session, "reference")

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        region_of = [reference.country_region.get(c) for c in countries.key.values]
        regions = np.array(sorted({r for r in region_of if r is not None}), dtype=object)
        position = {r: i for i, r in enumerate(regions)}
        code = np.array([position.get(r, -1) for r in region_of], dtype=np.int64)
        pair_region = code[countries.key.codes] if len(code) else np.zeros(0, dtype=np.int64)
        known = pair_region >= 0
        # A flag per (initiative, region) de-duplicates in linear time (np.unique sorts);
        # nonzero lists the pairs by initiative, then region.
        size = len(snap.part(session, "initiatives").ids)
        seen = np.zeros((size, len(regions)), dtype=bool)
        seen[countries.initiative[known], pair_region[known]] = True
        initiative, region = np.nonzero(seen)
        return initiative.astype(np.int64), region.astype(np.int64), regions

    return snap.derived("regions", build)


def _processes(session: Session, snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """(process codes, initiative x process involvement matrix).

    An initiative involves a process when its reporting partner, or the state of one of its
    countries of implementation, is a current member of it.
    """
    initiatives: Initiatives = snap.part(session, "initiatives")
    countries: Links = snap.part(session, "countries")
    reference = snap.part(session, "reference")

    def build() -> tuple[np.ndarray, np.ndarray]:
        processes = np.array(sorted(reference.members), dtype=object)
        matrix = np.zeros((len(initiatives.ids), len(processes)), dtype=bool)
        for column, process in enumerate(processes):
            members = reference.members[process]
            by_partner = np.array([p in members for p in initiatives.partner.values], dtype=bool)
            if len(by_partner):
                matrix[:, column] = by_partner[initiatives.partner.codes]
            states = {reference.partner_country.get(p) for p in members} - {None}
            in_member_state = _keys_where(countries, [c in states for c in countries.key.values])
            matrix[countries.initiative[in_member_state], column] = True
        return processes, matrix

    return snap.derived("processes", build)


def _pairs(
    session: Session, snap: Snapshot, dimension: str, scope: Scope
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(initiative index, key code, key values) of a breakdown, limited to the filtered values."""
    reference = snap.part(session, "reference")
    if dimension in ("countries", "domains", "priorities"):
        links: Links = snap.part(session, dimension)
        values = links.key.values
        keep = np.ones(len(values), dtype=bool)
        if dimension == "countries":
            if scope.region:
                keep &= [reference.country_region.get(c) == scope.region for c in values]
            if scope.country:
                keep &= values == scope.country
        elif dimension == "domains" and scope.domain:
            keep &= values == scope.domain
        elif dimension == "priorities" and scope.domain:
            keep &= [reference.priority_domain.get(p) == scope.domain for p in values]
        chosen = _keys_where(links, keep)
        return links.initiative[chosen], links.key.codes[chosen], values
    if dimension == "regions":
        initiative, key, values = _regions(session, snap)
        if scope.region:
            chosen = values[key] == scope.region if len(key) else np.zeros(0, dtype=bool)
            initiative, key = initiative[chosen], key[chosen]
        return initiative, key, values
    if dimension == "processes":
        values, matrix = _processes(session, snap)
        initiative, key = np.nonzero(matrix)
        if scope.process:
            chosen = values[key] == scope.process if len(key) else np.zeros(0, dtype=bool)
            initiative, key = initiative[chosen], key[chosen]
        return initiative.astype(np.int64), key.astype(np.int64), values
    raise ValueError(f"unknown dimension {dimension!r}; try one of {', '.join(DIMENSIONS)}")


# --- scope and change window --------------------------------------------------------------


def in_scope(session: Session, snap: Snapshot, scope: Scope) -> np.ndarray:
    """Boolean per initiative: it counts under `scope` (queries.conditions, in numpy)."""
    initiatives: Initiatives = snap.part(session, "initiatives")
    size = len(initiatives.ids)
    wanted = [initiatives.publication.code_of(p) for p in scope.publication]
    mask = np.isin(initiatives.publication.codes, wanted)
    if scope.recorded_before is not None:
        mask &= initiatives.created_at < _datetime64(scope.recorded_before)
    if scope.domain:
        domains: Links = snap.part(session, "domains")
        code = domains.key.code_of(scope.domain)
        mask &= _hit(size, domains.initiative[domains.key.codes == code])
    if scope.country or scope.region:
        countries: Links = snap.part(session, "countries")
        reference = snap.part(session, "reference")
        if scope.country:
            code = countries.key.code_of(scope.country)
            mask &= _hit(size, countries.initiative[countries.key.codes == code])
        if scope.region:
            inside = [reference.country_region.get(c) == scope.region for c in countries.key.values]
            mask &= _hit(size, countries.initiative[_keys_where(countries, inside)])
    if scope.process:
        processes, matrix = _processes(session, snap)
        column = np.flatnonzero(processes == scope.process)
        mask &= matrix[:, column[0]] if len(column) else False
    return mask


def _changes(session: Session, snap: Snapshot, window: Window) -> dict[str, np.ndarray]:
    """Per initiative: new, updated and completed within the window (queries' rules)."""

    def build() -> dict[str, np.ndarray]:
        size = len(snap.part(session, "initiatives").ids)
        revisions = snap.part(session, "revisions")
        inside = np.ones(len(revisions.number), dtype=bool)
        if window.since is not None:
            inside &= revisions.changed_at >= _datetime64(window.since)
        if window.until is not None:
            inside &= revisions.changed_at < _datetime64(window.until)
        first = revisions.number == 1
        new = _hit(size, revisions.initiative[inside & first])
        touched = _hit(size, revisions.initiative[inside & ~first])
        return {
            "change_new": new,
            "change_updated": touched & ~new,
            "change_completed": _hit(size, revisions.initiative[inside & revisions.to_completed]),
        }

    return snap.derived(f"changes {window.since} {window.until}", build)


def start_years(session: Session, snap: Snapshot) -> list[int]:
    """Every year from the earliest to the latest start date in the registry."""
    years = snap.part(session, "initiatives").start_year
    known = years[years >= 0]
    return list(range(int(known.min()), int(known.max()) + 1)) if len(known) else []


# --- counting -----------------------------------------------------------------------------


def _tally(
    initiatives: Initiatives,
    changes: dict[str, np.ndarray] | None,
    years: list[int],
    group: np.ndarray,
    size: int,
    item: np.ndarray,
) -> dict[str, np.ndarray]:
    """Additive measures per group: item[j] is an initiative counted in group[j]."""

    def count(selected: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = group if selected is None else group[selected]
        return np.bincount(chosen, weights=weights, minlength=size).astype(np.float64)

    def by_category(codes: np.ndarray, categories: int) -> np.ndarray:
        # One bincount for all categories: group * categories + category.
        flat = np.bincount(group * categories + codes, minlength=size * categories)
        return flat.reshape(size, categories).astype(np.float64)

    budget = initiatives.budget_eur[item]
    unknown_budget = np.isnan(budget)
    is_project = initiatives.kind.codes[item] == initiatives.kind.code_of("project")
    out = {
        "initiatives": count(),
        "budget_eur": count(weights=np.where(unknown_budget, 0.0, budget)),
        "budget_missing": count(is_project & unknown_budget),
    }
    for name, codes, labels in (
        ("kind", initiatives.kind, KINDS),
        ("status", initiatives.status, STATUSES),
    ):
        table = by_category(codes.codes[item] + 1, len(codes.values) + 1)  # +1: null is -1
        for label in labels:
            code = codes.code_of(label)
            out[f"{name}_{label}"] = table[:, code + 1] if code >= 0 else np.zeros(size)
    for name in ("change_new", "change_updated", "change_completed"):
        out[name] = count(changes[name][item]) if changes is not None else np.zeros(size)
    start = initiatives.start_year[item]
    first = years[0] if years else 0
    # Column len(years) holds the unknown start dates.
    slot = np.where(start >= 0, start - first, len(years))
    table = by_category(slot, len(years) + 1)
    for position, year in enumerate([*years, None]):
        out[year_column(year)] = table[:, position]
    partners = len(initiatives.partner.values)
    seen = np.zeros((size, partners), dtype=bool)
    seen[group, initiatives.partner.codes[item]] = True
    out["partners_reporting"] = seen.sum(axis=1).astype(np.float64)
    return out


def breakdown(
    session: Session, *, dimension: str, scope: Scope, window: Window | None
) -> Breakdown:
    """Counts per row of `dimension` and the distinct total across its rows."""
    return snapshot.run(session, lambda snap: _breakdown(session, snap, dimension, scope, window))


def _breakdown(
    session: Session, snap: Snapshot, dimension: str, scope: Scope, window: Window | None
) -> Breakdown:
    initiatives: Initiatives = snap.part(session, "initiatives")
    size = len(initiatives.ids)
    counted = in_scope(session, snap, scope)
    initiative, key, values = _pairs(session, snap, dimension, scope)
    changes = _changes(session, snap, window) if window is not None else None
    years = start_years(session, snap)
    # How many rows each initiative falls in, among the filtered rows.
    rows_of = np.bincount(initiative, minlength=size)
    chosen = counted[initiative]
    item, group = initiative[chosen], key[chosen]
    per_row = _tally(initiatives, changes, years, group, len(values), item)
    several = rows_of[item] > 1
    budget = np.nan_to_num(initiatives.budget_eur[item])
    per_row["shared_initiatives"] = np.bincount(group[several], minlength=len(values)).astype(
        np.float64
    )
    per_row["shared_budget_eur"] = np.bincount(
        group[several], weights=budget[several], minlength=len(values)
    )
    rows = pd.DataFrame({"key": values, **per_row})
    rows = rows[rows["initiatives"] > 0].sort_values("key").reset_index(drop=True)

    once = np.flatnonzero(counted & (rows_of > 0))
    total_values = _tally(initiatives, changes, years, np.zeros(len(once), dtype=np.int64), 1, once)
    total = pd.Series({name: float(value[0]) for name, value in total_values.items()})
    shared = once[rows_of[once] > 1]
    total["shared_initiatives"] = float(len(shared))
    total["shared_budget_eur"] = float(np.nan_to_num(initiatives.budget_eur[shared]).sum())
    total = total.reindex([*measure_columns(years), "partners_reporting"])
    return Breakdown(
        rows=rows,
        total=total,
        years=years,
        outside_rows=int(counted.sum()) - len(once),
        in_several_rows=len(shared),
    )


def funded_by_country(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Per country: initiatives its state funds (a funder linked to it) and their EUR budget.

    A co-funded initiative counts in full for each of its funders: the questionnaire does not
    record each funder's share.
    """

    def compute(snap: Snapshot) -> pd.DataFrame:
        initiatives: Initiatives = snap.part(session, "initiatives")
        funders: Links = snap.part(session, "funders")
        counted = in_scope(session, snap, scope)[funders.initiative]
        if scope.region:
            reference = snap.part(session, "reference")
            inside = [reference.country_region.get(c) == scope.region for c in funders.key.values]
            counted &= _keys_where(funders, inside)
        item, group = funders.initiative[counted], funders.key.codes[counted]
        size = len(funders.key.values)
        frame = pd.DataFrame(
            {
                "key": funders.key.values,
                "initiatives_funded": np.bincount(group, minlength=size),
                "budget_eur_funded": np.bincount(
                    group, weights=np.nan_to_num(initiatives.budget_eur[item]), minlength=size
                ),
            }
        )
        return frame[frame["initiatives_funded"] > 0].reset_index(drop=True)

    return snapshot.run(session, compute)


def process_overlaps(session: Session, *, scope: Scope) -> pd.DataFrame:
    """Initiatives (and their EUR budget) involving both processes of each pair."""

    def compute(snap: Snapshot) -> pd.DataFrame:
        initiatives: Initiatives = snap.part(session, "initiatives")
        processes, matrix = _processes(session, snap)
        counted = in_scope(session, snap, scope)
        budget = np.nan_to_num(initiatives.budget_eur)
        found = []
        for a in range(len(processes)):
            for b in range(a + 1, len(processes)):
                both = counted & matrix[:, a] & matrix[:, b]
                if both.any():
                    found.append(
                        (processes[a], processes[b], int(both.sum()), float(budget[both].sum()))
                    )
        return pd.DataFrame(found, columns=["first", "second", "initiatives", "budget_eur"])

    return snapshot.run(session, compute)
