"""Field rules of an initiative (the data dictionary), shared by the API and the questionnaire."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

from jvap.initiatives import money
from jvap.reference import codelists
from jvap.reference.codelists import CODELISTS, codes
from jvap.reference.countries import resolve_country
from jvap.reference.snapshot import ReferenceSnapshot

FieldType = Literal["text", "int", "code", "multi_code", "date", "decimal", "multi_text"]
Severity = Literal["error", "warning"]

MAX_BUDGET = Decimal(10) ** 15  # the columns hold 18 digits, 2 after the point
JVAP_START = date(2015, 11, 1)  # the Valletta Summit; earlier initiatives are unusual


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column of the data dictionary, with what a person needs to fill it in."""

    key: str
    type: FieldType
    label_en: str
    label_fr: str
    help_en: str
    help_fr: str
    max_length: int | None = None

    def label(self, lang: str = "en") -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def help(self, lang: str = "en") -> str:
        return self.help_fr if lang == "fr" else self.help_en


_SPECS = (
    FieldSpec(
        "ref",
        "text",
        "JVAP reference",
        "Référence JVAP",
        "Leave blank for a new initiative. Keep the reference (e.g. JV-000123) of an "
        "initiative already in the database.",
        "Laisser vide pour une nouvelle initiative. Conserver la référence (p. ex. JV-000123) "
        "d'une initiative déjà enregistrée.",
    ),
    FieldSpec(
        "revision",
        "int",
        "Revision",
        "Révision",
        "Filled in automatically; do not change it. It detects edits made by someone else "
        "since the questionnaire was downloaded.",
        "Rempli automatiquement ; ne pas le modifier. Il détecte les modifications faites par "
        "d'autres depuis le téléchargement du questionnaire.",
    ),
    FieldSpec(
        "kind",
        "code",
        "Type of initiative",
        "Type d'initiative",
        "Project: a temporary effort with a specific desired outcome. Policy: formal, binding "
        "or advisory guidance (law, strategy, plan).",
        "Projet : effort temporaire visant un résultat précis. Politique : orientation formelle, "
        "contraignante ou consultative (loi, stratégie, plan).",
    ),
    FieldSpec(
        "title",
        "text",
        "Title",
        "Titre",
        "Official title of the project or policy (at most 300 characters).",
        "Titre officiel du projet ou de la politique (300 caractères au plus).",
        max_length=300,
    ),
    FieldSpec(
        "description",
        "text",
        "Objectives / description",
        "Objectifs / description",
        "Main objectives and activities (at most 4000 characters). Required for a new initiative.",
        "Principaux objectifs et activités (4000 caractères au plus). Obligatoire pour une "
        "nouvelle initiative.",
        max_length=4000,
    ),
    FieldSpec(
        "status",
        "code",
        "Status",
        "Statut",
        "Planned, ongoing, completed or suspended.",
        "Prévu, en cours, achevé ou suspendu.",
    ),
    FieldSpec(
        "start_date",
        "date",
        "Start / adoption date",
        "Date de début / d'adoption",
        "Start date of a project, or adoption date of a policy (YYYY-MM-DD). Initiatives "
        "launched before November 2015 are flagged for checking.",
        "Date de début d'un projet ou d'adoption d'une politique (AAAA-MM-JJ). Les initiatives "
        "lancées avant novembre 2015 sont signalées pour vérification.",
    ),
    FieldSpec(
        "end_date",
        "date",
        "End date",
        "Date de fin",
        "Planned or actual end date (YYYY-MM-DD), not before the start date. Required for a "
        "completed project.",
        "Date de fin prévue ou effective (AAAA-MM-JJ), au plus tôt la date de début. "
        "Obligatoire pour un projet achevé.",
    ),
    FieldSpec(
        "domains",
        "multi_code",
        "JVAP domains",
        "Domaines du PACV",
        "One or more of D1 to D5, separated by semicolons (e.g. D1; D3).",
        "Un ou plusieurs domaines de D1 à D5, séparés par des points-virgules (p. ex. D1; D3).",
    ),
    FieldSpec(
        "priorities",
        "multi_code",
        "JVAP priorities",
        "Priorités du PACV",
        "Priority codes separated by semicolons (e.g. D1.02); each must belong to one of the "
        "domains given.",
        "Codes de priorité séparés par des points-virgules (p. ex. D1.02) ; chacun doit relever "
        "d'un des domaines indiqués.",
    ),
    FieldSpec(
        "scope",
        "code",
        "Geographical scope",
        "Portée géographique",
        "National (one country), regional (several countries) or continental (Africa-wide).",
        "Nationale (un pays), régionale (plusieurs pays) ou continentale (toute l'Afrique).",
    ),
    FieldSpec(
        "countries",
        "multi_code",
        "Countries of implementation",
        "Pays de mise en œuvre",
        "Countries separated by semicolons, as ISO codes or names in English or French. "
        "Required unless the scope is continental.",
        "Pays séparés par des points-virgules, en codes ISO ou en noms français ou anglais. "
        "Obligatoire sauf pour une portée continentale.",
    ),
    FieldSpec(
        "budget",
        "decimal",
        "Total budget",
        "Budget total",
        "Total budget in the currency given in the next column, as a number without the "
        "currency sign. Required for a project.",
        "Budget total dans la devise indiquée à la colonne suivante, en chiffres sans symbole "
        "monétaire. Obligatoire pour un projet.",
    ),
    FieldSpec(
        "currency",
        "code",
        "Currency",
        "Devise",
        "ISO 4217 code of the budget's currency (e.g. EUR, USD, XOF). Required with a budget; "
        "the EUR equivalent is computed from ECB reference rates.",
        "Code ISO 4217 de la devise du budget (p. ex. EUR, USD, XOF). Obligatoire avec un "
        "budget ; l'équivalent en euros est calculé aux taux de référence de la BCE.",
    ),
    FieldSpec(
        "funders",
        "multi_text",
        "Funders",
        "Bailleurs de fonds",
        "Funding partners or other donors, separated by semicolons. Required for a project.",
        "Partenaires financeurs ou autres bailleurs, séparés par des points-virgules. "
        "Obligatoire pour un projet.",
    ),
    FieldSpec(
        "funder_category",
        "code",
        "Funder category",
        "Catégorie de bailleur",
        "African country, African organisation, EU institution, European country or "
        "international organisation.",
        "Pays africain, organisation africaine, institution de l'UE, pays européen ou "
        "organisation internationale.",
    ),
    FieldSpec(
        "implementers",
        "multi_text",
        "Implementing organisations",
        "Organisations de mise en œuvre",
        "Organisations implementing the initiative, separated by semicolons.",
        "Organisations chargées de la mise en œuvre, séparées par des points-virgules.",
    ),
    FieldSpec(
        "target_groups",
        "multi_code",
        "Target groups",
        "Groupes cibles",
        "Groups the initiative is for (migrants, refugees, youth, women…), separated by "
        "semicolons.",
        "Publics visés (migrants, réfugiés, jeunes, femmes…), séparés par des points-virgules.",
    ),
    FieldSpec(
        "gender_marker",
        "code",
        "Gender equality marker",
        "Marqueur égalité femmes-hommes",
        "OECD DAC marker: 0 not targeted, 1 significant objective, 2 principal objective.",
        "Marqueur du CAD de l'OCDE : 0 non ciblé, 1 objectif significatif, 2 objectif principal.",
    ),
    FieldSpec(
        "entity",
        "text",
        "Reporting ministry / agency",
        "Ministère / agence déclarant",
        "The ministry or agency of the partner that reports this initiative.",
        "Le ministère ou l'agence du partenaire qui déclare cette initiative.",
        max_length=300,
    ),
    FieldSpec(
        "external_ids",
        "multi_text",
        "External identifiers",
        "Identifiants externes",
        "EUTF, IATI or other identifiers of the same initiative, separated by semicolons.",
        "Identifiants EUTF, IATI ou autres de la même initiative, séparés par des points-virgules.",
        max_length=200,
    ),
    FieldSpec(
        "website",
        "text",
        "Website",
        "Site web",
        "Web page describing the initiative.",
        "Page web présentant l'initiative.",
        max_length=500,
    ),
    FieldSpec(
        "remarks",
        "text",
        "Remarks",
        "Remarques",
        "Anything the follow-up team should know.",
        "Toute information utile à l'équipe de suivi.",
        max_length=4000,
    ),
)

# Ordered as the questionnaire shows them; iterate for the keys, index for the details.
FIELDS: dict[str, FieldSpec] = {spec.key: spec for spec in _SPECS}

# Multi-valued fields whose order carries no meaning (compared and stored as sorted sets).
SET_FIELDS = ("domains", "priorities", "countries", "target_groups", "external_ids")
# Multi-valued fields kept in the order given (the first funder is the main one).
LIST_FIELDS = ("funders", "implementers")
NAME_MAX_LENGTH = 300  # one funder or implementer name


@dataclass
class InitiativeRecord:
    """The typed values of one initiative, as a person would fill them in."""

    kind: str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    domains: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    scope: str | None = None
    countries: list[str] = field(default_factory=list)  # ISO 3166-1 alpha-3
    budget: Decimal | None = None
    currency: str | None = None
    funders: list[str] = field(default_factory=list)
    funder_category: str | None = None
    implementers: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    gender_marker: int | None = None
    entity: str | None = None
    external_ids: list[str] = field(default_factory=list)
    website: str | None = None
    remarks: str | None = None


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(InitiativeRecord))
record_values = attrgetter(*RECORD_FIELDS)  # a record's values as a tuple, in field order


@dataclass(frozen=True)
class RuleIssue:
    """One broken rule: the field, a stable code, and what to tell the person in EN and FR."""

    field: str
    code: str
    severity: Severity
    message_en: str
    message_fr: str
    suggestion: str | None = None

    def message(self, lang: str = "en") -> str:
        return self.message_fr if lang == "fr" else self.message_en

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The issue as the API and reports show it, with the message in `lang`."""
        item: dict[str, Any] = {
            "field": self.field,
            "code": self.code,
            "severity": self.severity,
            "message": self.message(lang),
        }
        if self.suggestion is not None:
            item["suggestion"] = self.suggestion
        return item


# code -> (severity, English template, French template); templates use str.format fields.
MESSAGES: dict[str, tuple[Severity, str, str]] = {
    "required": ("error", "{label} is required.", "{label} : champ obligatoire."),
    "too_long": (
        "error",
        "{label} is too long ({length} characters; at most {max}).",
        "{label} est trop long ({length} caractères ; {max} au plus).",
    ),
    "unknown_code": (
        "error",
        "{label}: {value!r} is not a valid code; expected one of {allowed}.",
        "{label} : {value!r} n'est pas un code valide ; valeurs possibles : {allowed}.",
    ),
    "start_before_2015_11": (
        "warning",
        "The start date {value} is before November 2015 (Valletta Summit); please check it.",
        "La date de début {value} est antérieure à novembre 2015 (sommet de La Valette) ; "
        "veuillez la vérifier.",
    ),
    "end_before_start": (
        "error",
        "The end date {end} is before the start date {start}.",
        "La date de fin {end} est antérieure à la date de début {start}.",
    ),
    "end_required_for_completed_project": (
        "error",
        "A completed project needs an end date.",
        "Un projet achevé doit avoir une date de fin.",
    ),
    "domains_required": (
        "error",
        "Give at least one JVAP domain (D1 to D5).",
        "Indiquez au moins un domaine du PACV (D1 à D5).",
    ),
    "unknown_priority": (
        "error",
        "{value!r} is not a known priority code.",
        "{value!r} n'est pas un code de priorité connu.",
    ),
    "priority_outside_domains": (
        "error",
        "Priority {value} belongs to domain {domain}, which is not among the domains given.",
        "La priorité {value} relève du domaine {domain}, qui ne figure pas parmi les domaines "
        "indiqués.",
    ),
    "countries_required": (
        "error",
        "Give the countries of implementation (only a continental initiative may have none).",
        "Indiquez les pays de mise en œuvre (seule une initiative continentale peut ne pas en "
        "avoir).",
    ),
    "unknown_country": (
        "error",
        "{value!r} is not a known country (ISO 3166-1 alpha-3 code expected).",
        "{value!r} n'est pas un pays connu (code ISO 3166-1 alpha-3 attendu).",
    ),
    "budget_required_for_project": (
        "error",
        "A project needs its total budget.",
        "Un projet doit indiquer son budget total.",
    ),
    "negative_budget": (
        "error",
        "The budget cannot be negative ({value}).",
        "Le budget ne peut pas être négatif ({value}).",
    ),
    "budget_out_of_range": (
        "error",
        "The budget must be a finite amount below 10^15 ({value}).",
        "Le budget doit être un montant fini inférieur à 10^15 ({value}).",
    ),
    "currency_required_with_budget": (
        "error",
        "Give the currency of the budget (ISO 4217 code such as EUR, USD, XOF).",
        "Indiquez la devise du budget (code ISO 4217 tel que EUR, USD, XOF).",
    ),
    "unknown_currency": (
        "error",
        "{value!r} is not an ISO 4217 currency code.",
        "{value!r} n'est pas un code de devise ISO 4217.",
    ),
    "no_eur_rate": (
        "warning",
        "No EUR reference rate is available for {value}: the EUR equivalent will not be computed.",
        "Aucun taux de référence en euros n'est disponible pour {value} : l'équivalent en "
        "euros ne sera pas calculé.",
    ),
    "funders_required_for_project": (
        "error",
        "A project needs at least one funder.",
        "Un projet doit indiquer au moins un bailleur de fonds.",
    ),
    "unknown_partner": (
        "error",
        "{value!r} is not a known JVAP partner code.",
        "{value!r} n'est pas un code de partenaire du PACV connu.",
    ),
    "invalid_character": (
        "error",
        "{label} contains a NUL character, which cannot be stored.",
        "{label} contient un caractère NUL, qui ne peut pas être enregistré.",
    ),
    "duplicate_value": (
        "warning",
        "{label}: {value!r} is given more than once; it is kept once.",
        "{label} : {value!r} figure plusieurs fois ; une seule occurrence est conservée.",
    ),
}


def make_issue(
    field_key: str, code: str, *, suggestion: str | None = None, **values: Any
) -> RuleIssue:
    """An issue for `field_key` with the catalogue's EN and FR messages filled in."""
    severity, english, french = MESSAGES[code]
    spec = FIELDS.get(field_key)
    label_en = spec.label_en if spec else field_key
    label_fr = spec.label_fr if spec else field_key
    return RuleIssue(
        field=field_key,
        code=code,
        severity=severity,
        message_en=english.format(label=label_en, **values),
        message_fr=french.format(label=label_fr, **values),
        suggestion=suggestion,
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_CODE_SETS: dict[str, frozenset[str]] = {key: frozenset(codes(key)) for key in CODELISTS}


def _allowed(field_key: str) -> str:
    return ", ".join(codes(field_key))


def _check_code(field_key: str, value: str | None, issues: list[RuleIssue]) -> None:
    if value is not None and value not in _CODE_SETS[field_key] and not _blank(value):
        issues.append(
            make_issue(field_key, "unknown_code", value=value, allowed=_allowed(field_key))
        )


def _check_length(field_key: str, value: str | None, issues: list[RuleIssue]) -> None:
    limit = FIELDS[field_key].max_length
    if value is not None and limit is not None and len(value) > limit:
        issues.append(make_issue(field_key, "too_long", length=len(value), max=limit))


def _check_duplicates(field_key: str, values: list[str], issues: list[RuleIssue]) -> None:
    if len(set(values)) == len(values):
        return
    seen: set[str] = set()
    for value in values:
        if value in seen:
            issues.append(make_issue(field_key, "duplicate_value", value=value))
        seen.add(value)


_MAX_LENGTHS = {key: spec.max_length for key, spec in FIELDS.items() if spec.max_length}
_KINDS = _CODE_SETS["kind"]
_STATUSES = _CODE_SETS["status"]
_SCOPES = _CODE_SETS["scope"]
_FUNDER_CATEGORIES = _CODE_SETS["funder_category"]
_TARGET_GROUPS = _CODE_SETS["target_groups"]
_GENDER_MARKERS = _CODE_SETS["gender_marker"]


def _has_nul(values: list[Any]) -> bool:
    try:
        return "\x00" in "".join(values)  # joining cannot make or hide a NUL
    except TypeError:  # not all text: look at the text ones
        return any(isinstance(text, str) and "\x00" in text for text in values)


@cache
def _unscanned(nul_free: frozenset[str]) -> tuple[tuple[str, ...], Callable[[Any], tuple]]:
    """The fields whose text check_record still scans for NUL characters, and their getter."""
    keys = tuple(key for key in RECORD_FIELDS if key not in nul_free)
    if len(keys) > 1:
        return keys, attrgetter(*keys)
    # attrgetter of one name returns the bare value, and of none cannot be built.
    return keys, lambda record: tuple(getattr(record, key) for key in keys)


def check_record(
    record: InitiativeRecord,
    snapshot: ReferenceSnapshot,
    *,
    is_new: bool,
    nul_free: frozenset[str] = frozenset(),
) -> list[RuleIssue]:
    """Every rule of the data dictionary the record breaks, errors and warnings, in field order.

    Each rule is first tested inline and only a breach goes through the helpers: an
    upload checks thousands of records, nearly all of them valid. `nul_free` names fields
    the caller has already found free of NUL characters (an upload checks a whole column
    at once), so that this scan, half the cost of a valid record, skips them.
    """
    issues: list[RuleIssue] = []
    kind = record.kind
    is_project = kind == "project"

    if kind not in _KINDS:  # a known code is neither blank nor unknown
        if _blank(kind):
            issues.append(make_issue("kind", "required"))
        else:
            _check_code("kind", kind, issues)

    title = record.title
    if _blank(title):
        issues.append(make_issue("title", "required"))
    if title is not None and len(title) > _MAX_LENGTHS["title"]:
        _check_length("title", title, issues)

    description = record.description
    if is_new and _blank(description):
        issues.append(make_issue("description", "required"))
    if description is not None and len(description) > _MAX_LENGTHS["description"]:
        _check_length("description", description, issues)

    status = record.status
    if status not in _STATUSES:
        if _blank(status):
            issues.append(make_issue("status", "required"))
        else:
            _check_code("status", status, issues)

    start_date = record.start_date
    if start_date is None:
        issues.append(make_issue("start_date", "required"))
    elif start_date < JVAP_START:
        issues.append(
            make_issue("start_date", "start_before_2015_11", value=start_date.isoformat())
        )

    end_date = record.end_date
    if end_date is None:
        if is_project and status == "completed":
            issues.append(make_issue("end_date", "end_required_for_completed_project"))
    elif start_date is not None and end_date < start_date:
        issues.append(
            make_issue(
                "end_date",
                "end_before_start",
                end=end_date.isoformat(),
                start=start_date.isoformat(),
            )
        )

    domains = record.domains
    if not domains:
        issues.append(make_issue("domains", "domains_required"))
    known_domains = snapshot.domains
    for domain in domains:
        if domain not in known_domains:
            issues.append(
                make_issue(
                    "domains",
                    "unknown_code",
                    value=domain,
                    allowed=", ".join(sorted(known_domains)),
                )
            )
    if len(domains) > 1 and len(set(domains)) != len(domains):
        _check_duplicates("domains", domains, issues)

    priorities = record.priorities
    for priority in priorities:
        domain = snapshot.priority_domain.get(priority)
        if domain is None:
            issues.append(make_issue("priorities", "unknown_priority", value=priority))
        elif domain not in domains:
            issues.append(
                make_issue(
                    "priorities",
                    "priority_outside_domains",
                    value=priority,
                    domain=domain,
                    suggestion=f"add domain {domain}",
                )
            )
    if len(priorities) > 1 and len(set(priorities)) != len(priorities):
        _check_duplicates("priorities", priorities, issues)

    scope = record.scope
    if scope not in _SCOPES:
        if _blank(scope):
            issues.append(make_issue("scope", "required"))
        else:
            _check_code("scope", scope, issues)

    countries = record.countries
    if not countries and scope != "continental":
        issues.append(make_issue("countries", "countries_required"))
    known_countries = snapshot.countries
    for country in countries:
        if country not in known_countries:
            guess = resolve_country(country)
            issues.append(
                make_issue(
                    "countries",
                    "unknown_country",
                    value=country,
                    suggestion=guess if guess in known_countries else None,
                )
            )
    if len(countries) > 1 and len(set(countries)) != len(countries):
        _check_duplicates("countries", countries, issues)

    budget = record.budget
    if budget is None:
        if is_project:
            issues.append(make_issue("budget", "budget_required_for_project"))
    elif not budget.is_finite() or abs(budget) >= MAX_BUDGET:
        issues.append(make_issue("budget", "budget_out_of_range", value=budget))
    elif budget < 0:
        issues.append(make_issue("budget", "negative_budget", value=budget))

    currency = record.currency
    if _blank(currency):
        if budget is not None:
            issues.append(make_issue("currency", "currency_required_with_budget"))
    elif not money.is_currency(currency or ""):
        issues.append(make_issue("currency", "unknown_currency", value=currency))
    elif budget is not None and not money.has_eur_rate(currency or ""):
        issues.append(make_issue("currency", "no_eur_rate", value=(currency or "").upper()))

    funders = record.funders
    # The first name given settles it without a loop (the usual case).
    if is_project and (not funders or _blank(funders[0])) and all(map(_blank, funders)):
        issues.append(make_issue("funders", "funders_required_for_project"))
    for name in funders:
        if len(name) > NAME_MAX_LENGTH:
            _check_name_length("funders", name, issues)
    funder_category = record.funder_category
    if funder_category is not None and funder_category not in _FUNDER_CATEGORIES:
        _check_code("funder_category", funder_category, issues)

    for name in record.implementers:
        if len(name) > NAME_MAX_LENGTH:
            _check_name_length("implementers", name, issues)

    target_groups = record.target_groups
    for group in target_groups:
        if group is not None and group not in _TARGET_GROUPS:
            _check_code("target_groups", group, issues)
    if len(target_groups) > 1 and len(set(target_groups)) != len(target_groups):
        _check_duplicates("target_groups", target_groups, issues)

    if record.gender_marker is not None:
        marker = str(record.gender_marker)
        if marker not in _GENDER_MARKERS:
            _check_code("gender_marker", marker, issues)

    entity = record.entity
    if entity is not None and len(entity) > _MAX_LENGTHS["entity"]:
        _check_length("entity", entity, issues)
    external_ids = record.external_ids
    for value in external_ids:
        _check_length("external_ids", value, issues)
    if len(external_ids) > 1 and len(set(external_ids)) != len(external_ids):
        _check_duplicates("external_ids", external_ids, issues)
    website = record.website
    if website is not None and len(website) > _MAX_LENGTHS["website"]:
        _check_length("website", website, issues)
    remarks = record.remarks
    if remarks is not None and len(remarks) > _MAX_LENGTHS["remarks"]:
        _check_length("remarks", remarks, issues)
    scanned, scanned_values = _unscanned(nul_free)
    if not scanned:
        return issues
    for key, value in zip(scanned, scanned_values(record), strict=True):
        kind_of = value.__class__
        if kind_of is str or isinstance(value, str):
            if "\x00" in value:
                issues.append(make_issue(key, "invalid_character"))
        elif (kind_of is list or isinstance(value, list)) and value and _has_nul(value):
            issues.append(make_issue(key, "invalid_character"))
    return issues


def _check_name_length(field_key: str, name: str, issues: list[RuleIssue]) -> None:
    if len(name) > NAME_MAX_LENGTH:
        issues.append(make_issue(field_key, "too_long", length=len(name), max=NAME_MAX_LENGTH))


def has_errors(issues: list[RuleIssue]) -> bool:
    return any(issue.severity == "error" for issue in issues)


# --- canonical form and comparison ---------------------------------------------------


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _texts(values: list[str]) -> list[str]:
    # Inline rather than through _clean_text: this runs for every value of every record.
    return [text for value in values if value is not None and (text := value.strip())]


def _codes(values: list[str]) -> list[str]:
    return sorted(
        {text.upper() for value in values if value is not None and (text := value.strip())}
    )


def normalize_record(record: InitiativeRecord) -> InitiativeRecord:
    """The record as stored: trimmed text, blanks as None, codes in their canonical case,
    set-like fields deduplicated and sorted, ordered lists without blanks."""
    currency = record.currency
    if currency is not None:
        currency = currency.strip().upper() or None
    return InitiativeRecord(
        kind=_clean_text(record.kind),
        title=_clean_text(record.title),
        description=_clean_text(record.description),
        status=_clean_text(record.status),
        start_date=record.start_date,
        end_date=record.end_date,
        domains=_codes(record.domains),
        priorities=_codes(record.priorities),
        scope=_clean_text(record.scope),
        countries=_codes(record.countries),
        budget=record.budget,
        currency=currency,
        funders=_texts(record.funders),
        funder_category=_clean_text(record.funder_category),
        implementers=_texts(record.implementers),
        target_groups=sorted(set(_texts(record.target_groups))),
        gender_marker=record.gender_marker,
        entity=_clean_text(record.entity),
        external_ids=sorted(set(_texts(record.external_ids))),
        website=_clean_text(record.website),
        remarks=_clean_text(record.remarks),
    )


def _comparable(field_key: str, value: Any) -> Any:
    if field_key in SET_FIELDS:
        return sorted(set(value or []))
    if field_key in LIST_FIELDS:
        return list(value or [])
    if isinstance(value, str):
        return _clean_text(value)
    return value


def diff_records(old: InitiativeRecord, new: InitiativeRecord) -> dict[str, tuple[Any, Any]]:
    """Field -> (old, new) for every field whose value differs, in data-dictionary order.

    Set-like fields (domains, countries, ...) are compared and returned as sorted lists,
    funders and implementers as ordered lists, so the same content never shows as a change.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    for key in RECORD_FIELDS:
        before = getattr(old, key)
        after = getattr(new, key)
        if before == after:
            continue  # equal raw values are equal in canonical form too (the common case)
        before = _comparable(key, before)
        after = _comparable(key, after)
        if before != after:
            changes[key] = (before, after)
    return changes


def json_value(value: Any) -> Any:
    """A diff value as stored in a revision's JSON: dates as ISO text, amounts as text."""
    if value is None or type(value) in (str, int):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        # Multi-valued fields hold text only.
        return list(value)
    return value


def record_from_initiative(initiative: Any) -> InitiativeRecord:
    """The record of a loaded Initiative (its link collections are read)."""
    return InitiativeRecord(
        kind=initiative.kind,
        title=initiative.title,
        description=initiative.description,
        status=initiative.status,
        start_date=initiative.start_date,
        end_date=initiative.end_date,
        domains=sorted(d.domain_code for d in initiative.domains),
        priorities=sorted(p.priority_code for p in initiative.priorities),
        scope=initiative.scope,
        countries=sorted(c.country_iso3 for c in initiative.countries),
        budget=initiative.budget,
        currency=initiative.currency,
        funders=[f.name for f in sorted(initiative.funders, key=lambda f: f.position)],
        funder_category=initiative.funder_category,
        implementers=[i.name for i in sorted(initiative.implementers, key=lambda i: i.position)],
        target_groups=sorted(t.code for t in initiative.target_groups),
        gender_marker=initiative.gender_marker,
        entity=initiative.entity,
        external_ids=sorted(e.value for e in initiative.external_ids),
        website=initiative.website,
        remarks=initiative.remarks,
    )


@cache
def _rules_fingerprint() -> bytes:
    # The rules, the code lists and the libraries that supply countries, currencies and
    # rates: a release that changes any of them invalidates every earlier check.
    hasher = hashlib.sha256()
    for module in (__file__, codelists.__file__):
        hasher.update(Path(module).read_bytes())
    for package in ("pycountry", "CurrencyConverter"):
        hasher.update(version(package).encode())
    return hasher.digest()


def checked_digest(snapshot: ReferenceSnapshot) -> str:
    """What a check of records depends on, as a hash: the rules' code and the reference data.

    Records checked under one digest need not be checked again while it stays the same.
    """
    return hashlib.sha256(_rules_fingerprint() + snapshot.digest().encode()).hexdigest()
