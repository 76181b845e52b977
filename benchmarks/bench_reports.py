"""Summaries and reports over 100k initiatives, against pandas in the same run.

    .venv/bin/python benchmarks/bench_reports.py [--backend sqlite|postgresql] [--initiatives N]
        [--summaries-only]

Builds its own data in a scratch database (a SQLite temp file, or a fresh PostgreSQL
database on 127.0.0.1:5432), then measures:
- each summary (median of several runs) against pandas: read the same rows, then groupby;
  warm (registry unchanged since the previous summary), after a committed write of one
  initiative, of 5,000 (a status set again), of 5,000 new ones with their links and
  revisions, as an accepted questionnaire writes them, and of their deletion (the snapshot
  patched from the change log), and the first call of a process (everything read);
- the 100k-row xlsx report (xlsxwriter, constant memory) against pandas.to_excel(openpyxl),
  each in a child process whose peak RSS is read with resource.getrusage;
- the 100k-row CSV report (median of several child processes).
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import scratch_database  # noqa: E402
from jvap.campaigns.models import Campaign  # noqa: E402
from jvap.db import create_db_engine, upgrade_database  # noqa: E402
from jvap.initiatives import service as initiatives_service  # noqa: E402
from jvap.initiatives.models import (  # noqa: E402
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativePriority,
    InitiativeRevision,
)
from jvap.initiatives.rules import InitiativeRecord  # noqa: E402
from jvap.reference import service as reference_service  # noqa: E402
from jvap.reference.models import Partner, Priority  # noqa: E402
from jvap.reports import queries, service, snapshot  # noqa: E402
from jvap.reports.schemas import SummaryFilters  # noqa: E402

STATUSES = ["planned", "ongoing", "completed", "suspended"]
TARGET_MS = 150  # per summary, issue 6


def build(engine: Engine, n: int, seed: int = 6) -> None:
    """n initiatives shaped like the demo data, written with bulk inserts."""
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        reference_service.seed(session)
        partners = list(
            session.execute(select(Partner.code, Partner.category).order_by(Partner.code)).all()
        )
        priorities: dict[str, list[str]] = {}
        for code, domain in session.execute(
            select(Priority.code, Priority.domain_code).order_by(Priority.code)
        ):
            priorities.setdefault(domain, []).append(code)
        session.add_all(
            [
                Campaign(
                    code="2020",
                    title="2020",
                    opens_on=date(2020, 3, 1),
                    closes_on=date(2020, 8, 31),
                    status="closed",
                ),
                Campaign(
                    code="2025",
                    title="2025",
                    opens_on=date(2025, 3, 1),
                    closes_on=date(2025, 12, 31),
                    status="closed",
                ),
            ]
        )
    african = [c for c, cat in partners if cat == "african_country"]
    donors = [
        c
        for c, cat in partners
        if cat in ("european_country", "eu_institution", "international_organisation")
    ]
    reporters = [c for c, _ in partners]
    domains_all = sorted(priorities)
    rows: dict[str, list[dict[str, Any]]] = {
        "initiative": [],
        "initiative_domain": [],
        "initiative_priority": [],
        "initiative_country": [],
        "initiative_funder": [],
        "initiative_revision": [],
    }
    base = datetime(2016, 1, 1, tzinfo=UTC)
    for initiative_id in range(1, n + 1):
        owner = rng.choice(reporters)
        kind = "policy" if rng.random() < 0.3 else "project"
        start = date(2015, 11, 1) + timedelta(days=rng.randint(-60, 3600))
        created = base + timedelta(days=rng.randint(0, 3600), seconds=rng.randint(0, 86399))
        budget = Decimal(round(10 ** rng.uniform(5, 7.8), -3)) if kind == "project" else None
        if budget is not None and rng.random() < 0.03:
            budget = None
        rows["initiative"].append(
            {
                "id": initiative_id,
                "partner_code": owner,
                "kind": kind,
                "title": f"Initiative {initiative_id} on migration and mobility",
                "description": "Synthetic",
                "status": rng.choices(STATUSES, [5, 55, 35, 5])[0],
                "start_date": start,
                "end_date": start + timedelta(days=rng.randint(365, 1800)),
                "scope": "national",
                "budget": budget,
                "currency": "EUR" if budget is not None else None,
                "budget_eur": budget,
                "publication_status": "published" if rng.random() < 0.9 else "pending",
                "revision": 1,
                "source": "demo",
                "created_at": created,
                "updated_at": created,
            }
        )
        domains = rng.sample(domains_all, rng.choices([1, 2, 3], [60, 30, 10])[0])
        for d in domains:
            rows["initiative_domain"].append({"initiative_id": initiative_id, "domain_code": d})
        for p in {rng.choice(priorities[d]) for d in domains}:
            rows["initiative_priority"].append({"initiative_id": initiative_id, "priority_code": p})
        spread = rng.choices([0, 1, 2], [7, 55, 38])[0]
        countries = (
            []
            if spread == 0
            else [rng.choice(african)]
            if spread == 1
            else rng.sample(african, rng.randint(2, 6))
        )
        for c in countries:
            rows["initiative_country"].append({"initiative_id": initiative_id, "country_iso3": c})
        if kind == "project":
            funder = owner if owner in donors else rng.choice(donors)
            rows["initiative_funder"].append(
                {
                    "initiative_id": initiative_id,
                    "position": 0,
                    "name": funder,
                    "partner_code": funder,
                }
            )
        rows["initiative_revision"].append(
            {
                "initiative_id": initiative_id,
                "number": 1,
                "changed_at": created,
                "changes": {"status": [None, rows["initiative"][-1]["status"]]},
            }
        )
        if rng.random() < 0.3:
            rows["initiative_revision"].append(
                {
                    "initiative_id": initiative_id,
                    "number": 2,
                    "changed_at": created + timedelta(days=rng.randint(1, 900)),
                    "changes": {"status": ["ongoing", "completed"]}
                    if rng.random() < 0.4
                    else {"title": ["old", "new"]},
                }
            )
    tables = {
        "initiative": Initiative,
        "initiative_domain": InitiativeDomain,
        "initiative_priority": InitiativePriority,
        "initiative_country": InitiativeCountry,
        "initiative_funder": InitiativeFunder,
        "initiative_revision": InitiativeRevision,
    }
    with engine.begin() as conn:
        for name, model in tables.items():
            data = rows[name]
            for start in range(0, len(data), 20000):
                conn.execute(insert(model), data[start : start + 20000])
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval('initiative_id_seq', (SELECT max(id) FROM initiative))")
            )
    # What autovacuum / a nightly ANALYZE would have done to a production database.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    print(
        "data: " + ", ".join(f"{len(v):,} {k}" for k, v in rows.items()),
        flush=True,
    )


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# --- summaries --------------------------------------------------------------------------

BASELINE_PAIRS = {
    "countries": "SELECT initiative_id, country_iso3 AS key FROM initiative_country",
    "regions": "SELECT DISTINCT ic.initiative_id, c.region_code AS key FROM initiative_country ic "
    "JOIN country c ON c.iso3 = ic.country_iso3 WHERE c.region_code IS NOT NULL",
    "processes": None,  # from initiatives_service.process_rows(), the same definition
    "domains": "SELECT initiative_id, domain_code AS key FROM initiative_domain",
    "priorities": "SELECT initiative_id, priority_code AS key FROM initiative_priority",
}


def baseline_rows(engine: Engine, dimension: str) -> pd.DataFrame:
    """The naive way: pull every (row, initiative) pair with its fields into pandas."""
    pairs_sql = BASELINE_PAIRS[dimension]
    if pairs_sql is None:
        involved = initiatives_service.process_rows().subquery()
        query = select(involved.c.initiative_id, involved.c.process_code.label("key"))
        pairs_sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    sql = (
        "SELECT p.key, i.id, i.partner_code, i.kind, i.status, i.start_date, i.budget_eur "
        f"FROM ({pairs_sql}) p JOIN initiative i ON i.id = p.initiative_id "
        "WHERE i.publication_status = 'published'"
    )
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def baseline_groupby(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(
        year=pd.to_datetime(frame["start_date"]).dt.year,
        budget=frame["budget_eur"].astype(float),
    )
    grouped = frame.groupby("key")
    result = grouped.agg(
        initiatives=("id", "nunique"),
        budget_eur=("budget", "sum"),
        partners=("partner_code", "nunique"),
    )
    kinds = pd.crosstab(frame["key"], frame["kind"])
    statuses = pd.crosstab(frame["key"], frame["status"])
    years = pd.crosstab(frame["key"], frame["year"])
    total = frame.drop_duplicates("id")
    totals = (len(total), total["budget"].sum(), total["partner_code"].nunique())
    return result.join(kinds).join(statuses).join(years).assign(total=str(totals))


def touch(engine: Engine, initiatives: int = 1) -> None:
    """A committed write to the registry: the next summary patches its snapshot."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE initiative SET status = status WHERE id <= :n"), {"n": initiatives}
        )


NEW_TITLE = "Accepted from a questionnaire"


def add_new(engine: Engine, initiatives: int = 5000) -> None:
    """A committed write of new initiatives with their links and revisions, as accepting a
    questionnaire makes: every part of the snapshot has rows to patch."""
    record = InitiativeRecord(
        kind="project",
        title=NEW_TITLE,
        description="Support to national authorities",
        status="ongoing",
        start_date=date(2024, 1, 1),
        domains=["D1", "D3"],
        scope="regional",
        countries=["SEN", "MLI", "NER"],
        budget=Decimal(250_000),
        currency="EUR",
        funders=["European Union", "GIZ"],
        implementers=["IOM"],
        target_groups=["youth"],
    )
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(
            session, [("SEN", record)] * initiatives, user_id=None, publish=True
        )


def remove_new(engine: Engine) -> None:
    """Delete what add_new wrote (links and revisions go with them), so that every
    dimension is measured over the same registry."""
    with Session(engine) as session, session.begin():
        session.execute(delete(Initiative).where(Initiative.title == NEW_TITLE))


def bench_summaries(engine: Engine, runs: int) -> list[dict[str, Any]]:
    results = []
    filters = SummaryFilters()

    def once(dimension: str) -> float:
        """ms of one summary, in a session of its own."""
        with Session(engine) as session:
            start = time.perf_counter()
            service.summarise(session, dimension=dimension, filters=filters)
            return (time.perf_counter() - start) * 1000

    def summarise(dimension: str, before: Callable[[], Any]) -> float:
        """Median ms of the summary right after `before` (not timed)."""
        times = []
        for _ in range(runs):
            before()
            times.append(once(dimension))
        return statistics.median(times)

    def added_then_deleted(dimension: str) -> tuple[float, float]:
        """Median ms of the summary right after 5,000 new initiatives are written, and
        right after they are deleted again."""
        added, deleted = [], []
        for _ in range(runs):
            add_new(engine)
            added.append(once(dimension))
            remove_new(engine)
            deleted.append(once(dimension))
        return statistics.median(added), statistics.median(deleted)

    for dimension in queries.DIMENSIONS:
        first = summarise(dimension, snapshot.clear)
        after_one = summarise(dimension, lambda: touch(engine))
        after_bulk = summarise(dimension, lambda: touch(engine, 5000))
        after_new, after_deleted = added_then_deleted(dimension)
        with Session(engine) as session:
            ours = median_ms(
                lambda d=dimension, s=session: service.summarise(s, dimension=d, filters=filters),
                runs,
            )
        frame = baseline_rows(engine, dimension)
        read_and_group = median_ms(
            lambda d=dimension: baseline_groupby(baseline_rows(engine, d)), runs
        )
        group_only = median_ms(lambda f=frame: baseline_groupby(f), runs)
        results.append(
            {
                "summary": dimension,
                "ours_ms": ours,
                "ours_after_write_ms": after_one,
                "ours_after_5000_ms": after_bulk,
                "ours_after_5000_new_ms": after_new,
                "ours_after_5000_deleted_ms": after_deleted,
                "ours_first_ms": first,
                "pandas_read_groupby_ms": read_and_group,
                "pandas_groupby_only_ms": group_only,
                "rows": len(frame),
            }
        )
        worst = max(ours, after_one, after_bulk, after_new, after_deleted)
        verdict = "OK" if worst <= TARGET_MS else "MISSED"
        print(
            f"  {dimension:11} {verdict}: warm {ours:5.1f} ms (x{read_and_group / ours:.0f} vs "
            f"pandas read+groupby, x{group_only / ours:.1f} vs groupby alone) | after a write "
            f"of 1: {after_one:5.1f} ms, of 5,000: {after_bulk:5.1f} ms, of 5,000 new: "
            f"{after_new:5.1f} ms, of their deletion: {after_deleted:5.1f} ms | first of the "
            f"process {first:4.0f} ms (x{read_and_group / first:.2f}) | pandas read+groupby "
            f"{read_and_group:4.0f} ms, groupby alone {group_only:4.0f} ms ({len(frame):,} rows)",
            flush=True,
        )
    return results


# --- files, each written in a child process so that its peak memory is its own ----------


def child(task: str, url: str, out: str) -> None:
    """Runs in a child process: write one file, print seconds and peak RSS as JSON."""
    engine = create_db_engine(url)
    if task == "build":
        start = time.perf_counter()
        build(engine, int(out))
        print(json.dumps({"task": task, "seconds": time.perf_counter() - start}))
        return
    start = time.perf_counter()
    everything = SummaryFilters(include_pending=True)
    with Session(engine) as session, Path(out).open("wb") as target:
        if task in ("xlsx", "csv"):
            rows = service.write_initiatives_report(
                session, target=target, fmt=task, lang="en", filters=everything
            )
        elif task == "workbook":
            rows = service.write_summary_report(
                session, target=target, fmt="xlsx", lang="en", filters=everything
            )
        elif task == "pandas":
            query = queries.iter_initiatives(session, scope=queries.Scope(("published", "pending")))
            frame = pd.DataFrame(
                [row for batch in query for row in batch], columns=queries.INITIATIVE_COLUMNS
            )
            read = time.perf_counter() - start
            frame.to_excel(target, index=False, engine="openpyxl")
            rows = len(frame)
        else:
            raise SystemExit(f"unknown task {task}")
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"task": task, "seconds": seconds, "peak_rss_mb": peak_kb / 1024, "rows": rows}
    if task == "pandas":
        report["read_seconds"] = read
    print(json.dumps(report))


def run_child(task: str, url: str, out: str) -> dict[str, Any]:
    # Linux keeps a process's peak RSS across exec, so a child started by a big parent would
    # report the parent's size: the parent stays small until every child has run.
    result = subprocess.run(
        [sys.executable, __file__, "--child", task, "--url", url, "--out", out],
        check=True,
        capture_output=True,
        text=True,
    )
    lines = result.stdout.strip().splitlines()
    if task == "build":
        print(lines[0], flush=True)
    report: dict[str, Any] = json.loads(lines[-1])
    if task != "build":
        report["bytes"] = Path(out).stat().st_size
    return report


def parent_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def files(url: str, folder: Path, with_workbook: bool, runs: int) -> None:
    """The xlsx and CSV reports, each against its baseline, in child processes."""
    ours = run_child("xlsx", url, str(folder / "ours.xlsx"))
    pandas_ = run_child("pandas", url, str(folder / "pandas.xlsx"))
    write_pandas = pandas_["seconds"] - pandas_["read_seconds"]
    print(
        f"xlsx, {ours['rows']:,} initiatives: ours {ours['seconds']:.1f} s, peak RSS "
        f"{ours['peak_rss_mb']:.0f} MB | pandas.to_excel(openpyxl) {pandas_['seconds']:.1f}"
        f" s ({write_pandas:.1f} s writing), peak RSS {pandas_['peak_rss_mb']:.0f} MB | "
        f"x{pandas_['seconds'] / ours['seconds']:.1f} faster end to end",
        flush=True,
    )
    if with_workbook:
        workbook = run_child("workbook", url, str(folder / "workbook.xlsx"))
        print(
            f"summary workbook (summary + 5 breakdowns + gaps + {workbook['rows']:,} "
            f"initiatives): {workbook['seconds']:.1f} s, peak RSS "
            f"{workbook['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    # A second or so each: several runs, so that one slow spell of a shared machine does
    # not decide the figure.
    csvs = [run_child("csv", url, str(folder / "ours.csv")) for _ in range(runs)]
    seconds = sorted(run["seconds"] for run in csvs)
    csv_ = csvs[0]
    print(
        f"csv, {csv_['rows']:,} initiatives: {statistics.median(seconds):.2f} s, median of "
        f"{runs} ({seconds[0]:.2f}-{seconds[-1]:.2f}) ({csv_['bytes'] / 1e6:.1f} MB), peak "
        f"RSS {max(run['peak_rss_mb'] for run in csvs):.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--initiatives", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workbook", action="store_true", help="Also time the full summary workbook."
    )
    parser.add_argument("--summaries-only", action="store_true", help="skip the files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.out)
        return

    print(
        f"backend {args.backend}, {args.initiatives:,} initiatives, load {os.getloadavg()[0]:.1f}"
    )
    with scratch_database(args.backend) as url, tempfile.TemporaryDirectory() as tmp:
        upgrade_database(url)
        built = run_child("build", url, str(args.initiatives))
        print(f"built in {built['seconds']:.0f} s", flush=True)
        print(f"parent peak RSS before the file children: {parent_rss_mb():.0f} MB")
        if not args.summaries_only:
            files(url, Path(tmp), args.workbook, args.runs)

        engine = create_db_engine(url)
        print(
            f"summaries (median of {args.runs}; ours = service.summarise, all measures; the "
            f"{TARGET_MS} ms target holds for warm calls, the registry unchanged since the last "
            "summary, and for calls after a write, which patch the per-process snapshot from "
            "the change log; the first call of a process reads the whole registry):"
        )
        bench_summaries(engine, args.runs)
        engine.dispose()
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
