"""The whole portal scenario in headless Chromium against a real server and a fresh database.

A focal point signs in, downloads the questionnaire, uploads it with an error, sees the error
with its row and column, uploads the corrected file (which submits it); an analyst accepts it
and sees the dashboard count grow. A screenshot of every page goes to exports/screenshots/.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from jvap.demo import DEMO_PASSWORD
from tests.databases import scratch_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "exports" / "screenshots"
START_TIMEOUT_SECONDS = 90
# Playwright's own timeouts, in milliseconds: generous, as CI shares two cores.
STEP_TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install chromium; .ci/run does it)",
    ),
]

NEW_PROJECT = {
    "kind": "Project",
    "title": "Portal test: border management training",
    "description": "Training of border officials, reported through the portal",
    "status": "Ongoing",
    "start_date": date(2021, 5, 1),
    "end_date": date(2020, 1, 1),  # before the start: the error the focal point must fix
    "domains": "D4",
    "scope": "National",
    "countries": "SEN",
    "budget": 250000,
    "currency": "EUR",
    "funders": "European Union",
    "funder_category": "EU institution",
    "target_groups": "Government officials",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _jvap(*args: str, env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "jvap", *args], env=env, cwd=cwd, check=True, capture_output=True
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`jvap serve` on a free port of 127.0.0.1, on a new database with the demo data."""
    workdir = tmp_path_factory.mktemp("e2e")
    with scratch_database(workdir) as url:
        env = {
            **os.environ,
            "JVAP_DATABASE_URL": url,
            "JVAP_SECRET_KEY": "e2e-secret-key-e2e-secret-key-0123456789",
            "JVAP_EXPORTS_DIR": str(workdir / "exports"),
        }
        _jvap("db", "upgrade", env=env, cwd=workdir)
        _jvap("demo", "--initiatives", "150", env=env, cwd=workdir)
        port = _free_port()
        log = (workdir / "server.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "jvap", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                if process.poll() is not None:
                    pytest.fail(f"jvap serve exited: {(workdir / 'server.log').read_text()}")
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("jvap serve did not answer /api/health in time")
                    time.sleep(0.25)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    yield context.new_page()
    context.close()


class Shots:
    """Numbered full-page screenshots, so the folder reads in the order of the scenario."""

    def __init__(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # A previous run's pictures would mix with this run's numbers.
        for old in SCREENSHOTS.glob("[0-9][0-9]-*.png"):
            old.unlink()
        self.count = 0

    def take(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(SCREENSHOTS / f"{self.count:02d}-{name}.png"), full_page=True)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("Email address|Adresse électronique")).fill(email)
    page.get_by_label(re.compile("Password|Mot de passe")).fill(DEMO_PASSWORD)
    page.locator("form.card button[type=submit]").click()
    expect(page.locator("header .account")).to_contain_text(re.compile("Signed in|Connecté"))


def sign_out(page: Page) -> None:
    page.locator("header .account button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def _column_of(path: Path, key: str) -> str:
    sheet = openpyxl.load_workbook(path)["Initiatives"]
    for cell in sheet[1]:
        if cell.value == key:
            return str(cell.column_letter)
    raise KeyError(key)


def _append_row(source: Path, target: Path, values: dict[str, object]) -> int:
    """Add a row to the questionnaire the way a person would; returns its row number."""
    workbook = openpyxl.load_workbook(source)
    sheet = workbook["Initiatives"]
    columns = {cell.value: cell.column for cell in sheet[1] if cell.value}
    row = sheet.max_row + 1
    for key, value in values.items():
        sheet.cell(row, columns[key], value)
    workbook.save(target)
    return row


def _total(page: Page) -> int:
    return int(re.sub(r"\D", "", page.locator("#total-initiatives").inner_text()))


def _upload(page: Page, path: Path) -> None:
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name=re.compile("Upload and submit|Déposer et soumettre")).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))


def test_focal_point_uploads_analyst_accepts_dashboard_changes(
    server: str, page: Page, tmp_path: Path
) -> None:
    shots = Shots()
    # Script errors and refused resources (the pages' security policy) show up here.
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    # The analyst notes the dashboard's count before anything is submitted.
    sign_in(page, server, "analyst@jvap.example")
    page.goto(f"{server}/dashboard")
    before = _total(page)
    shots.take(page, "dashboard-before")
    sign_out(page)

    # The focal point of Senegal: the account is in French, the switch to English is kept.
    page.goto(f"{server}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    shots.take(page, "sign-in")
    sign_in(page, server, "focal.sen@jvap.example")
    expect(page).to_have_url(re.compile(r"/partners/SEN$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    shots.take(page, "my-campaigns-fr")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Open 2025").click()
    expect(page.locator("h1")).to_contain_text("JVAP data collection 2025")
    expect(page.locator("dl.facts")).to_contain_text("Deadline")
    shots.take(page, "campaign")

    with page.expect_download() as download:
        page.locator("#download-questionnaire").click()
    questionnaire = tmp_path / download.value.suggested_filename
    download.value.save_as(questionnaire)
    assert questionnaire.suffix == ".xlsx"

    wrong = tmp_path / "answers-with-an-error.xlsx"
    row = _append_row(questionnaire, wrong, NEW_PROJECT)
    column = _column_of(questionnaire, "end_date")
    _upload(page, wrong)
    expect(page.locator("#submission-status")).to_have_text("Has errors")
    group = page.locator(".issue-row", has_text=f"Row {row}")
    expect(group).to_contain_text(NEW_PROJECT["title"])
    expect(group.locator("tbody tr").first).to_contain_text(column)
    expect(group).to_contain_text("is before the start date")
    annotated = page.get_by_role("link", name=re.compile("workbook with the problems marked"))
    expect(annotated).to_be_visible()
    shots.take(page, "result-with-error")

    corrected = tmp_path / "answers-corrected.xlsx"
    _append_row(questionnaire, corrected, {**NEW_PROJECT, "end_date": date(2024, 4, 30)})
    page.get_by_role("link", name="Back to the campaign").click()
    # Hold the upload on its way to the server, to see the progress indicator at work.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/upload", hold)
    page.locator("#file").set_input_files(str(corrected))
    with page.expect_request(re.compile(r"/upload$")) as sent:
        page.get_by_role("button", name="Upload and submit").click()
    assert sent.value.resource_type == "xhr"  # the script's XMLHttpRequest, not the plain form
    expect(page.locator(".upload-progress")).to_be_visible()
    expect(page.locator("[data-progress-text]")).not_to_be_empty()
    shots.take(page, "uploading")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    held[0].continue_()
    page.unroute("**/upload")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.locator("#submission-status")).to_have_text("Waiting for review")
    expect(page.locator("#count-new")).to_have_text("1")
    expect(page.get_by_role("status").first).to_contain_text("Submitted")
    shots.take(page, "result-submitted")
    submission_url = page.url

    page.get_by_role("link", name="Back to the campaign").click()
    expect(page.locator("#history ~ .table-scroll table")).to_contain_text("Waiting for review")
    shots.take(page, "campaign-history")

    # Another partner's pages are out of reach.
    answer = page.goto(f"{server}/partners/FRA")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("You do not have access to this page.")
    shots.take(page, "other-partner-refused")
    sign_out(page)

    # The analyst finds the submission on the board, reviews the diff and accepts it.
    sign_in(page, server, "analyst@jvap.example")
    page.goto(f"{server}/progress")
    expect(page.locator("#partner-SEN")).to_contain_text("Waiting for review")
    shots.take(page, "progress-board")
    page.locator("#process").select_option("KP")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"process=KP"))
    shots.take(page, "progress-board-khartoum")
    page.goto(f"{server}/progress")
    page.locator("#partner-SEN a").click()
    assert page.url == submission_url
    expect(page.locator("#changes ~ ul")).to_contain_text(NEW_PROJECT["title"])
    shots.take(page, "review")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#submission-status")).to_have_text("Accepted")
    shots.take(page, "accepted")

    page.goto(f"{server}/dashboard")
    assert _total(page) == before + 1
    shots.take(page, "dashboard-after")

    page.goto(f"{server}/initiatives?q=Portal+test")
    expect(page.locator("#result-count")).to_have_text("1 initiative(s)")
    shots.take(page, "initiative-search")
    page.get_by_role("link", name=re.compile(r"JV-\d{6}")).click()
    expect(page.locator("#history ~ .table-scroll")).to_contain_text("From submission")
    shots.take(page, "initiative-detail")
    sign_out(page)

    # The programme manager sees the same dashboard, in French, with report downloads.
    sign_in(page, server, "manager@jvap.example")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert _total(page) == before + 1
    with page.expect_download() as report:
        page.get_by_role("link", name=re.compile(r"Toutes les initiatives \(CSV\)")).click()
    assert report.value.suggested_filename.endswith(".csv")
    shots.take(page, "dashboard-manager-fr")
    # The refused page (403) logs its status as a console error; nothing else may.
    assert [p for p in problems if "403" not in p] == []


def test_pages_fit_a_phone_screen(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, server, "focal.sen@jvap.example")
        page.goto(f"{server}/partners/SEN/campaigns/2025")
        # Nothing wider than the screen: no sideways scrolling on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        page.screenshot(path=str(SCREENSHOTS / "phone-campaign.png"), full_page=True)
    finally:
        context.close()
