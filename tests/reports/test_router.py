"""Summary and report routes: access, errors, and exports that match the summary API."""

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session

from jvap.campaigns import service as campaigns_service
from tests.factories import auth_headers, make_initiative, make_user
from tests.reports.conftest import Dataset


@pytest.fixture
def manager(session: Session) -> dict[str, str]:
    return auth_headers(session, make_user(session, role="manager"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("manager", 200), ("analyst", 200), ("admin", 200), ("focal_point", 403)],
)
def test_access(client: TestClient, session: Session, role: str, status: int) -> None:
    headers = auth_headers(session, make_user(session, role=role))
    assert client.get("/api/summaries/domains", headers=headers).status_code == status
    assert client.get("/api/reports/summary", headers=headers).status_code == status


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    response = client.get("/api/summaries/countries")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_summary_json(client: TestClient, dataset: Dataset, manager: dict[str, str]) -> None:
    body = client.get(
        "/api/summaries/processes", params={"campaign": "2025"}, headers=manager
    ).json()
    assert [(r["key"], r["initiatives"]) for r in body["rows"]] == [("KP", 3), ("RP", 5)]
    assert body["total"]["initiatives"] == 6
    assert body["overlaps"] == [{"processes": ["KP", "RP"], "initiatives": 2, "budget_eur": 3.7e6}]
    assert body["change_window"]["since"] == "2020-09-01"
    # I4 (new) involves no process; I1 and I2 were updated, I2 completed.
    assert body["total"]["change"] == {"new": 2, "updated": 2, "completed": 1}


def test_details_and_gaps(client: TestClient, dataset: Dataset, manager: dict[str, str]) -> None:
    sen = client.get("/api/summaries/countries/SEN", headers=manager).json()
    assert sen["summary"]["initiatives"] == 3
    kp = client.get("/api/summaries/processes/KP", headers=manager).json()
    assert kp["summary"]["initiatives"] == 3
    gaps = client.get("/api/summaries/gaps", params={"few": 0}, headers=manager).json()
    assert {g["key"] for g in gaps["countries"]} >= {"MLI"}
    assert gaps["overlaps"][0]["country"] == "SEN"


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/api/summaries/countries/XXX", {}, 404, "not_found"),
        ("/api/summaries/processes/XX", {}, 404, "not_found"),
        ("/api/summaries/domains", {"region": "atlantis"}, 422, "invalid_input"),
        ("/api/summaries/domains", {"campaign": "1999"}, 422, "invalid_input"),
        ("/api/summaries/domains", {"as_of": "not a date"}, 422, "invalid_request"),
        ("/api/reports/progress", {"campaign": "1999"}, 404, "not_found"),
        ("/api/reports/summary", {"format": "pdf"}, 422, "invalid_request"),
    ],
)
def test_errors_have_the_one_shape(
    client: TestClient,
    dataset: Dataset,
    manager: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = client.get(path, params=params, headers=manager)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "detail", "issues"}


def sheet(content: bytes, name: str) -> list[list[Any]]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name(name).to_python()


@pytest.mark.parametrize(
    "dimension", ["countries", "regions", "processes", "domains", "priorities"]
)
def test_workbook_matches_the_summary_api(
    client: TestClient, dataset: Dataset, manager: dict[str, str], dimension: str
) -> None:
    params = {"campaign": "2025"}
    response = client.get("/api/reports/summary", params=params, headers=manager)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["content-disposition"]
    api = client.get(f"/api/summaries/{dimension}", params=params, headers=manager).json()

    lines = sheet(response.content, dimension.capitalize())
    header = lines[0]
    exported = {line[0]: dict(zip(header, line, strict=True)) for line in lines[1:] if line[0]}
    assert list(exported) == [row["key"] for row in api["rows"]]
    budget = "Budget implemented in (EUR)" if dimension == "countries" else "Budget (EUR)"
    for row in api["rows"]:
        line = exported[row["key"]]
        assert line["Name"] == row["label_en"]
        assert line["Initiatives"] == row["initiatives"]
        assert line["Projects"] == row["projects"]
        assert line["Ongoing"] == row["by_status"]["ongoing"]
        assert line[budget] == pytest.approx(row["budget_eur"])
        assert line["Partners reporting"] == row["partners_reporting"]
        assert line["New"] == row["change"]["new"]
        assert line["Updated"] == row["change"]["updated"]
        assert line["Start year 2019"] == row["by_start_year"]["2019"]
    total = dict(zip(header, lines[-1], strict=True))
    assert total["Name"] == "Total (distinct count)"
    assert total["Initiatives"] == api["total"]["initiatives"]
    assert total[budget] == pytest.approx(api["total"]["budget_eur"])


def test_csv_summary_matches_the_api(
    client: TestClient, dataset: Dataset, manager: dict[str, str]
) -> None:
    response = client.get(
        "/api/reports/summary",
        params={"format": "csv", "dimension": "countries", "lang": "fr"},
        headers=manager,
    )
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    api = client.get("/api/summaries/countries", headers=manager).json()
    lines = [line.split(",") for line in response.content.decode("utf-8-sig").splitlines()]
    assert lines[0][:4] == ["Code", "Nom", "Région", "Initiatives"]
    exported = {line[0]: line for line in lines[1:] if line[0]}
    assert {key: int(line[3]) for key, line in exported.items()} == {
        row["key"]: row["initiatives"] for row in api["rows"]
    }
    assert exported["SEN"][1] == "Sénégal"
    assert lines[-1][1] == "Total (compte distinct)" and int(lines[-1][3]) == 6


def test_initiative_exports_neutralise_formulas(
    client: TestClient, session: Session, manager: dict[str, str]
) -> None:
    make_initiative(session, title="=cmd|' /C calc'!A0", priorities=("D1.01",))
    csv_text = client.get(
        "/api/reports/initiatives", params={"format": "csv"}, headers=manager
    ).content.decode("utf-8-sig")
    assert ",'=cmd|' /C calc'!A0," in csv_text
    workbook = client.get("/api/reports/initiatives", headers=manager).content
    [_, row] = sheet(workbook, "Initiatives")
    assert row[3] == "'=cmd|' /C calc'!A0"


def test_progress_report_matches_the_campaign_progress(
    client: TestClient, session: Session, dataset: Dataset, manager: dict[str, str]
) -> None:
    progress = campaigns_service.campaign_progress(session, code="2025")
    response = client.get(
        "/api/reports/progress", params={"campaign": "2025", "lang": "fr"}, headers=manager
    )
    assert response.status_code == 200
    lines = sheet(response.content, "Avancement de la campagne")
    by_label = {line[0]: line for line in lines}
    assert by_label["Attendus"][1] == progress.totals.expected
    assert by_label["Non commencés"][1] == progress.totals.not_started
    partners = [line for line in lines if line[0] in {p.partner for p in progress.partners}]
    assert len(partners) == progress.totals.expected
    csv_response = client.get(
        "/api/reports/progress", params={"campaign": "2025", "format": "csv"}, headers=manager
    )
    assert len(csv_response.content.decode("utf-8-sig").splitlines()) == 1 + len(progress.partners)


def test_workbook_summary_sheet_counts_every_initiative_once(
    client: TestClient, dataset: Dataset, manager: dict[str, str]
) -> None:
    content = client.get("/api/reports/summary", headers=manager).content
    lines = {line[0]: line[1:] for line in sheet(content, "Summary") if line[0]}
    # Seven published initiatives, I5 (continental) included; budgets once each.
    assert lines["Initiatives"][0] == 7
    assert lines["Budget (EUR)"][0] == 7_450_000
    assert lines["Countries"][:4] == [8, 6, 1, 1]  # sum of rows, distinct, several, outside
    assert lines["Processes"][:4] == [8, 6, 2, 1]
