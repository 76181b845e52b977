"""Deterministic synthetic demo data: initiatives, users, a past and an open campaign."""

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jvap.accounts import service as accounts_service
from jvap.campaigns.models import Assignment, Campaign, CampaignProcess, Submission
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeExternalId,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativePriority,
    InitiativeRevision,
    InitiativeTargetGroup,
)
from jvap.initiatives.money import to_eur
from jvap.reference.codelists import TARGET_GROUPS
from jvap.reference.models import Partner, Priority, ProcessMembership

DEMO_PASSWORD = "jvap-demo-2025"

THEMES: dict[str, list[str]] = {
    "D1": [
        "Youth employment and vocational skills",
        "Remittance channels and financial inclusion",
        "Diaspora investment for local development",
        "Resilience of border communities",
        "Migration mainstreaming in national development planning",
    ],
    "D2": [
        "Erasmus+ scholarships and academic mobility",
        "Labour mobility partnership",
        "Visa facilitation and consular capacity",
        "Recognition of qualifications",
    ],
    "D3": [
        "Regional development and protection programme",
        "Asylum system strengthening",
        "Protection of people on the move",
        "Durable solutions for displaced persons",
    ],
    "D4": [
        "Joint investigation team against migrant smuggling",
        "Anti-trafficking legislation and prosecution",
        "Integrated border management",
        "Awareness raising on the risks of irregular migration",
    ],
    "D5": [
        "Assisted voluntary return and reintegration",
        "Readmission case management",
        "Community-based reintegration of returnees",
        "Civil registry and identity management",
    ],
}
POLICY_THEMES = [
    "National migration policy",
    "Labour migration strategy",
    "Law on trafficking in persons",
    "Diaspora engagement policy",
    "National asylum law",
    "Border management strategy",
    "Reintegration framework",
]
IMPLEMENTERS = [
    "IOM",
    "UNHCR",
    "ILO",
    "UNDP",
    "UNODC",
    "ICMPD",
    "GIZ",
    "Enabel",
    "Expertise France",
    "AECID",
    "Ministry of Interior",
    "Ministry of Labour",
    "Civil society consortium",
]
CURRENCIES = [("EUR", 60), ("USD", 15), ("GBP", 5), ("CHF", 5), ("SEK", 5), ("XOF", 7), ("NOK", 3)]


@dataclass(slots=True)
class DemoResult:
    initiatives: int
    users: dict[str, str]  # email -> role


def is_loaded(session: Session) -> bool:
    return (
        session.scalar(select(func.count()).select_from(Campaign).where(Campaign.code == "2020"))
        > 0
    )


def load_demo(
    session: Session,
    *,
    seed: int = 2015,
    initiatives: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Add the demo dataset; `progress(n)` is called as initiatives are written."""
    rng = random.Random(seed)
    partners = list(
        session.scalars(select(Partner).where(Partner.is_jvap_partner).order_by(Partner.code))
    )
    states = [p for p in partners if p.kind == "state"]
    african = [p.code for p in states if p.category == "african_country"]
    european = [p for p in states if p.category == "european_country"]
    donors = [
        p
        for p in partners
        if p.category in ("european_country", "eu_institution", "international_organisation")
    ]
    priorities: dict[str, list[str]] = {}
    for code, domain in session.execute(select(Priority.code, Priority.domain_code)):
        priorities.setdefault(domain, []).append(code)
    by_region: dict[str | None, list[str]] = {}
    for p in states:
        if p.category == "african_country":
            by_region.setdefault(p.region_code, []).append(p.code)

    users = _demo_users(session)

    past = _campaign(
        session, "2020", "JVAP data collection 2020", date(2020, 3, 1), date(2020, 8, 31), "closed"
    )
    current = _campaign(
        session, "2025", "JVAP data collection 2025", date(2025, 3, 1), date(2026, 12, 31), "open"
    )
    memberships = set(
        session.scalars(
            select(ProcessMembership.partner_code).where(
                ProcessMembership.status.in_(("partner", "member", "partner_organisation"))
            )
        )
    )
    assignments_2020: dict[str, Assignment] = {}
    for campaign in (past, current):
        for partner in partners:
            if partner.code in memberships or partner.kind == "organisation":
                assignment = Assignment(campaign=campaign, partner_code=partner.code)
                session.add(assignment)
                if campaign is past:
                    assignments_2020[partner.code] = assignment
    session.flush()

    # Most partners answered in 2020; their submissions were accepted.
    submissions: dict[str, Submission] = {}
    reviewer = users["analyst@jvap.example"]
    for code, assignment in assignments_2020.items():
        if rng.random() < 0.75:
            batch = json.dumps({"campaign": "2020", "partner": code}).encode()
            submissions[code] = Submission(
                assignment_id=assignment.id,
                channel="api",
                filename=f"jvap-2020-{code}.json",
                content_type="application/json",
                size_bytes=len(batch),
                sha256=hashlib.sha256(batch).hexdigest(),
                raw=batch,
                status="accepted",
                report={"summary": {"new": 0, "changed": 0}},
                change_set={},
                reviewed_by_id=reviewer,
                review_comment="Verified by the follow-up team.",
            )
            session.add(submissions[code])
    session.flush()

    # Reporting partners: African states report on themselves; donors report abroad.
    reporters = list(partners)
    weights = [
        4 if p.category == "african_country" else 3 if p in european else 5 for p in reporters
    ]
    written = 0
    for _ in range(initiatives):
        owner = rng.choices(reporters, weights)[0]
        kind = "policy" if rng.random() < (0.35 if owner.kind == "state" else 0.05) else "project"
        n_domains = rng.choices([1, 2, 3], [60, 30, 10])[0]
        domains = sorted(rng.sample(sorted(THEMES), n_domains))
        start = date(2015, 11, 1) + timedelta(days=rng.randint(-60, 3600))
        if kind == "project":
            scope = rng.choices(["national", "regional", "continental"], [55, 38, 7])[0]
        else:
            scope = "national" if owner.kind == "state" else rng.choice(["regional", "continental"])
        if scope == "continental":
            countries: list[str] = []
        elif scope == "regional":
            region = rng.choice([r for r in by_region if len(by_region[r]) >= 3])
            countries = sorted(
                rng.sample(by_region[region], rng.randint(2, min(6, len(by_region[region]))))
            )
        elif owner.category == "african_country":
            countries = [owner.code]
        else:
            countries = [rng.choice(african)]
        status = _status(rng, start)
        end = None
        if kind == "project":
            end = start + timedelta(days=rng.randint(365, 365 * 5))
            if status == "completed" and end > date(2025, 12, 31):
                end = date(2025, 12, 31)
        title = _title(rng, kind, domains[0], countries, scope)
        initiative = Initiative(
            partner_code=owner.code,
            kind=kind,
            title=title,
            description=f"{title}. Objectives: strengthen capacities and cooperation under "
            f"domain(s) {', '.join(domains)} of the Joint Valletta Action Plan.",
            status=status,
            start_date=start,
            end_date=end,
            scope=scope,
            gender_marker=rng.choice([0, 1, 1, 2]),
            entity=rng.choice(IMPLEMENTERS[10:]),
            source="demo",
            publication_status="published" if rng.random() < 0.9 else "pending",
        )
        if kind == "project":
            currency = rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0]
            amount = Decimal(round(10 ** rng.uniform(5, 7.8), -3))
            if currency == "XOF":
                amount *= 650
            converted = to_eur(amount, currency, start)
            funder = owner if owner in donors else rng.choice(donors)
            initiative.budget, initiative.currency = amount, currency
            initiative.budget_eur, initiative.eur_rate = converted.amount_eur, converted.rate
            initiative.eur_rate_date = converted.rate_date
            initiative.funder_category = funder.category
            initiative.funders = [
                InitiativeFunder(position=0, name=funder.name_en, partner_code=funder.code)
            ]
            initiative.implementers = [
                InitiativeImplementer(position=i, name=name)
                for i, name in enumerate(rng.sample(IMPLEMENTERS, rng.randint(1, 3)))
            ]
            if funder.code == "EU" and rng.random() < 0.5:
                window = rng.choice(["SAH", "HOA", "NOA"])
                eutf_id = f"T05-EUTF-{window}-{rng.randint(1, 99):02d}"
                initiative.external_ids = [InitiativeExternalId(value=eutf_id)]
        initiative.domains = [InitiativeDomain(domain_code=d) for d in domains]
        chosen = {rng.choice(priorities[d]) for d in domains if priorities.get(d)}
        initiative.priorities = [InitiativePriority(priority_code=c) for c in sorted(chosen)]
        initiative.countries = [InitiativeCountry(country_iso3=c) for c in countries]
        initiative.target_groups = [
            InitiativeTargetGroup(code=t.code) for t in rng.sample(TARGET_GROUPS, rng.randint(1, 3))
        ]
        session.add(initiative)
        written += 1
        if written % 200 == 0:
            session.flush()
            if progress:
                progress(200)
    session.flush()
    if progress and written % 200:
        progress(written % 200)

    # One first revision per initiative, linked to the 2020 submission when it came from one.
    rows = session.execute(
        select(Initiative.id, Initiative.partner_code, Initiative.start_date, Initiative.title)
    ).all()
    session.execute(
        InitiativeRevision.__table__.insert(),
        [
            {
                "initiative_id": row.id,
                "number": 1,
                "changed_by_id": reviewer,
                "submission_id": submissions[row.partner_code].id
                if row.partner_code in submissions and row.start_date < date(2020, 6, 1)
                else None,
                "changes": {"title": [None, row.title]},
            }
            for row in rows
        ],
    )
    # Written through the ORM rather than create_initiatives, so the lookups are built here.
    initiatives_service.refresh_lookups(session)
    session.flush()
    return DemoResult(initiatives=written, users={e: r for e, (r, _) in _USERS.items()})


_USERS = {
    "admin@jvap.example": ("admin", None),
    "analyst@jvap.example": ("analyst", None),
    "manager@jvap.example": ("manager", None),
    "focal.sen@jvap.example": ("focal_point", "SEN"),
    "focal.fra@jvap.example": ("focal_point", "FRA"),
    "contributor.sen@jvap.example": ("contributor", "SEN"),
}


def _demo_users(session: Session) -> dict[str, int]:
    ids = {}
    for email, (role, partner) in _USERS.items():
        user = accounts_service.create_user(
            session,
            email=email,
            name=email.split("@")[0].replace(".", " ").title(),
            role=role,
            partner_code=partner,
            password=DEMO_PASSWORD,
            language="fr" if partner == "SEN" else "en",
        )
        ids[email] = user.id
    return ids


def _campaign(
    session: Session, code: str, title: str, opens: date, closes: date, status: str
) -> Campaign:
    campaign = Campaign(
        code=code,
        title=title,
        questionnaire_version="1",
        opens_on=opens,
        closes_on=closes,
        status=status,
    )
    campaign.processes = [CampaignProcess(process_code="RP"), CampaignProcess(process_code="KP")]
    session.add(campaign)
    session.flush()
    return campaign


def _status(rng: random.Random, start: date) -> str:
    if start > date(2026, 6, 1):
        return "planned"
    if start < date(2019, 1, 1):
        return rng.choices(["completed", "ongoing", "suspended"], [70, 25, 5])[0]
    return rng.choices(["ongoing", "completed", "suspended", "planned"], [60, 30, 5, 5])[0]


def _title(rng: random.Random, kind: str, domain: str, countries: list[str], scope: str) -> str:
    if kind == "policy":
        return f"{rng.choice(POLICY_THEMES)} ({rng.randint(2016, 2025)})"
    theme = rng.choice(THEMES[domain])
    if scope == "continental":
        return f"{theme} – Africa-wide"
    if scope == "regional":
        return f"{theme} in {', '.join(countries[:3])}{' and others' if len(countries) > 3 else ''}"
    return f"{theme} – {countries[0]}"
