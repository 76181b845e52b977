"""Small keyword-default factories for test records."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from jvap.accounts import service as accounts_service
from jvap.accounts.models import User
from jvap.campaigns import service as campaigns_service
from jvap.campaigns.models import Campaign
from jvap.campaigns.schemas import CampaignCreate
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativePriority,
)

_counter = iter(range(1, 10**9))


def make_user(
    session: Session,
    *,
    role: str = "analyst",
    partner_code: str | None = None,
    email: str | None = None,
    password: str | None = None,
) -> User:
    if role in ("focal_point", "contributor") and partner_code is None:
        partner_code = "SEN"
    return accounts_service.create_user(
        session,
        email=email or f"user{next(_counter)}@test.example",
        name="Test User",
        role=role,
        partner_code=partner_code,
        password=password,
    )


def auth_headers(session: Session, user: User) -> dict[str, str]:
    _, plain = accounts_service.issue_token(session, user=user)
    return {"Authorization": f"Bearer {plain}"}


def make_initiative(
    session: Session,
    *,
    partner_code: str = "SEN",
    kind: str = "project",
    title: str = "Youth employment programme",
    status: str = "ongoing",
    scope: str = "national",
    start_date: date = date(2018, 1, 1),
    end_date: date | None = date(2022, 12, 31),
    domains: tuple[str, ...] = ("D1",),
    priorities: tuple[str, ...] = (),
    countries: tuple[str, ...] = ("SEN",),
    budget: Decimal | None = Decimal("1000000"),
    currency: str | None = "EUR",
    publication_status: str = "published",
) -> Initiative:
    initiative = Initiative(
        partner_code=partner_code,
        kind=kind,
        title=title,
        description="Description",
        status=status,
        scope=scope,
        start_date=start_date,
        end_date=end_date,
        budget=budget,
        currency=currency,
        budget_eur=budget if currency == "EUR" else None,
        publication_status=publication_status,
    )
    initiative.domains = [InitiativeDomain(domain_code=d) for d in domains]
    initiative.priorities = [InitiativePriority(priority_code=p) for p in priorities]
    initiative.countries = [InitiativeCountry(country_iso3=c) for c in countries]
    session.add(initiative)
    session.flush()
    # As the services do: the region and process filters read the derived lookups.
    initiatives_service.refresh_lookups(session, ids=[initiative.id], new=True)
    return initiative


def make_campaign(
    session: Session,
    *,
    code: str = "T2025",
    status: str = "open",
    processes: tuple[str, ...] = ("RP", "KP"),
    opens_on: date = date(2025, 3, 1),
    closes_on: date = date(2026, 12, 31),
    questionnaire_version: str = "1",
) -> Campaign:
    """A campaign with its assignments (every partner of `processes`), in `status`."""
    campaign = campaigns_service.create_campaign(
        session,
        data=CampaignCreate(
            code=code,
            title=f"Test campaign {code}",
            questionnaire_version=questionnaire_version,
            opens_on=opens_on,
            closes_on=closes_on,
            processes=list(processes),
        ),
    )
    campaign.status = status
    session.flush()
    return campaign


def initiative_payload(**changes: Any) -> dict[str, Any]:
    """A valid POST /api/initiatives body; a change to `...` leaves that field out."""
    payload: dict[str, Any] = {
        "partner_code": "SEN",
        "kind": "project",
        "title": "Border management",
        "description": "Training of border officials",
        "status": "ongoing",
        "start_date": "2019-05-01",
        "domains": ["D4"],
        "scope": "national",
        "countries": ["SEN"],
        "budget": "2500000",
        "currency": "USD",
        "funders": ["European Union"],
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}
