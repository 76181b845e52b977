"""A small hand-built registry whose summaries are worked out by hand in the tests.

id  partner kind    status    start countries    domains priorities  EUR       funders
I1  SEN     project ongoing   2018  SEN          D1      D1.01       1 000 000 FRA
I2  FRA     project completed 2019  SEN MLI ETH  D1 D3   D1.01 D3.01 3 000 000 FRA EU
I3  ETH     policy  ongoing   2020  ETH          D3      D3.02       -
I4  GBR     project planned   2021  LBN          D4      D4.01         500 000 GBR
I5  EU      project suspended 2017  (continent)  D5      -           2 000 000 EU
I6  TUN     project ongoing   2022  TUN          D4      D4.01         700 000 TUN
I8  EU      project ongoing   2020  SEN          D1      D1.01         250 000 EU
I7  SEN     project ongoing   2023  SEN          D1      D1.01         400 000 -  (pending)

Processes (current members): SEN, EU -> RP; ETH -> KP; FRA, TUN -> both; GBR and LBN none.
So RP = I1 I2 I5 I6 I8, KP = I2 I3 I6, and I4 involves no process.
Campaigns: 2020 (closed 2020-08-31) and 2025 (closes 2025-12-31); the change window of 2025
runs 2020-09-01 .. 2025-12-31. Revisions: I1 2019 + 2021 (update), I2 2019 + 2022 (status to
completed), I3 2021 (new), I4 2025 (new), I5 2018, I6 2024 + 2024 (new), I8 2020-06,
I7 2023 (pending).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jvap.initiatives.models import Initiative, InitiativeFunder, InitiativeRevision
from tests.factories import make_campaign, make_initiative


@dataclass(frozen=True, slots=True)
class Dataset:
    ids: dict[str, int]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _add(
    session: Session,
    *,
    funders: tuple[str, ...] = (),
    revisions: tuple[tuple[str, dict[str, Any]], ...],
    **fields: Any,
) -> Initiative:
    initiative = make_initiative(session, **fields)
    initiative.funders = [
        InitiativeFunder(position=i, name=code, partner_code=code) for i, code in enumerate(funders)
    ]
    initiative.created_at = _at(revisions[0][0])
    for number, (day, changes) in enumerate(revisions, start=1):
        session.add(
            InitiativeRevision(
                initiative_id=initiative.id, number=number, changed_at=_at(day), changes=changes
            )
        )
    session.flush()
    return initiative


@pytest.fixture
def dataset(session: Session) -> Dataset:
    make_campaign(
        session,
        code="2020",
        status="closed",
        opens_on=date(2020, 3, 1),
        closes_on=date(2020, 8, 31),
    )
    make_campaign(
        session,
        code="2025",
        status="open",
        opens_on=date(2025, 3, 1),
        closes_on=date(2025, 12, 31),
    )
    ids = {}
    ids["I1"] = _add(
        session,
        partner_code="SEN",
        status="ongoing",
        start_date=date(2018, 3, 1),
        countries=("SEN",),
        domains=("D1",),
        priorities=("D1.01",),
        budget=Decimal("1000000"),
        funders=("FRA",),
        revisions=(
            ("2019-01-10", {"status": [None, "ongoing"]}),
            ("2021-05-05", {"title": ["Old title", "Youth employment programme"]}),
        ),
    ).id
    ids["I2"] = _add(
        session,
        partner_code="FRA",
        status="completed",
        scope="regional",
        start_date=date(2019, 6, 1),
        countries=("SEN", "MLI", "ETH"),
        domains=("D1", "D3"),
        priorities=("D1.01", "D3.01"),
        budget=Decimal("3000000"),
        funders=("FRA", "EU"),
        revisions=(
            ("2019-02-01", {"status": [None, "ongoing"]}),
            ("2022-03-01", {"status": ["ongoing", "completed"]}),
        ),
    ).id
    ids["I3"] = _add(
        session,
        partner_code="ETH",
        kind="policy",
        status="ongoing",
        start_date=date(2020, 1, 15),
        end_date=None,
        countries=("ETH",),
        domains=("D3",),
        priorities=("D3.02",),
        budget=None,
        currency=None,
        revisions=(("2021-01-01", {"status": [None, "ongoing"]}),),
    ).id
    ids["I4"] = _add(
        session,
        partner_code="GBR",
        status="planned",
        start_date=date(2021, 9, 1),
        countries=("LBN",),
        domains=("D4",),
        priorities=("D4.01",),
        budget=Decimal("500000"),
        funders=("GBR",),
        revisions=(("2025-06-01", {"status": [None, "planned"]}),),
    ).id
    ids["I5"] = _add(
        session,
        partner_code="EU",
        status="suspended",
        scope="continental",
        start_date=date(2017, 5, 1),
        countries=(),
        domains=("D5",),
        priorities=(),
        budget=Decimal("2000000"),
        funders=("EU",),
        revisions=(("2018-01-01", {"status": [None, "suspended"]}),),
    ).id
    ids["I6"] = _add(
        session,
        partner_code="TUN",
        status="ongoing",
        start_date=date(2022, 2, 1),
        countries=("TUN",),
        domains=("D4",),
        priorities=("D4.01",),
        budget=Decimal("700000"),
        funders=("TUN",),
        revisions=(
            ("2024-02-01", {"status": [None, "ongoing"]}),
            ("2024-03-01", {"title": ["Draft", "Youth employment programme"]}),
        ),
    ).id
    ids["I7"] = _add(
        session,
        partner_code="SEN",
        status="ongoing",
        start_date=date(2023, 1, 1),
        countries=("SEN",),
        domains=("D1",),
        priorities=("D1.01",),
        budget=Decimal("400000"),
        publication_status="pending",
        revisions=(("2023-02-01", {"status": [None, "ongoing"]}),),
    ).id
    ids["I8"] = _add(
        session,
        partner_code="EU",
        status="ongoing",
        start_date=date(2020, 5, 1),
        countries=("SEN",),
        domains=("D1",),
        priorities=("D1.01",),
        budget=Decimal("250000"),
        funders=("EU",),
        revisions=(("2020-06-01", {"status": [None, "ongoing"]}),),
    ).id
    return Dataset(ids=ids)
