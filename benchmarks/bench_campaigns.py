"""Questionnaire pipeline: a 5,000-row upload read to staged, accept, template generation.

    .venv/bin/python benchmarks/bench_campaigns.py [--backend sqlite|postgresql] [--rows N]

Builds its own data in a scratch database (a SQLite temp file, or a fresh PostgreSQL
database on 127.0.0.1:5432), then measures, each the median of several runs (the naive
baseline runs once), in wall-clock and CPU seconds:
- the whole upload pipeline (store raw, zip checks, read, normalise, validate, diff, stage)
  on a filled template of N new rows, against, in the same run, the raw python-calamine
  read of the same file and a naive baseline (pandas.read_excel with openpyxl, then one ORM
  object per row and per link, flushed);
- accepting that submission and committing (N initiatives created, revisions written,
  published), then deleting what it created so that the next run starts alike;
- the same pipeline and accept for N changed rows (every title edited);
- the template for a partner with 2,000 initiatives.
The measured pipelines are rolled back, so every run starts from the same state.
"""

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import scratch_database  # noqa: E402
from jvap.campaigns import service  # noqa: E402
from jvap.campaigns.models import Submission  # noqa: E402
from jvap.campaigns.schemas import CampaignCreate  # noqa: E402
from jvap.campaigns.template import DATA_SHEET  # noqa: E402
from jvap.db import create_db_engine, upgrade_database  # noqa: E402
from jvap.initiatives import service as initiatives_service  # noqa: E402
from jvap.initiatives.models import (  # noqa: E402
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativeRevision,
    InitiativeTargetGroup,
)
from jvap.initiatives.rules import InitiativeRecord  # noqa: E402
from jvap.reference import service as reference_service  # noqa: E402
from jvap.reference.countries import resolve_country  # noqa: E402

LIMIT = 200 * 1024 * 1024
CAMPAIGN = "B25"
STATUSES = ["Planned", "Ongoing", "Completed"]
COUNTRIES = ["SEN", "MLI", "NER", "GMB", "GIN", "CIV", "Burkina Faso", "Mauritanie"]
IMPLEMENTERS = ["IOM", "UNHCR", "ILO", "GIZ", "Enabel", "Expertise France"]


Seconds = tuple[float, float]  # (wall clock, CPU)


def clock(fn: Callable[[], Any]) -> Seconds:
    """One call of `fn`: CPU time is what a loaded machine distorts least, since other
    processes' work does not count in it."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


def medians(samples: list[Seconds]) -> Seconds:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def timed(fn: Callable[[], Any], runs: int) -> Seconds:
    """(median wall clock, median CPU) seconds of `runs` calls."""
    return medians([clock(fn) for _ in range(runs)])


def paired(
    base: Callable[[], Any], ours: Callable[[], Any], runs: int
) -> tuple[Seconds, Seconds, float]:
    """The medians of `base` and of `ours`, and the median of the per-pair wall ratios
    ours/base: each pair runs back to back, so a slow spell of a shared machine weighs on
    both sides of a ratio instead of on one side only."""
    pairs = [(clock(base), clock(ours)) for _ in range(runs)]
    ratio = statistics.median(o[0] / b[0] for b, o in pairs)
    return medians([b for b, _ in pairs]), medians([o for _, o in pairs]), ratio


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    """A session whose work is thrown away afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        session.begin()
        try:
            yield session
        finally:
            session.rollback()


def new_row(rng: random.Random, index: int) -> dict[str, Any]:
    """A new project as a focal point types it: labels, names, some text dates and amounts."""
    start = date(2016, 1, 1) + timedelta(days=rng.randint(0, 3000))
    domains = sorted(rng.sample(["D1", "D2", "D3", "D4", "D5"], rng.randint(1, 2)))
    return {
        "kind": "Project",
        "title": f"Migration programme {index}: capacity building and protection",
        "description": " ".join(
            [f"Support to national authorities and civil society ({index})."] * 3
        ),
        "status": rng.choice(STATUSES),
        "start_date": start if index % 10 else start.strftime("%d/%m/%Y"),
        "end_date": start + timedelta(days=rng.randint(365, 1500)),
        "domains": "; ".join(domains),
        "priorities": "",
        "scope": "Regional",
        "countries": "; ".join(rng.sample(COUNTRIES, 3)),
        "budget": rng.randint(100, 9000) * 1000 if index % 10 else "1 250 000",
        "currency": "EUR",
        "funders": "European Union",
        "funder_category": "EU institution",
        "implementers": "; ".join(rng.sample(IMPLEMENTERS, 2)),
        "target_groups": "Migrants; Youth",
        "gender_marker": "1 – significant objective",
        "entity": "Ministry of the Interior",
    }


def filled_template(engine: Engine, partner: str, rows: list[dict[str, Any]]) -> bytes:
    with Session(engine) as session:
        _name, content = service.build_template(
            session, campaign_code=CAMPAIGN, partner_code=partner
        )
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book[DATA_SHEET]
    keys = [cell.value for cell in sheet[1]]
    for values in rows:
        sheet.append([values.get(key) for key in keys])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def edited_template(engine: Engine, partner: str) -> bytes:
    with Session(engine) as session:
        _name, content = service.build_template(
            session, campaign_code=CAMPAIGN, partner_code=partner
        )
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book[DATA_SHEET]
    title = [cell.value for cell in sheet[1]].index("title") + 1
    for row in range(3, sheet.max_row + 1):
        sheet.cell(row, title).value = f"{sheet.cell(row, title).value} (updated)"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def calamine_read(content: bytes) -> int:
    with CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
        return len(book.get_sheet_by_name(DATA_SHEET).to_python())


def receive(session: Session, content: bytes, partner: str) -> Submission:
    """The upload read to staged, as the API does it; it must have no errors."""
    submission, _created = service.receive_submission(
        session,
        campaign_code=CAMPAIGN,
        partner_code=partner,
        filename="bench.xlsx",
        content=content,
        max_uncompressed=LIMIT,
    )
    assert submission.status == "pending_review", submission.report["issues"][:5]
    return submission


def pipeline(engine: Engine, content: bytes, partner: str) -> dict[str, Any]:
    with rolled_back(engine) as session:
        return receive(session, content, partner).report["summary"]


def naive(engine: Engine, content: bytes) -> int:
    """pandas.read_excel(openpyxl), then one ORM object per row and per linked value."""
    frame = pd.read_excel(
        io.BytesIO(content), sheet_name=DATA_SHEET, engine="openpyxl", skiprows=[1]
    )
    frame = frame.astype(object).where(frame.notna(), None)
    with rolled_back(engine) as session:
        for row in frame.to_dict("records"):
            initiative = Initiative(
                partner_code="SEN",
                kind=str(row["kind"]).lower(),
                title=row["title"],
                description=row["description"],
                status=str(row["status"]).lower(),
                start_date=pd.to_datetime(row["start_date"], dayfirst=True).date(),
                end_date=pd.to_datetime(row["end_date"]).date(),
                scope=str(row["scope"]).lower(),
                budget=Decimal(str(row["budget"]).replace(" ", "")),
                currency=row["currency"],
                entity=row["entity"],
                source="questionnaire",
            )
            initiative.domains = [
                InitiativeDomain(domain_code=d.strip()) for d in row["domains"].split(";")
            ]
            initiative.countries = [
                InitiativeCountry(country_iso3=resolve_country(c) or c.strip())
                for c in row["countries"].split(";")
            ]
            initiative.funders = [InitiativeFunder(position=0, name=row["funders"])]
            initiative.implementers = [
                InitiativeImplementer(position=i, name=n.strip())
                for i, n in enumerate(row["implementers"].split(";"))
            ]
            initiative.target_groups = [
                InitiativeTargetGroup(code=t.strip().lower())
                for t in row["target_groups"].split(";")
            ]
            session.add(initiative)
        session.flush()
        return len(frame)


def stage(engine: Engine, content: bytes, partner: str) -> int:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return receive(session, content, partner).id


def accept(engine: Engine, submission_id: int) -> None:
    """Accept a staged submission and commit: the commit is part of the cost (deferred
    triggers on PostgreSQL, the journal and fsync on SQLite)."""
    with Session(engine) as session, session.begin():
        service.accept_submission(session, submission_id=submission_id)


def timed_accepts(
    engine: Engine, runs: int, prepare: Callable[[], int], undo: Callable[[int], None]
) -> Seconds:
    """(median wall, median CPU) seconds of `accept` over `runs` submissions, each staged
    by `prepare` and, after it is measured, taken back by `undo` (neither is timed)."""
    samples = []
    for _ in range(runs):
        submission_id = prepare()
        samples.append(clock(partial(accept, engine, submission_id)))
        undo(submission_id)
    return medians(samples)


def remove_created(engine: Engine, submission_id: int) -> None:
    """Delete what accepting `submission_id` created (links and revisions cascade), and the
    submission itself, so that the same file can be staged and accepted again."""
    with Session(engine) as session, session.begin():
        created = select(InitiativeRevision.initiative_id).where(
            InitiativeRevision.submission_id == submission_id, InitiativeRevision.number == 1
        )
        session.execute(delete(Initiative).where(Initiative.id.in_(created)))
        session.execute(delete(Submission).where(Submission.id == submission_id))
    tidy(engine)


def tidy(engine: Engine) -> None:
    """On PostgreSQL, clear the dead rows the previous run left and refresh statistics, so
    that no autovacuum lands in the next run (SQLite has no background work to mimic)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def template(engine: Engine, partner: str) -> int:
    with Session(engine) as session:
        return len(service.build_template(session, campaign_code=CAMPAIGN, partner_code=partner)[1])


def seed_partner(engine: Engine, partner: str, n: int, rng: random.Random) -> None:
    records = [
        (
            partner,
            InitiativeRecord(
                kind="project",
                title=f"Initiative {i} of {partner}",
                description="Objectives and activities",
                status="ongoing",
                start_date=date(2017, 1, 1) + timedelta(days=rng.randint(0, 2500)),
                end_date=date(2027, 1, 1),
                domains=["D1", "D3"],
                scope="regional",
                countries=["SEN", "MLI", "NER"],
                budget=Decimal(rng.randint(100, 9000) * 1000),
                currency="EUR",
                funders=["European Union"],
                funder_category="eu_institution",
                implementers=["IOM", "GIZ"],
                target_groups=["migrants", "youth"],
                gender_marker=1,
            ),
        )
        for i in range(n)
    ]
    with Session(engine) as session, session.begin():
        initiatives_service.create_initiatives(session, records, user_id=None, publish=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(25)

    with scratch_database(args.backend) as url:
        upgrade_database(url)
        engine = create_db_engine(url)
        with Session(engine) as session, session.begin():
            reference_service.seed(session)
            service.create_campaign(
                session,
                data=CampaignCreate(
                    code=CAMPAIGN,
                    title="Benchmark",
                    opens_on=date(2025, 1, 1),
                    closes_on=date(2030, 1, 1),
                    processes=["RP", "KP"],
                ),
            )
            service.open_campaign(session, code=CAMPAIGN)

        print(f"backend {args.backend}; {args.rows:,} rows; median of {args.runs} runs")
        content = filled_template(engine, "SEN", [new_row(rng, i) for i in range(args.rows)])
        print(f"upload file: {len(content) / 1024:,.0f} KiB")

        summary = pipeline(engine, content, "SEN")
        assert summary["new"] == args.rows, summary
        (raw, raw_cpu), (ours, ours_cpu), ratio = paired(
            lambda: calamine_read(content), lambda: pipeline(engine, content, "SEN"), args.runs
        )
        # Once: at tens of seconds per run, noise does not change the comparison.
        naive_wall, naive_cpu = timed(lambda: naive(engine, content), 1)
        print(f"\nupload of {args.rows:,} new rows, read to staged   (wall s / CPU s)")
        print(f"  raw python-calamine read          {raw:7.3f} / {raw_cpu:6.3f}")
        print(
            f"  jvap pipeline                     {ours:7.3f} / {ours_cpu:6.3f}   "
            f"{ratio:5.2f}x the raw read, median of the pairs "
            f"({ours_cpu / raw_cpu:.2f}x in CPU)"
        )
        print(
            f"  pandas.read_excel + ORM inserts   {naive_wall:7.3f} / {naive_cpu:6.3f}   "
            f"pipeline {naive_wall / ours:5.1f}x faster ({naive_cpu / ours_cpu:.1f}x in CPU)"
        )
        print(f"  ({summary['warnings']} normalisation warnings reported, 0 errors)")

        wall, cpu = timed_accepts(
            engine,
            args.runs,
            lambda: stage(engine, content, "SEN"),
            lambda submission_id: remove_created(engine, submission_id),
        )
        print(
            f"\naccept (apply) of {args.rows:,} new initiatives, committed"
            f"   {wall:7.3f} / {cpu:6.3f}"
        )
        accept(engine, stage(engine, content, "SEN"))

        edited = edited_template(engine, "SEN")
        summary = pipeline(engine, edited, "SEN")
        assert summary["changed"] == args.rows, summary
        (raw, raw_cpu), (ours, ours_cpu), ratio = paired(
            lambda: calamine_read(edited), lambda: pipeline(engine, edited, "SEN"), args.runs
        )
        # Each run edits the titles again from the revisions the previous one left (a title
        # grows by 10 characters a run: the 300-character limit allows ~25 runs).
        wall, cpu = timed_accepts(
            engine,
            args.runs,
            lambda: stage(engine, edited_template(engine, "SEN"), "SEN"),
            lambda _submission_id: tidy(engine),
        )
        print(f"\nupload of {args.rows:,} changed rows (every title edited)")
        print(f"  raw python-calamine read          {raw:7.3f} / {raw_cpu:6.3f}")
        print(
            f"  jvap pipeline                     {ours:7.3f} / {ours_cpu:6.3f}   "
            f"{ratio:5.2f}x the raw read, median of the pairs "
            f"({ours_cpu / raw_cpu:.2f}x in CPU)"
        )
        print(f"  accept (apply), committed         {wall:7.3f} / {cpu:6.3f}")

        seed_partner(engine, "MLI", 2000, rng)
        wall, cpu = timed(lambda: template(engine, "MLI"), args.runs)
        print(f"\ntemplate for a partner with 2,000 initiatives   {wall:7.3f} / {cpu:6.3f}")
        engine.dispose()


if __name__ == "__main__":
    main()
