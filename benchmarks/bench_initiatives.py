"""Listing and filtering 100k initiatives (page of 50 with the total), indexed vs unindexed.

    .venv/bin/python benchmarks/bench_initiatives.py [--backend sqlite|postgresql] [--initiatives N]

Builds its own data in a scratch database (a SQLite temp file, or a fresh PostgreSQL
database on 127.0.0.1:5432) with the registry's own bulk service (create_initiatives, in
batches of 5,000, which also gives the bulk-apply figure), then measures each filter
combination through the API's service call (count + page of 50 + the 50 records): the
median of several runs with the migrations' indexes, then again in the same database
after dropping every secondary index of the initiative tables (the naive baseline). The
baseline also bypasses the search structures that are not plain indexes: the derived
region and process lookups and SQLite's full-text table; those filters then join the
reference tables and scan with LIKE, as they did before the lookups existed.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, inspect, or_, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import scratch_database  # noqa: E402
from jvap.db import create_db_engine, upgrade_database  # noqa: E402
from jvap.initiatives import service  # noqa: E402
from jvap.initiatives.models import Initiative, InitiativeCountry  # noqa: E402
from jvap.initiatives.rules import InitiativeRecord  # noqa: E402
from jvap.initiatives.schemas import InitiativeFilters  # noqa: E402
from jvap.reference import service as reference_service  # noqa: E402
from jvap.reference.codelists import TARGET_GROUPS  # noqa: E402
from jvap.reference.models import Country, Partner, Priority, ProcessMembership  # noqa: E402

BATCH = 5000
TABLES = (
    "initiative",
    "initiative_domain",
    "initiative_priority",
    "initiative_country",
    "initiative_funder",
    "initiative_implementer",
    "initiative_target_group",
    "initiative_external_id",
    "initiative_region",
    "initiative_process",
)
WORDS = [
    "Youth employment",
    "Border management",
    "Labour mobility",
    "Reintegration of returnees",
    "Protection of refugees",
    "Anti-trafficking",
    "Diaspora investment",
    "Civil registry",
    "Asylum system",
    "Remittances",
]
FILTERS: list[tuple[str, dict[str, Any], str]] = [
    ("no filter", {}, "ref"),
    ("no filter, newest first", {}, "-ref"),
    ("domain D3", {"domain": ["D3"]}, "ref"),
    ("country SEN", {"country": ["SEN"]}, "ref"),
    ("partner FRA", {"partner": ["FRA"]}, "-start_date"),
    ("process KP", {"process": ["KP"]}, "ref"),
    ("region west_africa, by budget", {"region": ["west_africa"]}, "-budget_eur"),
    ("priority D1.02", {"priority": ["D1.02"]}, "ref"),
    ("funder EU", {"funder": ["EU"]}, "ref"),
    (
        "ongoing published projects, by start",
        {"kind": ["project"], "status": ["ongoing"], "publication": "published"},
        "-start_date",
    ),
    (
        "active 2018-2019 in D1",
        {"active_from": date(2018, 1, 1), "active_to": date(2019, 12, 31), "domain": ["D1"]},
        "ref",
    ),
    ("pending", {"publication": "pending"}, "-updated_at"),
    ("text 'border'", {"q": "border"}, "ref"),
    (
        "country MLI + domain D4 + completed",
        {"country": ["MLI"], "domain": ["D4"], "status": ["completed"]},
        "ref",
    ),
]


def records(session: Session, n: int, seed: int) -> Iterator[tuple[str, InitiativeRecord]]:
    """n (partner, record) pairs shaped like the demo data."""
    rng = random.Random(seed)
    partners = list(session.execute(select(Partner.code, Partner.category, Partner.name_en)))
    african = [p.code for p in partners if p.category == "african_country"]
    donors = [p.name_en for p in partners if p.category != "african_country"]
    priorities: dict[str, list[str]] = {}
    for code, domain in session.execute(select(Priority.code, Priority.domain_code)):
        priorities.setdefault(domain, []).append(code)
    for _ in range(n):
        partner = rng.choice(partners).code
        kind = "policy" if rng.random() < 0.25 else "project"
        domains = sorted(rng.sample(sorted(priorities), rng.choice([1, 1, 1, 2, 2, 3])))
        start = date(2015, 11, 1) + timedelta(days=rng.randint(0, 3600))
        status = rng.choices(["planned", "ongoing", "completed", "suspended"], [5, 50, 40, 5])[0]
        scope = rng.choices(["national", "regional", "continental"], [60, 35, 5])[0]
        countries = (
            []
            if scope == "continental"
            else rng.sample(african, 1 if scope == "national" else rng.randint(2, 5))
        )
        theme = rng.choice(WORDS)
        project = kind == "project"
        yield (
            partner,
            InitiativeRecord(
                kind=kind,
                title=f"{theme} {rng.randint(1, 10**6)}",
                description=f"{theme}: strengthening capacities under the Joint Valletta "
                f"Action Plan, phase {rng.randint(1, 4)}.",
                status=status,
                start_date=start,
                end_date=start + timedelta(days=rng.randint(365, 1800))
                if project or rng.random() < 0.3
                else None,
                domains=domains,
                priorities=sorted({rng.choice(priorities[d]) for d in domains}),
                scope=scope,
                countries=countries,
                budget=Decimal(rng.randint(10**5, 5 * 10**7)) if project else None,
                currency=rng.choice(["EUR", "EUR", "EUR", "USD", "XOF", "GBP"])
                if project
                else None,
                funders=[rng.choice(donors)] if project else [],
                implementers=[rng.choice(["IOM", "UNHCR", "ILO", "GIZ", "Enabel"])],
                target_groups=[rng.choice(TARGET_GROUPS).code],
                gender_marker=rng.choice([0, 1, 2]),
            ),
        )


def build(engine: Engine, n: int, seed: int = 11) -> list[float]:
    """Fill the registry through create_initiatives; seconds per batch of BATCH rows."""
    with Session(engine) as session, session.begin():
        reference_service.seed(session)
    with Session(engine) as session:
        pending = list(records(session, n, seed))
    timings = []
    for start in range(0, n, BATCH):
        batch = pending[start : start + BATCH]
        with Session(engine) as session, session.begin():
            began = time.perf_counter()
            # One batch in ten stays pending (not yet verified).
            service.create_initiatives(
                session, batch, user_id=None, publish=(start // BATCH) % 10 != 3
            )
            timings.append(time.perf_counter() - began)
    refresh_statistics(engine)
    return timings


def refresh_statistics(engine: Engine) -> None:
    """What an operator runs after a bulk load: planner statistics (and, on PostgreSQL, the
    visibility map that index-only scans need)."""
    command = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(command))


def update_batch(engine: Engine) -> float:
    """Seconds for update_initiatives on BATCH initiatives (new title, one more country),
    rolled back so that the listing figures see the data as built."""
    with Session(engine) as session:
        stored = service.load_records(session, ids=list(range(1, BATCH + 1)))
    items = [
        (
            item.id,
            item.revision,
            replace(
                item.record,
                title=f"{item.record.title} (revised)",
                countries=sorted({*item.record.countries, "SEN"}),
            ),
        )
        for item in stored.values()
    ]
    with Session(engine) as session:
        session.begin()
        began = time.perf_counter()
        service.update_initiatives(session, items, user_id=None)
        elapsed = time.perf_counter() - began
        session.rollback()
    return elapsed


def measure(engine: Engine, runs: int) -> dict[str, tuple[float, int]]:
    """Filter name -> (median ms of count + page of 50 + records, total)."""
    results = {}
    visibility = service.Visibility()
    for name, values, sort in FILTERS:
        filters = InitiativeFilters(**values)
        times = []
        total = 0
        for _ in range(runs):
            with Session(engine) as session:
                began = time.perf_counter()
                total, items = service.list_initiatives(
                    session, filters=filters, visibility=visibility, sort=sort, size=50
                )
                times.append((time.perf_counter() - began) * 1000)
                assert len(items) == min(50, total)
        results[name] = (statistics.median(times), total)
    return results


def drop_secondary_indexes(engine: Engine) -> list[str]:
    """Drop every non-primary-key index of the initiative tables (the naive baseline)."""
    inspector = inspect(engine)
    dropped = [index["name"] for table in TABLES for index in inspector.get_indexes(table)]
    with engine.begin() as conn:
        for name in dropped:
            conn.execute(text(f'DROP INDEX "{name}"'))
    refresh_statistics(engine)
    return dropped


def _joined_regions(codes: list[str]) -> Any:
    in_region = select(Country.iso3).where(Country.region_code.in_(codes))
    return service._linked(
        InitiativeCountry, InitiativeCountry.country_iso3.in_(in_region), unique=False
    )


def _joined_processes(codes: list[str]) -> ColumnElement[bool]:
    members = select(ProcessMembership.partner_code).where(
        ProcessMembership.process_code.in_(codes),
        ProcessMembership.status.in_(reference_service.CURRENT_STATUSES),
    )
    member_states = select(Partner.country_iso3).where(Partner.code.in_(members))
    return or_(
        Initiative.partner_code.in_(members),
        Initiative.id.in_(
            select(InitiativeCountry.initiative_id).where(
                InitiativeCountry.country_iso3.in_(member_states)
            )
        ),
    )


def _scanned_text(_session: Session, q: str) -> ColumnElement[bool]:
    return or_(
        Initiative.title.icontains(q, autoescape=True),
        Initiative.description.icontains(q, autoescape=True),
    )


@contextmanager
def without_lookups() -> Iterator[None]:
    """The region, process and text filters as they were before their lookup structures,
    and pages that list id sets (IN) whatever the number of matches, as they did then."""
    saved = service._in_regions, service._in_processes, service._text_matches
    probe_from = service.PROBE_FROM
    service._in_regions, service._in_processes = _joined_regions, _joined_processes
    service._text_matches = _scanned_text
    service.PROBE_FROM = sys.maxsize
    try:
        yield
    finally:
        service._in_regions, service._in_processes, service._text_matches = saved
        service.PROBE_FROM = probe_from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--initiatives", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with scratch_database(args.backend) as url:
        upgrade_database(url)
        engine = create_db_engine(url)
        try:
            began = time.perf_counter()
            batches = build(engine, args.initiatives)
            print(
                f"{args.backend}: {args.initiatives:,} initiatives written in "
                f"{time.perf_counter() - began:.1f} s; create_initiatives per {BATCH:,} rows: "
                f"median {statistics.median(batches):.2f} s, best {min(batches):.2f} s"
            )
            updates = [update_batch(engine) for _ in range(3)]
            print(
                f"update_initiatives per {BATCH:,} rows (title and countries changed): "
                f"median {statistics.median(updates):.2f} s, best {min(updates):.2f} s"
            )
            measure(engine, 1)  # warm caches the same way for both variants
            indexed = measure(engine, args.runs)
            dropped = drop_secondary_indexes(engine)
            with without_lookups():
                measure(engine, 1)
                baseline = measure(engine, args.runs)
        finally:
            engine.dispose()

    print(
        f"page of 50 with total, median of {args.runs} runs (ms); baseline without "
        f"{len(dropped)} secondary indexes and the derived lookups"
    )
    print(f"{'filter':40} {'total':>7} {'indexed':>9} {'baseline':>9} {'ratio':>7}")
    for name, _values, _sort in FILTERS:
        fast, total = indexed[name]
        slow, _ = baseline[name]
        print(f"{name:40} {total:7d} {fast:9.1f} {slow:9.1f} {slow / fast:6.1f}x")
    medians = [indexed[name][0] for name, _v, _s in FILTERS]
    print(
        f"indexed: median over filters {statistics.median(medians):.1f} ms, "
        f"worst {max(medians):.1f} ms (target <= 50 ms)"
    )


if __name__ == "__main__":
    main()
