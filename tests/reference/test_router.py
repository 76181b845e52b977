"""HTTP reference lists."""

from fastapi.testclient import TestClient


def test_domains(client: TestClient) -> None:
    response = client.get("/api/reference/domains")
    assert response.status_code == 200
    first = response.json()[0]
    assert first["code"] == "D1" and first["verified"] is True
    assert first["title_fr"].startswith("Avantages des migrations")


def test_priorities_filtered_by_domain(client: TestClient) -> None:
    response = client.get("/api/reference/priorities", params={"domain": "D3"})
    assert [p["code"] for p in response.json()] == ["D3.01", "D3.02", "D3.03"]


def test_partners_show_their_current_processes(client: TestClient) -> None:
    partners = {p["code"]: p for p in client.get("/api/reference/partners").json()}
    assert partners["TUN"]["processes"] == ["KP", "RP"]
    assert partners["ETH"]["processes"] == ["KP"]
    assert partners["EU"]["kind"] == "organisation"
    assert partners["GBR"]["processes"] == []
    rp = client.get("/api/reference/partners", params={"process": "RP"}).json()
    assert "ETH" not in {p["code"] for p in rp}


def test_processes_list_members(client: TestClient) -> None:
    processes = {p["code"]: p for p in client.get("/api/reference/processes").json()}
    assert set(processes) == {"RP", "KP"}
    kp_members = {m["partner_code"] for m in processes["KP"]["members"]}
    assert {"ETH", "ERI", "UGA", "ITA"} <= kp_members


def test_regions_and_countries(client: TestClient) -> None:
    assert "west_africa" in {r["code"] for r in client.get("/api/reference/regions").json()}
    countries = {c["iso3"]: c for c in client.get("/api/reference/countries").json()}
    assert countries["CIV"]["name_fr"] == "Côte d'Ivoire"


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/api/reference/domains" in client.get("/openapi.json").json()["paths"]
