"""Turn summaries, initiative rows and campaign progress into xlsx workbooks and CSV files."""

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from jvap.campaigns.schemas import CampaignProgress
from jvap.initiatives import export as initiatives_export
from jvap.initiatives.models import format_ref
from jvap.reference.codelists import KINDS, SCOPES, STATUSES
from jvap.reports import csv_lines
from jvap.reports.schemas import (
    BUDGET_ATTRIBUTION,
    PROCESS_INVOLVEMENT,
    Gaps,
    Summary,
    SummaryRow,
)

ProgressCallback = Callable[[int], None]
EXCEL_EPOCH = date(1899, 12, 30)
DIMENSION_ORDER = ("countries", "regions", "processes", "domains", "priorities")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "sheet.summary": "Summary",
        "sheet.countries": "Countries",
        "sheet.regions": "Regions",
        "sheet.processes": "Processes",
        "sheet.domains": "Domains",
        "sheet.priorities": "Priorities",
        "sheet.years": "Start year",
        "sheet.gap_priorities": "Gaps - priorities",
        "sheet.gap_countries": "Gaps - countries",
        "sheet.overlaps": "Overlaps",
        "sheet.initiatives": "Initiatives",
        "sheet.progress": "Campaign progress",
        "title.summary": "JVAP progress summary",
        "title.progress": "JVAP campaign progress",
        "generated_at": "Generated at (UTC)",
        "filters": "Filters",
        "filter.campaign": "Campaign",
        "filter.as_of": "As of",
        "filter.process": "Process",
        "filter.region": "Region",
        "filter.domain": "Domain",
        "filter.publication": "Initiatives counted",
        "published_only": "published only",
        "with_pending": "published and pending",
        "none": "(all)",
        "key_figures": "Key figures (each initiative counted once)",
        "change_window": "Change since the previous campaign",
        "window": "Window",
        "double_counting": "Double counting by breakdown",
        "breakdown": "Breakdown",
        "rows_sum": "Sum of rows",
        "distinct_total": "Distinct total",
        "in_several": "Initiatives in several rows",
        "outside": "Initiatives in no row",
        "notes": "Counting rules",
        "note.rule": "An initiative counts once in each country, region, process, domain and "
        "priority it covers; totals are distinct counts, never sums of rows.",
        "note.budget": BUDGET_ATTRIBUTION,
        "note.process": PROCESS_INVOLVEMENT,
        "total_row": "Total (distinct count)",
        "col.code": "Code",
        "col.name": "Name",
        "col.group.countries": "Region",
        "col.group.priorities": "Domain",
        "col.initiatives": "Initiatives",
        "col.projects": "Projects",
        "col.policies": "Policies",
        "col.budget_eur": "Budget (EUR)",
        "col.budget_eur.countries": "Budget implemented in (EUR)",
        "col.shared_initiatives": "Also in other rows",
        "col.shared_budget_eur": "Budget also in other rows (EUR)",
        "col.initiatives_funded": "Initiatives funded",
        "col.budget_eur_funded": "Budget funded (EUR)",
        "col.partners_reporting": "Partners reporting",
        "col.projects_without_budget": "Projects without budget",
        "col.change_new": "New",
        "col.change_updated": "Updated",
        "col.change_completed": "Completed in window",
        "col.year": "Start year",
        "col.year.unknown": "unknown",
        "col.total": "Total",
        "col.active": "Active initiatives",
        "col.country": "Country",
        "col.country_name": "Country name",
        "col.priority": "Priority",
        "col.priority_name": "Priority title",
        "col.partner": "Reporting partner",
        "col.ref": "Reference",
        "col.kind": "Kind",
        "col.title": "Title",
        "col.status": "Status",
        "col.start_date": "Start date",
        "col.end_date": "End date",
        "col.scope": "Scope",
        "col.countries": "Countries",
        "col.domains": "Domains",
        "col.priorities": "Priorities",
        "col.budget": "Budget",
        "col.currency": "Currency",
        "col.funders": "Funders",
        "col.publication_status": "Publication",
        "col.partner_name": "Partner name",
        "col.processes": "Processes",
        "col.state": "State",
        "col.uploads": "Uploads",
        "col.submitted_at": "First submitted (UTC)",
        "col.last_upload_at": "Last upload (UTC)",
        "col.on_time": "On time",
        "progress.expected": "Expected",
        "progress.not_started": "Not started",
        "progress.uploaded_with_errors": "Uploaded with errors",
        "progress.submitted": "Submitted, waiting for review",
        "progress.returned": "Returned",
        "progress.accepted": "Accepted",
        "progress.on_time": "On time",
        "progress.late": "Late",
        "progress.submission_rate": "Submission rate",
        "progress.acceptance_rate": "Acceptance rate",
        "progress.on_time_rate": "On-time rate",
        "state.not_started": "not started",
        "state.uploaded_with_errors": "uploaded with errors",
        "state.submitted": "submitted",
        "state.returned": "returned",
        "state.accepted": "accepted",
        "yes": "yes",
        "no": "no",
        "published": "published",
        "pending": "pending",
        "chart.domains": "Initiatives by domain",
        "chart.processes": "Initiatives by process",
        "opens_on": "Opens on",
        "closes_on": "Closes on",
        "campaign_status": "Status",
    },
    "fr": {
        "sheet.summary": "Résumé",
        "sheet.countries": "Pays",
        "sheet.regions": "Régions",
        "sheet.processes": "Processus",
        "sheet.domains": "Domaines",
        "sheet.priorities": "Priorités",
        "sheet.years": "Année de début",
        "sheet.gap_priorities": "Lacunes - priorités",
        "sheet.gap_countries": "Lacunes - pays",
        "sheet.overlaps": "Chevauchements",
        "sheet.initiatives": "Initiatives",
        "sheet.progress": "Avancement de la campagne",
        "title.summary": "Synthèse de suivi du PAVC",
        "title.progress": "Avancement de la campagne de collecte du PAVC",
        "generated_at": "Produit le (UTC)",
        "filters": "Filtres",
        "filter.campaign": "Campagne",
        "filter.as_of": "À la date du",
        "filter.process": "Processus",
        "filter.region": "Région",
        "filter.domain": "Domaine",
        "filter.publication": "Initiatives comptées",
        "published_only": "publiées uniquement",
        "with_pending": "publiées et en attente",
        "none": "(toutes)",
        "key_figures": "Chiffres clés (chaque initiative comptée une fois)",
        "change_window": "Évolution depuis la campagne précédente",
        "window": "Période",
        "double_counting": "Doubles comptes par ventilation",
        "breakdown": "Ventilation",
        "rows_sum": "Somme des lignes",
        "distinct_total": "Total distinct",
        "in_several": "Initiatives dans plusieurs lignes",
        "outside": "Initiatives hors lignes",
        "notes": "Règles de comptage",
        "note.rule": "Une initiative compte une fois dans chaque pays, région, processus, domaine "
        "et priorité qu'elle couvre ; les totaux sont des comptes distincts, jamais des sommes "
        "de lignes.",
        "note.budget": "Budgets en EUR (convertis au taux enregistré avec chaque initiative). "
        "Une initiative qui couvre plusieurs lignes d'une ventilation y est comptée, avec son "
        "budget entier, dans chacune ; rien n'est divisé. Les lignes ne s'additionnent donc pas "
        "au total, qui compte chaque initiative et son budget une seule fois. Les colonnes "
        "« aussi dans d'autres lignes » indiquent la part d'une ligne qui provient "
        "d'initiatives présentes ailleurs (pour les pays : initiatives multi-pays). Pour un "
        "pays, le budget mis en œuvre est celui des initiatives réalisées dans le pays ; le "
        "budget financé, celui des initiatives qu'il finance (une initiative cofinancée compte "
        "en entier pour chaque bailleur, la part de chacun n'étant pas connue).",
        "note.process": "Une initiative relève d'un processus quand son partenaire déclarant, "
        "ou l'État de l'un de ses pays de mise en œuvre, en est membre actuel (statut "
        "partenaire, membre, observateur ou organisation partenaire).",
        "total_row": "Total (compte distinct)",
        "col.code": "Code",
        "col.name": "Nom",
        "col.group.countries": "Région",
        "col.group.priorities": "Domaine",
        "col.initiatives": "Initiatives",
        "col.projects": "Projets",
        "col.policies": "Politiques",
        "col.budget_eur": "Budget (EUR)",
        "col.budget_eur.countries": "Budget mis en œuvre (EUR)",
        "col.shared_initiatives": "Aussi dans d'autres lignes",
        "col.shared_budget_eur": "Budget aussi dans d'autres lignes (EUR)",
        "col.initiatives_funded": "Initiatives financées",
        "col.budget_eur_funded": "Budget financé (EUR)",
        "col.partners_reporting": "Partenaires déclarants",
        "col.projects_without_budget": "Projets sans budget",
        "col.change_new": "Nouvelles",
        "col.change_updated": "Mises à jour",
        "col.change_completed": "Achevées sur la période",
        "col.year": "Année de début",
        "col.year.unknown": "inconnue",
        "col.total": "Total",
        "col.active": "Initiatives en cours",
        "col.country": "Pays",
        "col.country_name": "Nom du pays",
        "col.priority": "Priorité",
        "col.priority_name": "Intitulé de la priorité",
        "col.partner": "Partenaire déclarant",
        "col.ref": "Référence",
        "col.kind": "Type",
        "col.title": "Titre",
        "col.status": "Statut",
        "col.start_date": "Date de début",
        "col.end_date": "Date de fin",
        "col.scope": "Portée",
        "col.countries": "Pays",
        "col.domains": "Domaines",
        "col.priorities": "Priorités",
        "col.budget": "Budget",
        "col.currency": "Devise",
        "col.funders": "Bailleurs",
        "col.publication_status": "Publication",
        "col.partner_name": "Nom du partenaire",
        "col.processes": "Processus",
        "col.state": "État d'avancement",
        "col.uploads": "Envois",
        "col.submitted_at": "Première soumission (UTC)",
        "col.last_upload_at": "Dernier envoi (UTC)",
        "col.on_time": "Dans les délais",
        "progress.expected": "Attendus",
        "progress.not_started": "Non commencés",
        "progress.uploaded_with_errors": "Envoyés avec erreurs",
        "progress.submitted": "Soumis, en attente de revue",
        "progress.returned": "Renvoyés",
        "progress.accepted": "Acceptés",
        "progress.on_time": "Dans les délais",
        "progress.late": "En retard",
        "progress.submission_rate": "Taux de soumission",
        "progress.acceptance_rate": "Taux d'acceptation",
        "progress.on_time_rate": "Taux de ponctualité",
        "state.not_started": "non commencé",
        "state.uploaded_with_errors": "envoyé avec erreurs",
        "state.submitted": "soumis",
        "state.returned": "renvoyé",
        "state.accepted": "accepté",
        "yes": "oui",
        "no": "non",
        "published": "publiée",
        "pending": "en attente",
        "chart.domains": "Initiatives par domaine",
        "chart.processes": "Initiatives par processus",
        "opens_on": "Ouverture",
        "closes_on": "Clôture",
        "campaign_status": "Statut",
    },
}


def neutralise(value: str) -> str:
    """Formula-like text (= + - @ …) gets a leading apostrophe: shown as typed, never run."""
    return initiatives_export.neutralise(value)


def _xlsx(value: str) -> str:
    """Neutralised text as the constant-memory writer must get it (see export.xlsx_text)."""
    return initiatives_export.xlsx_text(initiatives_export.neutralise(value))


def _codes(labels: Sequence[Any], lang: str) -> dict[str, str]:
    return {item.code: item.label(lang) for item in labels}


# --- tables shared by CSV and xlsx -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: str  # text | int | eur | money | date | datetime | rate
    width: float = 12


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None


def _years(summary: Summary) -> list[str]:
    years = sorted(y for y in summary.total.by_start_year if y != "unknown")
    return [*years, "unknown"] if "unknown" in summary.total.by_start_year else years


def _label(row: Any, lang: str) -> str:
    return row.label_fr if lang == "fr" else row.label_en


def breakdown_table(summary: Summary, lang: str) -> Table:
    """A breakdown as a table: one line per row, the distinct total last."""
    t = TEXT[lang]
    dimension = summary.dimension
    has_group = dimension in ("countries", "priorities")
    is_countries = dimension == "countries"
    has_change = summary.change_window is not None
    years = _years(summary)
    columns = [Column(t["col.code"], "text", 10), Column(t["col.name"], "text", 40)]
    if has_group:
        columns.append(Column(t[f"col.group.{dimension}"], "text", 16))
    columns += [
        Column(t["col.initiatives"], "int"),
        Column(t["col.projects"], "int"),
        Column(t["col.policies"], "int"),
        *(Column(_codes(STATUSES, lang)[s.code], "int") for s in STATUSES),
        Column(t["col.budget_eur.countries" if is_countries else "col.budget_eur"], "eur", 20),
        Column(t["col.shared_initiatives"], "int", 14),
        Column(t["col.shared_budget_eur"], "eur", 20),
    ]
    if is_countries:
        columns += [
            Column(t["col.initiatives_funded"], "int", 14),
            Column(t["col.budget_eur_funded"], "eur", 20),
        ]
    columns += [
        Column(t["col.partners_reporting"], "int", 14),
        Column(t["col.projects_without_budget"], "int", 14),
    ]
    if has_change:
        columns += [
            Column(t["col.change_new"], "int"),
            Column(t["col.change_updated"], "int"),
            Column(t["col.change_completed"], "int", 14),
        ]
    columns += [
        Column(f"{t['col.year']} {t['col.year.unknown'] if y == 'unknown' else y}", "int", 10)
        for y in years
    ]

    def line(counts: Any, code: str, name: str, group: str | None, row: SummaryRow | None) -> list:
        cells: list[Any] = [code, name]
        if has_group:
            cells.append(group or "")
        cells += [
            counts.initiatives,
            counts.projects,
            counts.policies,
            *(counts.by_status.get(s.code, 0) for s in STATUSES),
            counts.budget_eur,
            row.shared_initiatives if row else summary.counted_in_several_rows,
            row.shared_budget_eur if row else summary.budget_eur_in_several_rows,
        ]
        if is_countries:
            cells += [
                row.initiatives_funded if row else None,
                row.budget_eur_funded if row else None,
            ]
        cells += [counts.partners_reporting, counts.projects_without_budget]
        if has_change:
            change = counts.change
            cells += [change.new, change.updated, change.completed] if change else [0, 0, 0]
        cells += [counts.by_start_year.get(y, 0) for y in years]
        return cells

    rows = [line(r, r.key, _label(r, lang), r.group, r) for r in summary.rows]
    total = line(summary.total, "", t["total_row"], None, None)
    return Table(columns, rows, total)


def initiative_columns(lang: str) -> list[Column]:
    t = TEXT[lang]
    return [
        Column(t["col.ref"], "text", 11),
        Column(t["col.partner"], "text", 10),
        Column(t["col.kind"], "text", 10),
        Column(t["col.title"], "text", 50),
        Column(t["col.status"], "text", 11),
        Column(t["col.start_date"], "date", 11),
        Column(t["col.end_date"], "date", 11),
        Column(t["col.scope"], "text", 11),
        Column(t["col.countries"], "text", 18),
        Column(t["col.domains"], "text", 10),
        Column(t["col.priorities"], "text", 16),
        Column(t["col.budget"], "money", 16),
        Column(t["col.currency"], "text", 8),
        Column(t["col.budget_eur"], "eur", 18),
        Column(t["col.funders"], "text", 20),
        Column(t["col.publication_status"], "text", 11),
    ]


InitiativeValues = tuple[Any, ...]


def initiative_labels(lang: str) -> csv_lines.Labels:
    """Labels of the initiatives list's coded columns, shared by the xlsx and CSV reports."""
    return csv_lines.Labels(
        kind=_codes(KINDS, lang),
        status=_codes(STATUSES, lang),
        scope=_codes(SCOPES, lang),
        publication={key: TEXT[lang][key] for key in ("published", "pending")},
    )


def initiative_values(lang: str) -> Callable[[Sequence[Any]], InitiativeValues]:
    """Maps a query row (INITIATIVE_COLUMNS order) to display values in one language.

    Text is already neutralised and made safe for xlsxwriter (as _xlsx does), lists sorted;
    missing values stay None. This runs once per initiative of a 100k-row report, hence
    the closure and the inlined checks.
    """
    labels = initiative_labels(lang)
    kinds, statuses, scopes = labels.kind, labels.status, labels.scope
    publications = labels.publication
    triggers = initiatives_export.FORMULA_TRIGGERS
    rich = initiatives_export.xlsx_text

    def shown(text: str) -> str:
        # _xlsx, with its two calls kept for the rare text that needs them.
        if text.startswith(triggers):
            return "'" + text
        return rich(text) if text.startswith("<") else text

    def listed(joined: str | None) -> str | None:
        if not joined:
            return None
        if ";" in joined:
            joined = "; ".join(sorted(joined.split(";")))
        return shown(joined)

    def values(row: Sequence[Any]) -> InitiativeValues:
        (
            initiative_id,
            partner,
            kind,
            title,
            status,
            start,
            end,
            scope,
            countries,
            domains,
            priorities,
            budget,
            currency,
            budget_eur,
            funders,
            publication,
        ) = row
        return (
            format_ref(initiative_id),
            partner,
            kinds.get(kind, kind),
            shown(title),
            statuses.get(status, status),
            start,
            end,
            scopes.get(scope, scope),
            listed(countries),
            listed(domains),
            listed(priorities),
            budget,
            currency,
            budget_eur,
            listed(funders),
            publications.get(publication, publication),
        )

    return values


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """Campaign progress as the campaigns domain computes it, plus French partner names."""

    progress: CampaignProgress
    names_fr: dict[str, str]


PROGRESS_STATES = ("not_started", "uploaded_with_errors", "submitted", "returned", "accepted")


def progress_table(report: ProgressReport, lang: str) -> Table:
    t = TEXT[lang]
    columns = [
        Column(t["col.partner"], "text", 10),
        Column(t["col.partner_name"], "text", 36),
        Column(t["col.processes"], "text", 10),
        Column(t["col.state"], "text", 20),
        Column(t["col.uploads"], "int", 9),
        Column(t["col.submitted_at"], "datetime", 20),
        Column(t["col.last_upload_at"], "datetime", 20),
        Column(t["col.on_time"], "text", 10),
    ]

    def yes_no(value: bool | None) -> str:
        return "" if value is None else t["yes"] if value else t["no"]

    rows = [
        [
            p.partner,
            report.names_fr.get(p.partner, p.name) if lang == "fr" else p.name,
            "; ".join(p.processes),
            t.get(f"state.{p.state}", p.state),
            p.submissions,
            p.submitted_at,
            p.last_upload_at,
            yes_no(p.on_time),
        ]
        for p in report.progress.partners
    ]
    return Table(columns, rows)


def progress_totals_tables(report: ProgressReport, lang: str) -> tuple[Table, Table]:
    """Reporting rates: one column for all partners, one per process."""
    t = TEXT[lang]
    progress = report.progress
    groups = [(t["col.total"], progress.totals)] + [(p.process, p) for p in progress.processes]
    columns = [Column("", "text", 24)] + [Column(name, "int", 12) for name, _ in groups]
    counts = ("expected", *PROGRESS_STATES, "on_time", "late")
    rows: list[list[Any]] = [
        [t[f"progress.{name}"], *(getattr(c, name) for _, c in groups)] for name in counts
    ]
    rates = [
        [t[f"progress.{name}"], *(getattr(c, name) for _, c in groups)]
        for name in ("submission_rate", "acceptance_rate", "on_time_rate")
    ]
    rate_columns = [columns[0]] + [Column(c.header, "rate", 12) for c in columns[1:]]
    return Table(columns, rows), Table(rate_columns, rates)


# --- CSV --------------------------------------------------------------------------------


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if kind in ("eur", "money"):
        return f"{float(value):.2f}"
    if kind == "rate":
        return f"{float(value):.4f}"
    return value


def _csv_writer(target: IO[bytes]) -> tuple[io.TextIOWrapper, Any]:
    # utf-8-sig writes a BOM, so that Excel opens the file as UTF-8 and shows accents.
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    return text, csv.writer(text)


def _finish(text: io.TextIOWrapper) -> None:
    text.flush()
    text.detach()  # leave the caller's binary stream open


def write_table_csv(target: IO[bytes], table: Table) -> int:
    text, writer = _csv_writer(target)
    kinds = [c.kind for c in table.columns]
    writer.writerow([neutralise(c.header) for c in table.columns])
    lines = [*table.rows, *([table.total] if table.total else [])]
    for line in lines:
        writer.writerow([_csv_value(v, k) for v, k in zip(line, kinds, strict=True)])
    _finish(text)
    return len(table.rows)


def write_summary_csv(target: IO[bytes], summary: Summary, *, lang: str) -> int:
    """One breakdown as CSV (UTF-8 with BOM); its distinct total is the last line."""
    return write_table_csv(target, breakdown_table(summary, lang))


def write_initiatives_csv(
    target: IO[bytes],
    batches: Iterable[Sequence[str]],
    *,
    lang: str,
    progress: ProgressCallback | None = None,
) -> int:
    """The initiatives list as CSV from lines the database built (csv_lines), batch by batch."""
    text, writer = _csv_writer(target)
    writer.writerow([c.header for c in initiative_columns(lang)])
    written = 0
    for batch in batches:
        if batch:
            text.write(csv_lines.LINE_END.join(batch) + csv_lines.LINE_END)
        written += len(batch)
        if progress:
            progress(len(batch))
    _finish(text)
    return written


def _serial_day(day: date | str, epoch: int) -> int:
    return (date.fromisoformat(day) if isinstance(day, str) else day).toordinal() - epoch


def write_progress_csv(target: IO[bytes], report: ProgressReport, *, lang: str) -> int:
    """One line per expected partner: state, uploads, first submission, on time."""
    return write_table_csv(target, progress_table(report, lang))


# --- xlsx -------------------------------------------------------------------------------


class _Formats:
    def __init__(self, book: Workbook) -> None:
        self.header = book.add_format(
            {"bold": True, "bg_color": "#DDE7F0", "text_wrap": True, "valign": "top", "border": 1}
        )
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.by_kind = {
            "int": book.add_format({"num_format": "#,##0"}),
            "eur": book.add_format({"num_format": '#,##0.00 "EUR"'}),
            "money": book.add_format({"num_format": "#,##0.00"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "rate": book.add_format({"num_format": "0.0%"}),
            "text": None,
        }
        self.total_by_kind = {
            kind: book.add_format(
                {"bold": True, "top": 1, **({"num_format": fmt.num_format} if fmt else {})}
            )
            for kind, fmt in self.by_kind.items()
        }


class _RowFileSheet(Worksheet):
    """A constant-memory worksheet whose row file is open for writing only.

    xlsxwriter opens it for reading and writing, and a text file open for reading resets
    its decoder on every write: 3-5 % of a 100k-row report. The rows are read back only
    when the workbook is saved, after xlsxwriter's own close and reopen of row files
    (_opt_close, then _opt_reopen in append-and-read mode), which _RowFileBook.close calls
    first. Where those internals differ (another xlsxwriter), xlsxwriter's file stays.
    """

    def _initialize(self, init_data: dict[str, Any]) -> None:
        super()._initialize(init_data)
        handle = getattr(self, "row_data_fh", None)
        filename = getattr(self, "row_data_filename", None)
        if self.constant_memory and handle is not None and filename and self.fh is handle:
            handle.close()
            self.row_data_fh = self.fh = Path(filename).open("w", encoding="utf-8")  # noqa: SIM115


class _RowFileBook(Workbook):
    worksheet_class = _RowFileSheet

    def close(self) -> None:
        for sheet in self.worksheets():
            if isinstance(sheet, _RowFileSheet) and sheet.constant_memory:
                sheet._opt_close()  # reopened readable by the packager
        super().close()


def _workbook(target: IO[bytes] | str) -> Workbook:
    # constant_memory flushes each row to a temporary file once the next row starts, so a
    # 100k-row list never sits in memory; strings are always written as text.
    return _RowFileBook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )


def _serial(value: date | datetime) -> float:
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        delta = naive - datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    return float((value - EXCEL_EPOCH).days)


def _write_cell(sheet: Worksheet, row: int, col: int, value: Any, kind: str, fmt: Any) -> None:
    if value is None:
        if fmt is not None:
            sheet.write_blank(row, col, None, fmt)
        return
    if isinstance(value, str):
        sheet.write_string(row, col, _xlsx(value), fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, date):
        sheet.write_number(row, col, _serial(value), fmt)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, _xlsx(str(value)), fmt)


def _write_table(
    sheet: Worksheet, formats: _Formats, table: Table, *, first_row: int = 0, freeze_cols: int = 0
) -> int:
    """Header, rows, then the total; returns the index of the last data row (not total)."""
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, column.width, formats.by_kind[column.kind])
    sheet.set_row(first_row, 30)
    for col, column in enumerate(table.columns):
        sheet.write_string(first_row, col, _xlsx(column.header), formats.header)
    row = first_row
    for line in table.rows:
        row += 1
        for col, (value, column) in enumerate(zip(line, table.columns, strict=True)):
            _write_cell(sheet, row, col, value, column.kind, None)
    last = row
    if table.total is not None:
        row += 2
        for col, (value, column) in enumerate(zip(table.total, table.columns, strict=True)):
            fmt = formats.total_by_kind[column.kind]
            _write_cell(sheet, row, col, value, column.kind, fmt)
    sheet.freeze_panes(first_row + 1, freeze_cols)
    sheet.autofilter(first_row, 0, max(last, first_row), len(table.columns) - 1)
    return last


def _chart(book: Workbook, sheet: Worksheet, *, title: str, rows: int, value_col: int) -> None:
    if rows == 0:
        return
    chart = book.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": title,
            "categories": [sheet.name, 1, 0, rows, 0],
            "values": [sheet.name, 1, value_col, rows, value_col],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": title})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    sheet.insert_chart(rows + 4, 1, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _text_row(sheet: Worksheet, row: int, cells: Sequence[Any], fmt: Any = None) -> None:
    for col, value in enumerate(cells):
        _write_cell(sheet, row, col, value, "text", fmt)


def _summary_sheet(
    book: Workbook,
    formats: _Formats,
    summaries: dict[str, Summary],
    *,
    lang: str,
    generated_at: datetime,
) -> None:
    t = TEXT[lang]
    sheet = book.add_worksheet(t["sheet.summary"])
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 5, 18)
    any_summary = next(iter(summaries.values()))
    filters = any_summary.filters
    row = 0
    sheet.write_string(row, 0, t["title.summary"], formats.title)
    row += 2
    sheet.write_string(row, 0, t["generated_at"], formats.bold)
    sheet.write_number(row, 1, _serial(generated_at), formats.by_kind["datetime"])
    row += 2
    sheet.write_string(row, 0, t["filters"], formats.bold)
    for key, value in (
        ("filter.campaign", filters.campaign),
        ("filter.as_of", filters.as_of.isoformat() if filters.as_of else None),
        ("filter.process", filters.process),
        ("filter.region", filters.region),
        ("filter.domain", filters.domain),
        (
            "filter.publication",
            t["with_pending"] if filters.include_pending else t["published_only"],
        ),
    ):
        row += 1
        _text_row(sheet, row, [t[key], value or t["none"]])
    # Key figures come from the domain breakdown: every initiative has at least one domain,
    # whereas continental ones have no country and some have no priority.
    total = summaries.get("domains", any_summary).total
    row += 2
    sheet.write_string(row, 0, t["key_figures"], formats.bold)
    figures: list[tuple[str, Any, str]] = [
        (t["col.initiatives"], total.initiatives, "int"),
        (t["col.projects"], total.projects, "int"),
        (t["col.policies"], total.policies, "int"),
        *(
            (_codes(STATUSES, lang)[s.code], total.by_status.get(s.code, 0), "int")
            for s in STATUSES
        ),
        (t["col.budget_eur"], total.budget_eur, "eur"),
        (t["col.partners_reporting"], total.partners_reporting, "int"),
        (t["col.projects_without_budget"], total.projects_without_budget, "int"),
    ]
    window = any_summary.change_window
    if window is not None and total.change is not None:
        figures += [
            (t["col.change_new"], total.change.new, "int"),
            (t["col.change_updated"], total.change.updated, "int"),
            (t["col.change_completed"], total.change.completed, "int"),
        ]
    for label, value, kind in figures:
        row += 1
        sheet.write_string(row, 0, label)
        _write_cell(sheet, row, 1, value, kind, formats.by_kind[kind])
    if window is not None:
        row += 2
        sheet.write_string(row, 0, t["change_window"], formats.bold)
        row += 1
        since = window.since.isoformat() if window.since else "…"
        span = f"{window.previous_campaign or '—'} → {window.campaign}: {since} – {window.until}"
        _text_row(sheet, row, [t["window"], span])
    row += 2
    sheet.write_string(row, 0, t["double_counting"], formats.bold)
    row += 1
    for col, header in enumerate(
        [t["breakdown"], t["rows_sum"], t["distinct_total"], t["in_several"], t["outside"]]
    ):
        sheet.write_string(row, col, header, formats.header)
    for dimension in DIMENSION_ORDER:
        summary = summaries.get(dimension)
        if summary is None:
            continue
        row += 1
        sheet.write_string(row, 0, t[f"sheet.{dimension}"])
        for col, value in enumerate(
            [
                summary.rows_sum,
                summary.total.initiatives,
                summary.counted_in_several_rows,
                summary.outside_rows,
            ],
            start=1,
        ):
            sheet.write_number(row, col, value, formats.by_kind["int"])
    row += 2
    sheet.write_string(row, 0, t["notes"], formats.bold)
    for key in ("note.rule", "note.budget", "note.process"):
        row += 1
        sheet.set_row(row, 75 if key == "note.budget" else 30)
        sheet.merge_range(row, 0, row, 5, t[key], formats.wrap)


def _breakdown_sheet(
    book: Workbook, formats: _Formats, summary: Summary, *, lang: str
) -> Worksheet:
    t = TEXT[lang]
    sheet = book.add_worksheet(t[f"sheet.{summary.dimension}"])
    table = breakdown_table(summary, lang)
    _write_table(sheet, formats, table, freeze_cols=2)
    if summary.dimension in ("domains", "processes"):
        _chart(
            book,
            sheet,
            title=t[f"chart.{summary.dimension}"],
            rows=len(table.rows),
            value_col=2,
        )
    return sheet


def _years_sheet(book: Workbook, formats: _Formats, summary: Summary, *, lang: str) -> None:
    """Distinct initiatives per start year, overall and per row of `summary` (domains)."""
    t = TEXT[lang]
    sheet = book.add_worksheet(t["sheet.years"])
    years = _years(summary)
    columns = [Column(t["col.year"], "text", 12), Column(t["col.total"], "int")]
    columns += [Column(r.key, "int", 10) for r in summary.rows]
    rows = [
        [
            t["col.year.unknown"] if year == "unknown" else year,
            summary.total.by_start_year.get(year, 0),
            *(r.by_start_year.get(year, 0) for r in summary.rows),
        ]
        for year in years
    ]
    _write_table(sheet, formats, Table(columns, rows), freeze_cols=1)


def _gap_sheets(book: Workbook, formats: _Formats, gaps: Gaps, *, lang: str) -> None:
    t = TEXT[lang]
    for name, items, group in (
        ("sheet.gap_priorities", gaps.priorities, "col.group.priorities"),
        ("sheet.gap_countries", gaps.countries, "col.group.countries"),
    ):
        sheet = book.add_worksheet(t[name])
        columns = [
            Column(t["col.code"], "text", 10),
            Column(t["col.name"], "text", 60),
            Column(t[group], "text", 16),
            Column(t["col.active"], "int", 14),
        ]
        rows = [[g.key, _label(g, lang), g.group, g.active_initiatives] for g in items]
        _write_table(sheet, formats, Table(columns, rows), freeze_cols=2)
    sheet = book.add_worksheet(t["sheet.overlaps"])
    columns = [
        Column(t["col.country"], "text", 9),
        Column(t["col.country_name"], "text", 24),
        Column(t["col.priority"], "text", 10),
        Column(t["col.priority_name"], "text", 50),
        Column(t["col.partner"], "text", 12),
        Column(t["col.active"], "int", 14),
    ]
    rows = [
        [
            o.country,
            o.country_label_fr if lang == "fr" else o.country_label_en,
            o.priority,
            o.priority_label_fr if lang == "fr" else o.priority_label_en,
            p.partner,
            p.initiatives,
        ]
        for o in gaps.overlaps
        for p in o.partners
    ]
    _write_table(sheet, formats, Table(columns, rows), freeze_cols=4)


def _initiatives_sheet(
    book: Workbook,
    formats: _Formats,
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    lang: str,
    progress: ProgressCallback | None,
) -> int:
    t = TEXT[lang]
    sheet = book.add_worksheet(t["sheet.initiatives"])
    columns = initiative_columns(lang)
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width, formats.by_kind[column.kind])
    sheet.set_row(0, 30)
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, formats.header)
    values = initiative_values(lang)
    # The hot path of a 100k-row report: bound methods hoisted, one call per non-empty cell.
    # The public write_string / write_number only wrap these in a decorator that parses
    # A1 notation: calling them directly is ~8 % of a 100k-row report. The public methods
    # stand in should an xlsxwriter release rename them (the tests read the file back).
    text = getattr(sheet, "_write_string", sheet.write_string)
    number = getattr(sheet, "_write_number", sheet.write_number)
    epoch = EXCEL_EPOCH.toordinal()
    row = 0
    for batch in batches:
        for record in batch:
            row += 1
            (ref, partner, kind, title, status, start, end, scope, countries,
             domains, priorities, budget, currency, budget_eur, funders,
             publication) = values(record)  # fmt: skip
            text(row, 0, ref)
            text(row, 1, partner)
            text(row, 2, kind)
            text(row, 3, title)
            text(row, 4, status)
            if start is not None:
                number(row, 5, _serial_day(start, epoch))
            if end is not None:
                number(row, 6, _serial_day(end, epoch))
            text(row, 7, scope)
            if countries:
                text(row, 8, countries)
            if domains:
                text(row, 9, domains)
            if priorities:
                text(row, 10, priorities)
            if budget is not None:
                number(row, 11, budget)
            if currency:
                text(row, 12, currency)
            if budget_eur is not None:
                number(row, 13, budget_eur)
            if funders:
                text(row, 14, funders)
            text(row, 15, publication)
        if progress:
            progress(len(batch))
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(row, 1), len(columns) - 1)
    return row


def write_summary_xlsx(
    target: IO[bytes] | str,
    *,
    summaries: dict[str, Summary],
    gaps: Gaps,
    initiatives: Iterable[Sequence[Sequence[Any]]],
    lang: str,
    generated_at: datetime,
    progress: ProgressCallback | None = None,
) -> int:
    """The programme managers' workbook: summary, one sheet per breakdown, gaps, the list."""
    book = _workbook(target)
    formats = _Formats(book)
    _summary_sheet(book, formats, summaries, lang=lang, generated_at=generated_at)
    for dimension in DIMENSION_ORDER:
        if dimension in summaries:
            _breakdown_sheet(book, formats, summaries[dimension], lang=lang)
    if "domains" in summaries:
        _years_sheet(book, formats, summaries["domains"], lang=lang)
    _gap_sheets(book, formats, gaps, lang=lang)
    written = _initiatives_sheet(book, formats, initiatives, lang=lang, progress=progress)
    book.close()
    return written


def write_initiatives_xlsx(
    target: IO[bytes] | str,
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    lang: str,
    progress: ProgressCallback | None = None,
) -> int:
    book = _workbook(target)
    written = _initiatives_sheet(book, _Formats(book), batches, lang=lang, progress=progress)
    book.close()
    return written


def write_progress_xlsx(target: IO[bytes], report: ProgressReport, *, lang: str) -> int:
    """Campaign progress: rates overall and per process, then one line per partner."""
    t = TEXT[lang]
    progress = report.progress
    book = _workbook(target)
    formats = _Formats(book)
    sheet = book.add_worksheet(t["sheet.progress"])
    sheet.write_string(0, 0, t["title.progress"], formats.title)
    _text_row(sheet, 1, [t["filter.campaign"], f"{progress.campaign} – {progress.title}"])
    _text_row(sheet, 2, [t["opens_on"], progress.opens_on.isoformat()])
    _text_row(sheet, 3, [t["closes_on"], progress.closes_on.isoformat()])
    _text_row(sheet, 4, [t["campaign_status"], progress.status])
    _text_row(sheet, 5, [t["filter.as_of"], progress.as_of.isoformat()])
    counts, rates = progress_totals_tables(report, lang)
    row = 7
    for col, column in enumerate(counts.columns):
        sheet.write_string(row, col, column.header, formats.header)
    for table in (counts, rates):
        for line in table.rows:
            row += 1
            for col, (value, column) in enumerate(zip(line, table.columns, strict=True)):
                _write_cell(sheet, row, col, value, column.kind, formats.by_kind[column.kind])
    table = progress_table(report, lang)
    _write_table(sheet, formats, table, first_row=row + 2, freeze_cols=0)
    book.close()
    return len(table.rows)
