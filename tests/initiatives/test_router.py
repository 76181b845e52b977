"""HTTP initiatives API: filters and pages, visibility by role, create, change, history."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jvap.accounts.models import AuditEvent
from jvap.initiatives import service
from jvap.initiatives.models import Initiative, format_ref
from jvap.initiatives.rules import InitiativeRecord
from tests.factories import auth_headers, initiative_payload, make_user

BASE = InitiativeRecord(
    kind="project",
    title="Youth employment programme",
    description="Vocational training",
    status="ongoing",
    start_date=date(2018, 1, 1),
    end_date=date(2022, 12, 31),
    domains=["D1"],
    scope="national",
    countries=["SEN"],
    budget=Decimal("1000000"),
    currency="EUR",
    funders=["European Union"],
)


def add(session: Session, partner: str = "SEN", *, publish: bool = True, **changes: Any) -> str:
    (initiative_id,) = service.create_initiatives(
        session, [(partner, replace(BASE, **changes))], user_id=None, publish=publish
    )
    return format_ref(initiative_id)


@pytest.fixture
def analyst(session: Session) -> dict[str, str]:
    return auth_headers(session, make_user(session, role="analyst"))


def refs(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["ref"] for item in response.json()["items"]]


def test_list_pages_with_total(client: TestClient, session: Session, analyst: dict) -> None:
    created = [add(session, partner="MLI", title=f"Initiative {n}") for n in range(5)]
    response = client.get(
        "/api/initiatives", params={"partner": "MLI", "size": 2, "page": 2}, headers=analyst
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 5
    assert refs(response) == created[2:4]
    last = client.get(
        "/api/initiatives",
        params={"partner": "MLI", "size": 2, "sort": "-ref"},
        headers=analyst,
    )
    assert refs(last) == [created[4], created[3]]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"country": "CIV"}, {"countries": ["CIV"]}),
        ({"domain": "D5"}, {"domains": ["D5"]}),
        ({"priority": "D5.01"}, {"domains": ["D5"], "priorities": ["D5.01"]}),
        ({"kind": "policy"}, {"kind": "policy", "budget": None, "currency": None}),
        ({"status": "suspended"}, {"status": "suspended"}),
        ({"funder": "FRA"}, {"funders": ["France"]}),
        ({"funder": "agence fran"}, {"funders": ["Agence Française de Développement"]}),
        ({"q": "zanzibar"}, {"title": "Fisheries in Zanzibar"}),
        ({"q": "100%"}, {"description": "Reaching 100% of returnees"}),
        (
            {"active_from": "2030-01-01"},
            {"start_date": date(2029, 1, 1), "end_date": None, "status": "planned"},
        ),
        ({"active_to": "2015-12-31"}, {"start_date": date(2015, 11, 2)}),
        ({"region": "central_africa"}, {"countries": ["CMR"]}),
        ({"process": "KP"}, {"countries": ["ERI"]}),
    ],
)
def test_each_filter_finds_its_match(
    client: TestClient,
    session: Session,
    analyst: dict,
    params: dict[str, str],
    match: dict[str, Any],
) -> None:
    other = add(session, partner="GHA", countries=["GHA"])
    target = add(session, partner="GHA", **match)
    found = refs(
        client.get("/api/initiatives", params={"partner": "GHA", **params}, headers=analyst)
    )
    assert target in found and other not in found


def test_process_includes_initiatives_reported_by_a_member(
    client: TestClient, session: Session, analyst: dict
) -> None:
    reported_by_member = add(session, partner="ETH", countries=["SEN"])
    found = refs(
        client.get("/api/initiatives", params={"process": "KP", "size": 500}, headers=analyst)
    )
    assert reported_by_member in found


def test_publication_filter(client: TestClient, session: Session, analyst: dict) -> None:
    published = add(session, partner="TCD")
    pending = add(session, partner="TCD", publish=False)
    params = {"partner": "TCD"}
    assert refs(client.get("/api/initiatives", params=params, headers=analyst)) == [
        published,
        pending,
    ]
    only = refs(
        client.get("/api/initiatives", params={**params, "publication": "pending"}, headers=analyst)
    )
    assert only == [pending]


def test_sort_by_budget_descending_puts_missing_last(
    client: TestClient, session: Session, analyst: dict
) -> None:
    small = add(session, partner="NER", budget=Decimal(10))
    none = add(session, partner="NER", kind="policy", budget=None, currency=None)
    large = add(session, partner="NER", budget=Decimal(10**7))
    response = client.get(
        "/api/initiatives", params={"partner": "NER", "sort": "-budget_eur"}, headers=analyst
    )
    assert refs(response) == [large, small, none]


def test_bad_sort_and_bad_filter_are_422(client: TestClient, analyst: dict) -> None:
    response = client.get("/api/initiatives", params={"sort": "colour"}, headers=analyst)
    assert response.status_code == 422 and response.json()["issues"][0]["field"] == "sort"
    response = client.get("/api/initiatives", params={"active_from": "soon"}, headers=analyst)
    assert response.status_code == 422
    for params in ({"q": "a\x00b"}, {"country": "S\x00N"}):
        assert client.get("/api/initiatives", params=params, headers=analyst).status_code == 422


def test_focal_point_sees_only_its_partner(client: TestClient, session: Session) -> None:
    own = add(session, partner="SEN", publish=False)
    other = add(session, partner="MLI")
    headers = auth_headers(session, make_user(session, role="focal_point", partner_code="SEN"))
    found = refs(
        client.get("/api/initiatives", params={"size": 500, "sort": "-ref"}, headers=headers)
    )
    assert own in found and other not in found
    assert client.get(f"/api/initiatives/{own}", headers=headers).status_code == 200
    hidden = client.get(f"/api/initiatives/{other}", headers=headers)
    assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
    assert client.get(f"/api/initiatives/{other}/history", headers=headers).status_code == 404


def test_manager_sees_only_published(client: TestClient, session: Session) -> None:
    published = add(session, partner="BFA")
    pending = add(session, partner="BFA", publish=False)
    headers = auth_headers(session, make_user(session, role="manager"))
    found = refs(
        client.get(
            "/api/initiatives", params={"partner": "BFA", "publication": "pending"}, headers=headers
        )
    )
    assert found == []
    assert refs(client.get("/api/initiatives", params={"partner": "BFA"}, headers=headers)) == [
        published
    ]
    assert client.get(f"/api/initiatives/{pending}", headers=headers).status_code == 404


def test_anonymous_is_401(client: TestClient) -> None:
    assert client.get("/api/initiatives").status_code == 401


def test_detail_and_unknown_refs(client: TestClient, session: Session, analyst: dict) -> None:
    ref = add(session, currency="XOF", budget=Decimal("655957"))
    item = client.get(f"/api/initiatives/{ref}", headers=analyst).json()
    assert item["ref"] == ref and item["revision"] == 1
    assert Decimal(item["budget_eur"]) == Decimal("1000.00")
    assert item["funder_partner_codes"] == ["EU"]
    assert client.get(f"/api/initiatives/{ref.lower()}", headers=analyst).status_code == 200
    for bad in ("JV-999999999", "nonsense", "JV-0"):
        assert client.get(f"/api/initiatives/{bad}", headers=analyst).status_code == 404


def test_create_initiative(client: TestClient, session: Session, analyst: dict) -> None:
    response = client.post("/api/initiatives", json=initiative_payload(), headers=analyst)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["ref"].startswith("JV-") and created["revision"] == 1
    assert created["publication_status"] == "pending"
    assert created["eur_rate"] is not None and created["eur_rate_date"] is not None
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "initiative.create", AuditEvent.object_id == created["ref"]
        )
    ).one()
    assert event.detail == {"partner_code": "SEN"}


@pytest.mark.parametrize("role", ["manager", "focal_point", "contributor"])
def test_only_analysts_and_admins_edit(client: TestClient, session: Session, role: str) -> None:
    headers = auth_headers(session, make_user(session, role=role))
    response = client.post("/api/initiatives", json=initiative_payload(), headers=headers)
    assert response.status_code == 403
    ref = add(session)
    assert (
        client.patch(f"/api/initiatives/{ref}", json={"revision": 1}, headers=headers).status_code
        == 403
    )


def count_initiatives(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Initiative)) or 0


def test_invalid_create_lists_every_problem_and_stores_nothing(
    client: TestClient, session: Session, analyst: dict
) -> None:
    before = count_initiatives(session)
    response = client.post(
        "/api/initiatives",
        json=initiative_payload(
            partner_code="XXX",
            title="",
            start_date="2019-02-30",
            budget="lots",
            currency="EUX",
            domains=["D1"],
            priorities=["D3.01"],
            colour="red",
            end_date="2018-01-01",
        ),
        headers=analyst,
    )
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "invalid_input"
    found = {(i["field"], i["code"]) for i in payload["issues"]}
    assert found == {
        ("start_date", "invalid_value"),
        ("budget", "invalid_value"),
        ("colour", "unknown_field"),
        ("title", "required"),
        ("priorities", "priority_outside_domains"),
        ("currency", "unknown_currency"),
        ("partner_code", "unknown_partner"),
    }
    assert all(i["message"] for i in payload["issues"])
    assert count_initiatives(session) == before


def test_rule_errors_alone_are_422(client: TestClient, session: Session, analyst: dict) -> None:
    response = client.post(
        "/api/initiatives",
        json=initiative_payload(end_date="2010-01-01", funders=[]),
        headers=analyst,
    )
    assert response.status_code == 422
    assert {i["code"] for i in response.json()["issues"]} == {
        "end_before_start",
        "funders_required_for_project",
    }


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"lang": "fr"}, {}), ({}, {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})],
)
def test_messages_in_french(
    client: TestClient, analyst: dict, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/initiatives",
        json=initiative_payload(title=""),
        params=params,
        headers={**analyst, **headers},
    )
    assert response.json()["issues"][0]["message"] == "Titre : champ obligatoire."


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "text",
        None,
        {"partner_code": 5},
        initiative_payload(budget="NaN"),
        initiative_payload(budget="1e30"),
        initiative_payload(title="A\x00B"),
    ],
)
def test_malformed_bodies_are_422(client: TestClient, analyst: dict, payload: Any) -> None:
    response = client.post("/api/initiatives", json=payload, headers=analyst)
    assert response.status_code == 422
    assert response.json()["issues"]


def test_patch_changes_fields_and_writes_history(
    client: TestClient, session: Session, analyst: dict
) -> None:
    ref = add(session)
    response = client.patch(
        f"/api/initiatives/{ref}",
        json={"revision": 1, "title": "Renamed", "countries": ["SEN", "GMB"], "remarks": "ok"},
        headers=analyst,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["revision"] == 2 and updated["title"] == "Renamed"
    assert updated["countries"] == ["GMB", "SEN"] and updated["domains"] == ["D1"]
    history = client.get(f"/api/initiatives/{ref}/history", headers=analyst).json()
    assert [h["number"] for h in history] == [2, 1]
    assert history[0]["changed_by"] == "Test User"
    assert history[0]["submission_id"] is None
    assert {c["field"]: [c["old"], c["new"]] for c in history[0]["changes"]} == {
        "title": ["Youth employment programme", "Renamed"],
        "countries": [["SEN"], ["GMB", "SEN"]],
        "remarks": [None, "ok"],
    }
    assert history[1]["changes"][0] == {"field": "kind", "old": None, "new": "project"}


def test_patch_with_stale_revision_is_409(
    client: TestClient, session: Session, analyst: dict
) -> None:
    ref = add(session)
    assert (
        client.patch(
            f"/api/initiatives/{ref}", json={"revision": 1, "title": "A"}, headers=analyst
        ).status_code
        == 200
    )
    response = client.patch(
        f"/api/initiatives/{ref}", json={"revision": 1, "title": "B"}, headers=analyst
    )
    assert response.status_code == 409
    assert response.json()["issues"][0]["current_revision"] == 2
    assert ref in response.json()["detail"]
    assert client.get(f"/api/initiatives/{ref}", headers=analyst).json()["title"] == "A"


def test_patch_invalid_changes_nothing(client: TestClient, session: Session, analyst: dict) -> None:
    ref = add(session)
    response = client.patch(
        f"/api/initiatives/{ref}",
        json={"revision": 1, "title": "New", "end_date": "2000-01-01", "budget": "-5"},
        headers=analyst,
    )
    assert response.status_code == 422
    assert {i["code"] for i in response.json()["issues"]} == {
        "end_before_start",
        "negative_budget",
    }
    missing_revision = client.patch(f"/api/initiatives/{ref}", json={"title": "x"}, headers=analyst)
    assert missing_revision.status_code == 422
    assert missing_revision.json()["issues"][0] == {
        "field": "revision",
        "code": "required",
        "severity": "error",
        "message": "Revision is required.",
    }
    item = client.get(f"/api/initiatives/{ref}", headers=analyst).json()
    assert item["title"] == BASE.title and item["revision"] == 1


def test_patch_without_change_keeps_the_revision(
    client: TestClient, session: Session, analyst: dict
) -> None:
    ref = add(session)
    response = client.patch(
        f"/api/initiatives/{ref}", json={"revision": 1, "title": BASE.title}, headers=analyst
    )
    assert response.json()["revision"] == 1


def test_publish(client: TestClient, session: Session, analyst: dict) -> None:
    ref = add(session, publish=False)
    response = client.post(f"/api/initiatives/{ref}/publish", headers=analyst)
    assert response.json()["publication_status"] == "published"
    assert response.json()["revision"] == 1


def test_link_table_filters_alone_count_each_initiative_once(
    client: TestClient, session: Session, analyst: dict
) -> None:
    both = add(session, domains=["D2", "D5"], countries=["CIV", "SEN"])
    civ = add(session, domains=["D5"], countries=["CIV"])
    other = add(session, domains=["D2"], countries=["GHA"])

    def listed(params: dict[str, Any]) -> tuple[int, list[str]]:
        response = client.get("/api/initiatives", params=params, headers=analyst)
        return response.json()["total"], refs(response)

    assert listed({"domain": "D5"}) == (2, [both, civ])
    assert listed({"domain": ["D5", "D2"]}) == (3, [both, civ, other])
    assert listed({"domain": "D5", "country": "CIV"}) == (2, [both, civ])
    assert listed({"domain": "D2", "country": ["SEN", "GHA"]}) == (2, [both, other])
    assert listed({"domain": "D5", "sort": "-ref", "size": 1, "page": 2}) == (2, [both])
    assert listed({"region": "west_africa", "domain": "D2"}) == (2, [both, other])
    assert listed({"domain": "D5", "sort": "-start_date"})[0] == 2
