"""The `jvap` command line: thin wrappers over the services."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from jvap import demo as demo_data
from jvap.accounts import service as accounts_service
from jvap.campaigns import service as campaigns_service
from jvap.campaigns.definition import find_definition, parse_definition
from jvap.campaigns.schemas import CampaignCreate
from jvap.config import Settings, get_settings
from jvap.db import create_db_engine, create_sessionmaker, upgrade_database
from jvap.errors import JvapError
from jvap.initiatives import export as initiatives_export
from jvap.initiatives import service as initiatives_service
from jvap.initiatives.schemas import InitiativeFilters
from jvap.reference import service as reference_service
from jvap.reports import service as reports_service
from jvap.reports.schemas import SummaryFilters


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"bad configuration: {exc}") from exc


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction for the whole command; typed errors become plain CLI messages."""
    engine = create_db_engine(_settings().database_url)
    try:
        with create_sessionmaker(engine).begin() as session:
            yield session
    except JvapError as exc:
        raise click.ClickException(_describe(exc)) from exc
    finally:
        engine.dispose()


def _describe(exc: JvapError) -> str:
    lines = [exc.detail]
    for issue in exc.issues:
        where = issue.get("location") or issue.get("field") or ""
        lines.append(
            f"  - {where}: {issue.get('message', '')}"
            if where
            else f"  - {issue.get('message', '')}"
        )
    return "\n".join(lines)


def _prepare_database_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@click.group()
@click.version_option(package_name="jvap")
def main() -> None:
    """jvap: monitoring database and data collection for the Joint Valletta Action Plan."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations and load the shipped reference data into an empty database."""
    url = _settings().database_url
    _prepare_database_dir(url)
    upgrade_database(url, revision)
    if revision != "head":
        return
    with session_scope() as session:
        result = reference_service.seed(session)
    click.echo("database is up to date" + (" and reference data loaded" if result else ""))


@main.group()
def reference() -> None:
    """Reference data: domains, priorities, partners, processes, regions."""


@reference.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def reference_load(file: Path) -> None:
    """Replace the lists FILE carries (YAML; or CSV for priorities); all or nothing."""
    with session_scope() as session:
        result = reference_service.load_reference_file(
            session, filename=file.name, content=file.read_bytes()
        )
        # Regions and process memberships decide the initiatives' derived lookups.
        initiatives_service.refresh_lookups(session)
    changes = ", ".join(f"{name}: {n} change(s)" for name, n in result.changed.items())
    click.echo(f"loaded {', '.join(result.lists)} from {file.name} ({changes})")


@main.command()
@click.option("--seed", default=2015, show_default=True, help="Random seed (same seed, same data).")
@click.option("--initiatives", default=2000, show_default=True)
def demo(seed: int, initiatives: int) -> None:
    """Load a realistic synthetic dataset: initiatives, users, a past and an open campaign."""
    with session_scope() as session:
        if demo_data.is_loaded(session):
            click.echo("demo data already loaded")
            return
        with click.progressbar(length=initiatives, label="initiatives") as bar:
            result = demo_data.load_demo(
                session, seed=seed, initiatives=initiatives, progress=bar.update
            )
    click.echo(
        f"{result.initiatives} initiatives; demo users (password {demo_data.DEMO_PASSWORD!r}):"
    )
    for email, role in result.users.items():
        click.echo(f"  {email:32} {role}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, reload: bool) -> None:
    """Serve the API and portal with uvicorn."""
    import uvicorn  # only this command needs the server

    _settings()
    # The server process reads the summaries' copy of the registry as it starts.
    os.environ.setdefault("JVAP_WARM_SUMMARIES", "true")
    get_settings.cache_clear()
    uvicorn.run("jvap.app:create_app", factory=True, host=host, port=port, reload=reload)


@main.group()
def users() -> None:
    """User accounts and API tokens."""


@users.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "analyst", "manager", "focal_point", "contributor"]),
)
@click.option("--partner", help="Partner code, for focal points and contributors.")
@click.option("--password", help="Sign-in password (omit for token-only accounts).")
@click.option("--lang", default="en", type=click.Choice(["en", "fr"]))
def users_add(
    email: str, name: str, role: str, partner: str | None, password: str | None, lang: str
) -> None:
    """Create a user."""
    with session_scope() as session:
        user = accounts_service.create_user(
            session,
            email=email,
            name=name,
            role=role,
            partner_code=partner,
            password=password,
            language=lang,
        )
    click.echo(f"created user {user.email} ({user.role})")


@users.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=int, help="Days until it expires (default JVAP_TOKEN_TTL_DAYS).")
def users_token(email: str, name: str, days: int | None) -> None:
    """Issue an API token for EMAIL; it is printed once and never stored in clear."""
    with session_scope() as session:
        user = accounts_service.get_user_by_email(session, email)
        token, plain = accounts_service.issue_token(
            session, user=user, name=name, ttl_days=days or _settings().token_ttl_days
        )
    click.echo(plain)
    click.echo(f"expires {token.expires_at:%Y-%m-%d}", err=True)


@users.command("revoke")
@click.argument("email")
@click.option("--token-id", type=int, help="Revoke only this token (ids: GET /api/tokens).")
def users_revoke(email: str, token_id: int | None) -> None:
    """Revoke every API token and web session of EMAIL, or only the token --token-id."""
    with session_scope() as session:
        user = accounts_service.get_user_by_email(session, email)
        if token_id is None:
            count = accounts_service.revoke_user_tokens(session, user=user)
            message = f"revoked {count} token(s) and every web session of {user.email}"
        else:
            if token_id not in {t.id for t in accounts_service.list_tokens(session, user=user)}:
                raise click.ClickException(f"{user.email} has no token {token_id}")
            accounts_service.revoke_token(session, actor=None, token_id=token_id)
            message = f"revoked token {token_id} of {user.email}"
    click.echo(message)


# --- campaigns, questionnaires and review ----------------------------------------------------


@main.group()
def campaign() -> None:
    """Data-collection campaigns: create, open, close, follow progress."""


@campaign.command("create")
@click.argument("definition", required=False)
@click.option("--code", help="Campaign code, e.g. 2027 (without DEFINITION).")
@click.option("--title")
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="Opening date YYYY-MM-DD.")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="Closing date YYYY-MM-DD.")
@click.option("--process", "processes", multiple=True, help="Process in scope (repeatable).")
@click.option("--questionnaire-version", default="1", show_default=True)
def campaign_create(
    definition: str | None,
    code: str | None,
    title: str | None,
    opens: datetime | None,
    closes: datetime | None,
    processes: tuple[str, ...],
    questionnaire_version: str,
) -> None:
    """Create a campaign in draft from DEFINITION (a TOML file, or the code of one in
    JVAP_CAMPAIGNS_DIR, e.g. `2025`) or from the options; every partner of its processes
    gets an assignment."""
    if definition:
        path = find_definition(definition, _settings().campaigns_dir)
        if path is None:
            raise click.ClickException(
                f"no definition {definition!r}: give a TOML file or the code of "
                f"{_settings().campaigns_dir}/<code>.toml"
            )
        try:
            data = parse_definition(path.read_bytes(), name=path.name)
        except JvapError as exc:
            raise click.ClickException(_describe(exc)) from exc
    else:
        if not (code and title and opens and closes and processes):
            raise click.ClickException(
                "give a DEFINITION file, or --code, --title, --opens, --closes and --process"
            )
        try:
            data = CampaignCreate(
                code=code,
                title=title,
                questionnaire_version=questionnaire_version,
                opens_on=opens.date(),
                closes_on=closes.date(),
                processes=list(processes),
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    with session_scope() as session:
        created = campaigns_service.create_campaign(session, data=data)
        read = campaigns_service.campaign_read(session, created)
    click.echo(
        f"created campaign {read.code} ({read.status}, {read.opens_on} to {read.closes_on}) "
        f"with {read.partners} partners expected"
    )


@campaign.command("open")
@click.argument("code")
def campaign_open(code: str) -> None:
    """Open campaign CODE for uploads."""
    with session_scope() as session:
        campaigns_service.open_campaign(session, code=code)
    click.echo(f"campaign {code} is open")


@campaign.command("close")
@click.argument("code")
def campaign_close(code: str) -> None:
    """Close campaign CODE: uploads are refused from now on."""
    with session_scope() as session:
        campaigns_service.close_campaign(session, code=code)
    click.echo(f"campaign {code} is closed")


@campaign.command("status")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the whole progress report as JSON.")
def campaign_status(code: str, as_json: bool) -> None:
    """Progress of campaign CODE: per partner and per process, with the reporting rates."""
    with session_scope() as session:
        progress = campaigns_service.campaign_progress(session, code=code)
    if as_json:
        click.echo(progress.model_dump_json(indent=2))
        return
    totals = progress.totals
    click.echo(
        f"{progress.campaign} – {progress.title} ({progress.status}, closes "
        f"{progress.closes_on}, as of {progress.as_of})"
    )
    header = f"{'':10}{'expected':>9}{'not st.':>9}{'errors':>8}{'submit.':>9}{'return.':>9}"
    click.echo(header + f"{'accept.':>9}{'on time':>9}{'late':>6}{'rate':>8}")
    for name, counts in [("all", totals), *((p.process, p) for p in progress.processes)]:
        click.echo(
            f"{name:10}{counts.expected:>9}{counts.not_started:>9}"
            f"{counts.uploaded_with_errors:>8}{counts.submitted:>9}{counts.returned:>9}"
            f"{counts.accepted:>9}{counts.on_time:>9}{counts.late:>6}"
            f"{counts.submission_rate:>8.0%}"
        )
    for partner in progress.partners:
        if partner.state != "not_started":
            timing = "late" if partner.late else "on time" if partner.on_time else ""
            click.echo(f"  {partner.partner:8} {partner.state:22} {timing}")


@main.command("template")
@click.argument("campaign_code", metavar="CAMPAIGN")
@click.argument("partner")
@click.option("--lang", default="en", show_default=True, type=click.Choice(["en", "fr"]))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the .xlsx (default: the template's own name).",
)
def template_command(campaign_code: str, partner: str, lang: str, output: Path | None) -> None:
    """Write the CAMPAIGN questionnaire for PARTNER, pre-filled with its initiatives."""
    with session_scope() as session:
        filename, content = campaigns_service.build_template(
            session, campaign_code=campaign_code, partner_code=partner, lang=lang
        )
    target = output or Path(filename)
    target.write_bytes(content)
    click.echo(f"wrote {target}")


@main.command("submit")
@click.argument("campaign_code", metavar="CAMPAIGN")
@click.argument("partner")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", default="en", show_default=True, type=click.Choice(["en", "fr"]))
def submit_command(campaign_code: str, partner: str, file: Path, lang: str) -> None:
    """Upload FILE as PARTNER's questionnaire for CAMPAIGN (the same pipeline as the API).

    Exits with status 1 if the file has errors; it is stored anyway, with its issues."""
    settings = _settings()
    if file.stat().st_size > settings.upload_max_bytes:
        raise click.ClickException(
            f"{file.name} is larger than the {settings.upload_max_bytes} bytes allowed "
            f"(JVAP_UPLOAD_MAX_BYTES)"
        )
    with session_scope() as session:
        submission, created = campaigns_service.receive_submission(
            session,
            campaign_code=campaign_code,
            partner_code=partner,
            filename=file.name,
            content=file.read_bytes(),
            channel="cli",
            max_uncompressed=settings.upload_max_uncompressed_bytes,
        )
        read = campaigns_service.submission_read(session, submission, lang=lang)
    summary = read.summary
    click.echo(
        f"submission {read.id}: {read.status}"
        + ("" if created else " (the same file was already uploaded)")
        + f" – {summary.get('rows', 0)} rows: {summary.get('new', 0)} new, "
        f"{summary.get('changed', 0)} changed, {summary.get('unchanged', 0)} unchanged, "
        f"{summary.get('not_reported', 0)} not reported; {summary.get('errors', 0)} error(s), "
        f"{summary.get('warnings', 0)} warning(s)"
    )
    for issue in read.issues:
        where = f"{issue.get('sheet') or ''}!{issue.get('column') or ''}{issue.get('row') or ''}"
        hint = f" → {issue['suggestion']}" if issue.get("suggestion") else ""
        click.echo(f"  {issue['severity']:7} {where:18} {issue['message']}{hint}")
    if read.status == "invalid":
        raise click.ClickException(f"submission {read.id} has errors; nothing was staged")


@main.command("review")
@click.argument("submission_id", metavar="SUBMISSION", type=int)
@click.option("--accept", "decision", flag_value="accept", help="Apply the change set.")
@click.option("--return", "decision", flag_value="return", help="Send it back to the partner.")
@click.option("--comment", help="Comment for the partner (required with --return).")
@click.option("--by", "reviewer", help="E-mail of the analyst the review is recorded for.")
def review_command(
    submission_id: int, decision: str | None, comment: str | None, reviewer: str | None
) -> None:
    """Accept or return SUBMISSION; accepting applies it in one transaction."""
    if decision is None:
        raise click.ClickException("choose --accept or --return")
    with session_scope() as session:
        user = accounts_service.get_user_by_email(session, reviewer) if reviewer else None
        if user is not None and user.role not in ("admin", "analyst"):
            raise click.ClickException(
                f"{user.email} is a {user.role}: only analysts and admins review submissions"
            )
        if decision == "accept":
            submission = campaigns_service.accept_submission(
                session, submission_id=submission_id, user=user, comment=comment
            )
            applied = (submission.report or {}).get("applied", {})
            message = (
                f"submission {submission_id} accepted: {applied.get('created', 0)} created, "
                f"{applied.get('updated', 0)} updated"
            )
        else:
            campaigns_service.return_submission(
                session, submission_id=submission_id, comment=comment or "", user=user
            )
            message = f"submission {submission_id} returned to the partner"
    click.echo(message)


# --- exports ---------------------------------------------------------------------------------


@main.group("export")
def export_group() -> None:
    """Export registry data to CSV or Excel files."""


@export_group.command("initiatives")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx"]),
    required=True,
    help="csv (UTF-8 with BOM, opens in Excel) or xlsx.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write.",
)
@click.option("--partner", multiple=True, help="Reporting partner code (repeatable).")
@click.option("--country", multiple=True, help="Country of implementation, ISO3 (repeatable).")
@click.option("--process", multiple=True, help="Process code: RP or KP (repeatable).")
@click.option("--region", multiple=True, help="Region of a country of implementation.")
@click.option("--domain", multiple=True, help="Domain D1-D5 (repeatable).")
@click.option("--priority", multiple=True, help="Priority code (repeatable).")
@click.option("--kind", multiple=True, type=click.Choice(["project", "policy"]))
@click.option(
    "--status", multiple=True, type=click.Choice(["planned", "ongoing", "completed", "suspended"])
)
@click.option("--funder", multiple=True, help="Funder partner code or part of its name.")
@click.option("--active-from", type=click.DateTime(["%Y-%m-%d"]), help="Under way on/after.")
@click.option("--active-to", type=click.DateTime(["%Y-%m-%d"]), help="Under way on/before.")
@click.option("-q", "--search", help="Text searched in titles and descriptions.")
@click.option(
    "--publication",
    type=click.Choice(["published", "pending", "all"]),
    default="all",
    show_default=True,
)
@click.option("--sort", default="ref", show_default=True, help="Column, - for descending.")
def export_initiatives(
    file_format: str,
    output: Path,
    active_from: datetime | None,
    active_to: datetime | None,
    search: str | None,
    sort: str,
    **filters: Any,
) -> None:
    """Write the initiatives matching the filters (the API's filters) to a file."""
    try:
        chosen = InitiativeFilters(
            **{name: list(values) for name, values in filters.items() if name != "publication"},
            publication=filters["publication"],
            active_from=active_from.date() if active_from else None,
            active_to=active_to.date() if active_to else None,
            q=search,
        )
    except ValueError as exc:
        raise click.ClickException(f"bad filter: {exc}") from exc
    write = initiatives_export.write_csv if file_format == "csv" else initiatives_export.write_xlsx
    with session_scope() as session:
        rows = initiatives_service.export_rows(session, filters=chosen, sort=sort)
        count = write(output, initiatives_service.EXPORT_COLUMNS, rows)
    click.echo(f"{count} initiative(s) written to {output}")


# --- reports ---------------------------------------------------------------------------------


def _report_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--format",
                "file_format",
                type=click.Choice(["xlsx", "csv"]),
                default="xlsx",
                show_default=True,
                help="xlsx workbook, or csv (UTF-8 with BOM, opens in Excel).",
            ),
            click.option(
                "--lang", default="en", show_default=True, type=click.Choice(["en", "fr"])
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(dir_okay=False, path_type=Path),
                help="File to write (default: a dated file in JVAP_EXPORTS_DIR).",
            ),
        ]
    ):
        command = option(command)
    return command


def _filter_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--campaign", help="Campaign code: change since the previous one."),
            click.option(
                "--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Initiatives recorded by then."
            ),
            click.option("--process", help="Only initiatives involving it (RP, KP)."),
            click.option("--region", help="Only initiatives implemented in the region."),
            click.option("--domain", help="Only initiatives covering the domain (D1-D5)."),
            click.option("--include-pending", is_flag=True, help="Count pending initiatives too."),
        ]
    ):
        command = option(command)
    return command


def _summary_filters(options: dict[str, Any]) -> SummaryFilters:
    as_of = options.pop("as_of")
    return SummaryFilters(as_of=as_of.date() if as_of else None, **options)


def _report_path(output: Path | None, report: str, fmt: str, lang: str, suffix: str = "") -> Path:
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        return output
    folder = _settings().exports_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder / reports_service.report_filename(report, fmt, lang=lang, suffix=suffix or None)


def _write_report(path: Path, write: Any) -> int:
    """Write to a sibling temporary file, renamed into place only once complete."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as handle:
            count = write(handle)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _progress_file() -> Any:
    # The bar goes to stderr so that stdout keeps only the result line.
    return sys.stderr


@main.group("report")
def report_group() -> None:
    """Progress summaries, initiative lists and campaign progress as Excel or CSV files."""


@report_group.command("summary")
@_report_options
@_filter_options
@click.option(
    "--dimension",
    type=click.Choice(["countries", "regions", "processes", "domains", "priorities"]),
    default="countries",
    show_default=True,
    help="CSV only: the breakdown to write (the xlsx workbook has them all).",
)
def report_summary(
    file_format: str, lang: str, output: Path | None, dimension: str, **options: Any
) -> None:
    """The programme managers' summary: xlsx with a summary sheet, one sheet per breakdown,
    gaps, overlaps and the initiatives list; or one breakdown as CSV."""
    filters = _summary_filters(options)
    suffix = dimension if file_format == "csv" else ""
    path = _report_path(output, "summary", file_format, lang, suffix)
    with session_scope() as session:
        total = reports_service.count_report_rows(session, filters=filters)
        with click.progressbar(length=total, label="initiatives", file=_progress_file()) as bar:
            _write_report(
                path,
                lambda target: reports_service.write_summary_report(
                    session,
                    target=target,
                    fmt=file_format,
                    lang=lang,
                    filters=filters,
                    dimension=dimension,
                    progress=bar.update,
                ),
            )
    click.echo(f"summary written to {path}")


@report_group.command("initiatives")
@_report_options
@_filter_options
def report_initiatives(file_format: str, lang: str, output: Path | None, **options: Any) -> None:
    """The initiatives the filters select, one per line, as xlsx or CSV."""
    filters = _summary_filters(options)
    path = _report_path(output, "initiatives", file_format, lang)
    with session_scope() as session:
        total = reports_service.count_report_rows(session, filters=filters)
        with click.progressbar(length=total, label="initiatives", file=_progress_file()) as bar:
            count = _write_report(
                path,
                lambda target: reports_service.write_initiatives_report(
                    session,
                    target=target,
                    fmt=file_format,
                    lang=lang,
                    filters=filters,
                    progress=bar.update,
                ),
            )
    click.echo(f"{count} initiative(s) written to {path}")


@report_group.command("progress")
@click.argument("campaign_code", metavar="CAMPAIGN")
@_report_options
def report_progress(campaign_code: str, file_format: str, lang: str, output: Path | None) -> None:
    """Reporting rates of CAMPAIGN: expected, submitted, accepted, returned, not started,
    on time; overall, per process and per partner."""
    path = _report_path(output, "progress", file_format, lang, campaign_code)
    with session_scope() as session:
        count = _write_report(
            path,
            lambda target: reports_service.write_progress_report(
                session, target=target, fmt=file_format, lang=lang, campaign=campaign_code
            ),
        )
    click.echo(f"progress of {count} partner(s) written to {path}")
