"""The jvap command line, on a fresh database of its own."""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from jvap.accounts import service as accounts_service
from jvap.accounts.models import ApiToken, AuditEvent
from jvap.cli import main
from jvap.config import get_settings
from jvap.db import create_db_engine
from jvap.errors import JvapError
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativePriority,
    InitiativeRegion,
)
from jvap.reference import service as reference_service
from jvap.reference.models import Country, Priority
from tests.campaigns.workbooks import NEW_ROW, fill
from tests.databases import scratch_database


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def upgraded(runner: CliRunner, cli_env: str) -> str:
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "reference data loaded" in result.output
    return cli_env


def _priority_codes(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Priority.code).order_by(Priority.code)))
    finally:
        engine.dispose()


def test_db_upgrade_is_repeatable(runner: CliRunner, upgraded: str) -> None:
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0
    assert result.output.strip() == "database is up to date"


def test_reference_load_replaces_priorities(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    file = tmp_path / "priorities.csv"
    file.write_text("code,domain,title_en\nD1.X,D1,New one\nD2.X,D2,Other\n", encoding="utf-8")
    result = runner.invoke(main, ["reference", "load", str(file)])
    assert result.exit_code == 0, result.output
    assert "loaded priorities from priorities.csv" in result.output
    assert _priority_codes(upgraded) == ["D1.X", "D2.X"]


def test_reference_load_refuses_a_malformed_file_and_changes_nothing(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    before = _priority_codes(upgraded)
    file = tmp_path / "broken.yaml"
    file.write_text("priorities:\n  - {code: D1.X, title_en: no domain}\n", encoding="utf-8")
    result = runner.invoke(main, ["reference", "load", str(file)])
    assert result.exit_code == 1
    assert "broken.yaml: 1 problem(s); nothing was changed" in result.output
    assert "priorities[0]: missing 'domain'" in result.output
    assert _priority_codes(upgraded) == before


def test_reference_load_refuses_to_orphan_initiatives(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    runner.invoke(main, ["demo", "--initiatives", "30"])
    engine = create_db_engine(upgraded)
    with Session(engine) as session:
        used = session.scalar(select(InitiativePriority.priority_code).limit(1))
    engine.dispose()
    before = _priority_codes(upgraded)
    file = tmp_path / "priorities.csv"
    file.write_text("code,domain,title_en\nD1.X,D1,New one\n", encoding="utf-8")
    result = runner.invoke(main, ["reference", "load", str(file)])
    assert result.exit_code == 1
    assert f"{used}: {used} is missing from the file but still used by" in result.output
    assert _priority_codes(upgraded) == before


def test_demo_and_reference_load_keep_the_initiative_lookups_in_sync(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    assert runner.invoke(main, ["demo", "--initiatives", "40"]).exit_code == 0
    data = yaml.safe_load(reference_service.package_reference_bytes())
    for country in data["countries"]:
        if country["region"] == "west_africa":
            country["region"] = "central_africa"
    file = tmp_path / "regions.yaml"
    file.write_text(yaml.safe_dump({"countries": data["countries"]}), encoding="utf-8")

    def regions() -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
        engine = create_db_engine(upgraded)
        try:
            with Session(engine) as session:
                stored = set(
                    session.execute(
                        select(InitiativeRegion.region_code, InitiativeRegion.initiative_id)
                    ).all()
                )
                rule = set(
                    session.execute(
                        select(Country.region_code, InitiativeCountry.initiative_id)
                        .join(Country, Country.iso3 == InitiativeCountry.country_iso3)
                        .where(Country.region_code.is_not(None))
                    ).all()
                )
            return stored, rule
        finally:
            engine.dispose()

    stored, rule = regions()
    assert stored == rule and any(code == "west_africa" for code, _id in stored)
    result = runner.invoke(main, ["reference", "load", str(file)])
    assert result.exit_code == 0, result.output
    stored, rule = regions()
    assert stored == rule and not any(code == "west_africa" for code, _id in stored)


def _demo_fingerprint(runner: CliRunner, url: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setenv("JVAP_DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["demo", "--initiatives", "120", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "120 initiatives" in result.output and "analyst@jvap.example" in result.output
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            return [
                tuple(row)
                for row in session.execute(
                    select(
                        Initiative.partner_code,
                        Initiative.kind,
                        Initiative.title,
                        Initiative.budget,
                        Initiative.budget_eur,
                    ).order_by(Initiative.id)
                )
            ]
    finally:
        engine.dispose()
        get_settings.cache_clear()


def test_demo_is_deterministic_and_loaded_once(
    runner: CliRunner, cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _demo_fingerprint(runner, cli_env, monkeypatch)
    assert len(first) == 120
    assert {row[1] for row in first} == {"project", "policy"}
    assert runner.invoke(main, ["demo"]).output.strip() == "demo data already loaded"
    with scratch_database(tmp_path) as other:
        assert _demo_fingerprint(runner, other, monkeypatch) == first


def test_users_add_and_token(runner: CliRunner, upgraded: str) -> None:
    result = runner.invoke(
        main,
        [
            "users",
            "add",
            "fp@sn.example",
            "--name",
            "Awa",
            "--role",
            "focal_point",
            "--partner",
            "SEN",
        ],
    )
    assert result.exit_code == 0, result.output
    token = runner.invoke(main, ["users", "token", "fp@sn.example"])
    assert token.exit_code == 0
    assert token.stdout.strip().startswith("jvap_")


def test_users_add_refuses_a_focal_point_without_partner(runner: CliRunner, upgraded: str) -> None:
    result = runner.invoke(
        main, ["users", "add", "x@y.example", "--name", "X", "--role", "focal_point"]
    )
    assert result.exit_code == 1
    assert "belongs to a partner" in result.output


def test_bad_configuration_is_reported(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JVAP_DATABASE_URL", "mysql://root@localhost/x")
    get_settings.cache_clear()
    result = runner.invoke(main, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "bad configuration" in result.output and "unsupported database" in result.output


def test_users_revoke_ends_every_token_or_one(runner: CliRunner, upgraded: str) -> None:
    runner.invoke(main, ["users", "add", "a@x.example", "--name", "A", "--role", "analyst"])
    first = runner.invoke(main, ["users", "token", "a@x.example"]).stdout.strip()
    second = runner.invoke(main, ["users", "token", "a@x.example"]).stdout.strip()
    engine = create_db_engine(upgraded)

    def usable(token: str) -> bool:
        with Session(engine) as session:
            try:
                accounts_service.authenticate_token(session, token=token)
            except JvapError:
                return False
            return True

    try:
        with Session(engine) as session:
            first_id = session.scalar(
                select(ApiToken.id).where(ApiToken.token_hash == accounts_service.hash_token(first))
            )
        one = runner.invoke(main, ["users", "revoke", "a@x.example", "--token-id", str(first_id)])
        assert one.exit_code == 0, one.output
        assert not usable(first) and usable(second)
        wrong = runner.invoke(main, ["users", "revoke", "a@x.example", "--token-id", "999999"])
        assert wrong.exit_code == 1 and "has no token 999999" in wrong.output
        every = runner.invoke(main, ["users", "revoke", "a@x.example"])
        assert every.output.strip() == "revoked 1 token(s) and every web session of a@x.example"
        assert not usable(second)
        with Session(engine) as session:
            actions = list(
                session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("token.%")))
            )
        assert sorted(actions) == [
            "token.created",
            "token.created",
            "token.revoked",
            "token.revoked_all",
        ]
    finally:
        engine.dispose()


def test_export_initiatives_csv_and_xlsx_with_filters(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    assert runner.invoke(main, ["demo", "--initiatives", "120"]).exit_code == 0
    csv_path = tmp_path / "d1.csv"
    result = runner.invoke(
        main,
        [
            "export",
            "initiatives",
            "--format",
            "csv",
            "-o",
            str(csv_path),
            "--domain",
            "D1",
            "--publication",
            "published",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("ref,partner_code,publication_status,revision,kind,title")
    count = int(result.output.split()[0])
    assert 0 < count < 120
    xlsx_path = tmp_path / "all.xlsx"
    result = runner.invoke(
        main, ["export", "initiatives", "--format", "xlsx", "-o", str(xlsx_path)]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(xlsx_path, read_only=True).active
    assert sheet is not None and sheet.max_row == 121
    bad = runner.invoke(
        main, ["export", "initiatives", "--format", "csv", "-o", str(csv_path), "--sort", "x"]
    )
    assert bad.exit_code != 0 and "cannot sort by" in bad.output


def test_campaign_cycle_from_the_command_line(
    runner: CliRunner, upgraded: str, tmp_path: Path
) -> None:
    definition = Path(__file__).resolve().parent.parent / "campaigns" / "2027.toml"
    result = runner.invoke(main, ["campaign", "create", str(definition)])
    assert result.exit_code == 0, result.output
    assert "created campaign 2027 (draft" in result.output
    assert runner.invoke(main, ["campaign", "create", str(definition)]).exit_code == 1
    refused = runner.invoke(main, ["submit", "2027", "SEN", str(definition)])
    assert refused.exit_code == 1 and "not open yet" in refused.output
    assert runner.invoke(main, ["campaign", "open", "2027"]).exit_code == 0

    template = tmp_path / "sen.xlsx"
    result = runner.invoke(main, ["template", "2027", "SEN", "--lang", "fr", "-o", str(template)])
    assert result.exit_code == 0, result.output
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(fill(template.read_bytes(), new_rows=[{**NEW_ROW, "status": "ongoin"}]))
    result = runner.invoke(main, ["submit", "2027", "SEN", str(broken)])
    assert result.exit_code == 1
    assert "submission 1: invalid" in result.output
    assert "Initiatives!F3" in result.output and "→ ongoing" in result.output

    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(fill(template.read_bytes(), new_rows=[NEW_ROW]))
    result = runner.invoke(main, ["submit", "2027", "SEN", str(filled)])
    assert result.exit_code == 0, result.output
    assert "submission 2: pending_review – 1 rows: 1 new" in result.output

    status = runner.invoke(main, ["campaign", "status", "2027"])
    assert status.exit_code == 0, status.output
    assert "SEN      submitted" in status.output

    assert runner.invoke(main, ["review", "2"]).exit_code == 1
    result = runner.invoke(main, ["review", "2", "--accept"])
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated" in result.output
    engine = create_db_engine(upgraded)
    try:
        with Session(engine) as session:
            titles = session.scalars(select(Initiative.title)).all()
    finally:
        engine.dispose()
    assert NEW_ROW["title"] in titles

    assert runner.invoke(main, ["campaign", "close", "2027"]).exit_code == 0
    result = runner.invoke(main, ["submit", "2027", "SEN", str(filled)])
    assert result.exit_code == 1 and "closed" in result.output


def test_report_commands(
    runner: CliRunner, upgraded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JVAP_EXPORTS_DIR", str(tmp_path / "exports"))
    get_settings.cache_clear()
    assert runner.invoke(main, ["demo", "--initiatives", "150"]).exit_code == 0
    engine = create_db_engine(upgraded)
    try:
        with Session(engine) as session:
            published = session.scalars(
                select(Initiative.id).where(Initiative.publication_status == "published")
            ).all()
    finally:
        engine.dispose()

    result = runner.invoke(main, ["report", "summary", "--campaign", "2025"])
    assert result.exit_code == 0, result.output
    [workbook] = (tmp_path / "exports").glob("jvap-summary-*.xlsx")
    assert str(workbook) in result.output
    book = load_workbook(workbook, read_only=True)
    assert book.sheetnames[:2] == ["Summary", "Countries"]
    assert book["Initiatives"].max_row == len(published) + 1

    csv_path = tmp_path / "domains.csv"
    result = runner.invoke(
        main,
        [
            *("report", "summary", "--format", "csv", "--dimension", "domains"),
            *("--lang", "fr", "-o", str(csv_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = csv_path.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Code,Nom,Initiatives") and len(lines) == 1 + 5 + 1

    result = runner.invoke(
        main, ["report", "initiatives", "--format", "csv", "--include-pending", "-o", str(csv_path)]
    )
    assert result.exit_code == 0, result.output
    assert "150 initiative(s) written" in result.output

    result = runner.invoke(main, ["report", "progress", "2020", "-o", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.xlsx").exists()

    unknown = runner.invoke(main, ["report", "progress", "1999"])
    assert unknown.exit_code == 1 and "no campaign" in unknown.output
    bad = runner.invoke(main, ["report", "summary", "--process", "XX"])
    assert bad.exit_code == 1 and "unknown process 'XX'" in bad.output
    get_settings.cache_clear()


def test_review_is_recorded_only_for_analysts_and_admins(runner: CliRunner, upgraded: str) -> None:
    add = ["users", "add", "fp@sn.example", "--name", "F", "--role", "focal_point"]
    assert runner.invoke(main, [*add, "--partner", "SEN"]).exit_code == 0
    result = runner.invoke(main, ["review", "1", "--accept", "--by", "fp@sn.example"])
    assert result.exit_code == 1
    assert "only analysts and admins review submissions" in result.output
