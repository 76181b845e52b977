"""Questionnaire validation: raw rows + reference snapshot + registry -> issues and a diff."""

import re
from collections.abc import Callable, Collection, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from jvap.campaigns.issues import Issue, Severity
from jvap.campaigns.normalise import (
    Note,
    Vocabulary,
    is_blank,
    make_note,
    normalise_code,
    normalise_countries,
    normalise_date,
    normalise_decimal,
    normalise_int,
    normalise_multi_code,
    normalise_multi_text,
    normalise_ref,
    normalise_text,
    suggest,
)
from jvap.campaigns.parsing import TEMPLATE_MARK, ParsedFile, RawRow
from jvap.initiatives.models import format_ref, parse_ref
from jvap.initiatives.rules import (
    FIELDS,
    RECORD_FIELDS,
    InitiativeRecord,
    RuleIssue,
    check_record,
    diff_records,
    json_value,
    record_values,
)
from jvap.initiatives.service import StoredRecord
from jvap.reference.codelists import CODELISTS
from jvap.reference.countries import country_lookup, fold, resolve_country
from jvap.reference.snapshot import ReferenceSnapshot

# Without these columns a questionnaire cannot be matched to the registry.
REQUIRED_COLUMNS = ("ref",)
# Rule codes whose value a suggestion can replace (nearest valid code by fuzzy match).
SUGGESTABLE = frozenset({"unknown_code", "unknown_priority", "unknown_country", "unknown_currency"})

MESSAGES: dict[str, tuple[Severity, str, str]] = {
    "not_from_template": (
        "warning",
        "This file was not made from a jvap template (no template metadata): columns were "
        "matched by their headers.",
        "Ce fichier n'a pas été créé à partir d'un modèle jvap (pas de métadonnées) : les "
        "colonnes ont été reconnues par leurs en-têtes.",
    ),
    "wrong_campaign": (
        "error",
        "This questionnaire belongs to campaign {found}, not {expected}; download the template "
        "of campaign {expected}.",
        "Ce questionnaire appartient à la campagne {found}, pas {expected} ; téléchargez le "
        "modèle de la campagne {expected}.",
    ),
    "wrong_partner": (
        "error",
        "This questionnaire was made for partner {found}, not {expected}; upload the file of "
        "{expected}.",
        "Ce questionnaire a été préparé pour le partenaire {found}, pas {expected} ; déposez "
        "le fichier de {expected}.",
    ),
    "wrong_questionnaire_version": (
        "error",
        "This questionnaire is version {found}; campaign {campaign} uses version {expected}. "
        "Download the current template.",
        "Ce questionnaire est en version {found} ; la campagne {campaign} utilise la version "
        "{expected}. Téléchargez le modèle actuel.",
    ),
    "missing_column": (
        "error",
        "The column {label!r} ({key}) is missing; it links each row to the database.",
        "La colonne {label_fr!r} ({key}) est absente ; elle relie chaque ligne à la base.",
    ),
    "column_not_found": (
        "warning",
        "The column {label!r} ({key}) is missing: existing initiatives keep their value.",
        "La colonne {label_fr!r} ({key}) est absente : les initiatives existantes gardent "
        "leur valeur.",
    ),
    "no_rows": (
        "error",
        "The questionnaire has no initiative rows.",
        "Le questionnaire ne contient aucune ligne d'initiative.",
    ),
    "unknown_ref": (
        "error",
        "No initiative has the reference {value}; leave the reference blank for a new initiative.",
        "Aucune initiative n'a la référence {value} ; laissez la référence vide pour une "
        "nouvelle initiative.",
    ),
    "ref_of_other_partner": (
        "error",
        "The initiative {value} belongs to another partner ({owner}); a partner reports only "
        "its own initiatives.",
        "L'initiative {value} appartient à un autre partenaire ({owner}) ; un partenaire ne "
        "déclare que ses propres initiatives.",
    ),
    "duplicate_ref": (
        "error",
        "The reference {value} is already used on row {first}; keep one row per initiative.",
        "La référence {value} figure déjà à la ligne {first} ; une seule ligne par initiative.",
    ),
    "duplicate_row": (
        "error",
        "This new initiative repeats row {first}; keep one row per initiative.",
        "Cette nouvelle initiative répète la ligne {first} ; une seule ligne par initiative.",
    ),
    "missing_revision": (
        "warning",
        "The revision of {value} is blank, so edits made by someone else since the download "
        "cannot be detected.",
        "La révision de {value} est vide : les modifications faites par d'autres depuis le "
        "téléchargement ne peuvent pas être détectées.",
    ),
    "stale_revision": (
        "error",
        "{value} was changed by someone else since this questionnaire was downloaded (revision "
        "{current} now, {found} in the file); download a fresh template and report the "
        "changes again.",
        "{value} a été modifiée par quelqu'un d'autre depuis le téléchargement de ce "
        "questionnaire (révision {current} à présent, {found} dans le fichier) ; "
        "téléchargez un nouveau modèle et reportez les modifications.",
    ),
}


def make_issue(code: str, **values: Any) -> Issue:
    severity, english, french = MESSAGES[code]
    location = {k: values.pop(k) for k in ("sheet", "row", "column", "field") if k in values}
    return Issue(
        severity=severity,
        code=code,
        message_en=english.format(**values),
        message_fr=french.format(**values),
        value=values.get("value"),
        **location,
    )


# --- vocabularies ------------------------------------------------------------------------

_CURRENCY_WORDS = {
    "€": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "us$": "USD",
    "usd$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "£": "GBP",
    "fcfa": "XOF",
    "cfa": "XOF",
}


def header_aliases() -> dict[str, str]:
    """Folded key, English and French label -> field key, for headers without the key row."""
    aliases: dict[str, str] = {}
    for key, spec in FIELDS.items():
        for text in (key, key.replace("_", " "), spec.label_en, spec.label_fr):
            aliases.setdefault(fold(text), key)
    return aliases


def feminine_forms(label: str) -> tuple[str, ...]:
    """The agreed forms of a one-word French label ("Nationale", "Achevé(e)" for "National",
    "Achevé"): a policy is feminine, so focal points write them as often as the label."""
    if " " in label or label.endswith("e"):
        return ()
    return (f"{label}e", f"{label}(e)")


@dataclass(frozen=True)
class Vocabularies:
    """The accepted spellings of every coded field, built once per upload."""

    by_field: Mapping[str, Vocabulary]
    countries: frozenset[str]
    country_names: Mapping[str, str]

    @classmethod
    def build(cls, snapshot: ReferenceSnapshot) -> "Vocabularies":
        by_field = {
            key: Vocabulary.build(
                ((c.code, (c.label_en, c.label_fr)) for c in codes),
                aliases=((c.code, feminine_forms(c.label_fr)) for c in codes),
            )
            for key, codes in CODELISTS.items()
        }
        domains = sorted(snapshot.domains)
        by_field["domains"] = Vocabulary.build(
            [(code, ()) for code in domains],
            aliases=[(code, (code[1:],)) for code in domains if re.fullmatch(r"D\d+", code)],
        )
        by_field["priorities"] = Vocabulary.build(
            (code, ()) for code in sorted(snapshot.priority_domain)
        )
        return cls(
            by_field=by_field,
            countries=frozenset(snapshot.countries),
            country_names={k: v for k, v in country_lookup().items() if v in snapshot.countries},
        )

    def suggest(self, field_key: str, value: str) -> str | None:
        if field_key == "countries":
            return suggest(value, self.country_names)
        if field_key == "currency":
            return None
        vocabulary = self.by_field.get(field_key)
        return vocabulary.suggest(value) if vocabulary else None


def normalise_currency(value: Any) -> tuple[Any, list[Note]]:
    if is_blank(value):
        return None, []
    text, notes = normalise_text(value)
    if text is None:
        return None, notes
    code = _CURRENCY_WORDS.get(text.strip().lower(), text.strip().upper())
    if code != text:
        notes = [*notes, make_note("code_read", value, value=code)]
    return code, notes


def _normalisers(vocab: Vocabularies) -> dict[str, Callable[[Any], tuple[Any, list[Note]]]]:
    functions: dict[str, Callable[[Any], tuple[Any, list[Note]]]] = {}
    for key, spec in FIELDS.items():
        if key == "ref":
            functions[key] = normalise_ref
        elif key == "countries":
            functions[key] = partial(
                normalise_countries, known=vocab.countries, resolve=resolve_country
            )
        elif key == "currency":
            functions[key] = normalise_currency
        elif spec.type == "code":
            functions[key] = partial(normalise_code, vocabulary=vocab.by_field[key])
        elif spec.type == "multi_code":
            functions[key] = partial(normalise_multi_code, vocabulary=vocab.by_field[key])
        elif spec.type == "multi_text":
            functions[key] = normalise_multi_text
        elif spec.type == "date":
            functions[key] = normalise_date
        elif spec.type == "decimal":
            functions[key] = normalise_decimal
        elif spec.type == "int":
            functions[key] = normalise_int
        else:
            functions[key] = normalise_text
    return functions


# --- serialising records (change sets are JSON) -----------------------------------------


DATE_FIELDS = tuple(key for key in RECORD_FIELDS if FIELDS[key].type == "date")
DECIMAL_FIELDS = tuple(key for key in RECORD_FIELDS if FIELDS[key].type == "decimal")
# Free text that rarely repeats from row to row: not worth remembering per value.
UNIQUE_FIELDS = frozenset({"ref", "revision", "title", "description", "remarks", "website"})


# record_to_json converts these by position: a new date or amount field fails here, at
# import, until it is added.
_START, _END = (RECORD_FIELDS.index(key) for key in DATE_FIELDS)
(_BUDGET,) = (RECORD_FIELDS.index(key) for key in DECIMAL_FIELDS)


def record_to_json(record: InitiativeRecord) -> list[Any]:
    """The record's values as JSON, in RECORD_FIELDS order (a change set names the fields
    once, in its "fields"): dates as ISO text, amounts as exact text, unset fields as null
    and []. Field names repeated on every record were a third of a change set's text.
    """
    values = list(record_values(record))
    # The record's two dates and one amount by position: a change set converts thousands.
    if (start := values[_START]) is not None:
        values[_START] = start.isoformat()
    if (end := values[_END]) is not None:
        values[_END] = end.isoformat()
    if (budget := values[_BUDGET]) is not None:
        values[_BUDGET] = json_value(budget)
    return values


def record_from_json(
    data: Sequence[Any] | Mapping[str, Any], fields: Sequence[str] = RECORD_FIELDS
) -> InitiativeRecord:
    """The record record_to_json wrote, its values named by `fields`; a change set staged
    before values were listed holds a mapping of field -> value instead."""
    if not isinstance(data, Mapping):
        data = dict(zip(fields, data, strict=True))
    values = {key: data[key] for key in RECORD_FIELDS if data.get(key) is not None}
    for key in DATE_FIELDS:
        if key in values:
            values[key] = date.fromisoformat(values[key])
    for key in DECIMAL_FIELDS:
        if key in values:
            values[key] = Decimal(values[key])
    if "gender_marker" in values:
        values["gender_marker"] = int(values["gender_marker"])
    return InitiativeRecord(**values)


# --- the result ---------------------------------------------------------------------------


@dataclass(slots=True)
class NewRow:
    row: int
    record: InitiativeRecord


@dataclass(slots=True)
class ChangedRow:
    row: int
    initiative_id: int
    ref: str
    revision: int
    record: InitiativeRecord
    changes: dict[str, tuple[Any, Any]]


@dataclass(slots=True)
class Expectation:
    """What the upload must match: the campaign and partner it is uploaded for."""

    campaign_code: str
    partner_code: str
    questionnaire_version: str


@dataclass(slots=True)
class ValidationResult:
    issues: list[Issue] = field(default_factory=list)
    new: list[NewRow] = field(default_factory=list)
    changed: list[ChangedRow] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)
    not_reported: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for issue in self.issues if issue.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for issue in self.issues if issue.severity == "warning")

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
            "conflicting": len(self.conflicting),
            "not_reported": len(self.not_reported),
            "errors": self.errors,
            "warnings": self.warnings,
        }

    def diff(self) -> dict[str, Any]:
        """The diff as JSON: new rows, changes field by field, unchanged, not reported."""
        return {
            "new": [{"row": item.row, "title": item.record.title} for item in self.new],
            "changed": [
                {
                    "row": item.row,
                    "ref": item.ref,
                    "changes": {
                        key: [json_value(old), json_value(new)]
                        for key, (old, new) in item.changes.items()
                    },
                }
                for item in self.changed
            ],
            "unchanged": self.unchanged,
            "conflicting": self.conflicting,
            "not_reported": self.not_reported,
        }

    def change_set(self) -> dict[str, Any]:
        """What accepting the submission applies, as JSON."""
        return {
            "fields": list(RECORD_FIELDS),
            "new": [{"row": item.row, "record": record_to_json(item.record)} for item in self.new],
            "changed": [
                {
                    "row": item.row,
                    "initiative_id": item.initiative_id,
                    "ref": item.ref,
                    "revision": item.revision,
                    "record": record_to_json(item.record),
                }
                for item in self.changed
            ],
        }


# --- validation -----------------------------------------------------------------------------


def check_file(parsed: ParsedFile, expected: Expectation) -> list[Issue]:
    """Questionnaire-level issues: template metadata and required columns."""
    issues: list[Issue] = []
    meta = parsed.metadata
    sheet = parsed.sheet
    if meta.get("template") != TEMPLATE_MARK:
        issues.append(make_issue("not_from_template", sheet=sheet))
    else:
        if meta.get("campaign") != expected.campaign_code:
            issues.append(
                make_issue(
                    "wrong_campaign",
                    found=meta.get("campaign") or "?",
                    expected=expected.campaign_code,
                    sheet=sheet,
                )
            )
        if meta.get("partner") != expected.partner_code:
            issues.append(
                make_issue(
                    "wrong_partner",
                    found=meta.get("partner") or "?",
                    expected=expected.partner_code,
                    sheet=sheet,
                )
            )
        if meta.get("questionnaire_version") != expected.questionnaire_version:
            issues.append(
                make_issue(
                    "wrong_questionnaire_version",
                    found=meta.get("questionnaire_version") or "?",
                    expected=expected.questionnaire_version,
                    campaign=expected.campaign_code,
                    sheet=sheet,
                )
            )
    for key, spec in FIELDS.items():
        if key in parsed.columns:
            continue
        code = "missing_column" if key in REQUIRED_COLUMNS else "column_not_found"
        issues.append(
            make_issue(
                code, key=key, label=spec.label_en, label_fr=spec.label_fr, sheet=sheet, field=key
            )
        )
    if not parsed.rows:
        issues.append(make_issue("no_rows", sheet=sheet))
    return issues


def referenced_ids(parsed: ParsedFile) -> list[int]:
    """The initiative ids the file's refs name, read as validate reads them, ascending: the
    stored records validate needs."""
    ids = {parse_ref(ref) for cell in parsed.cells_of("ref") if (ref := normalise_ref(cell)[0])}
    return sorted(initiative_id for initiative_id in ids if initiative_id is not None)


def validate(
    parsed: ParsedFile,
    snapshot: ReferenceSnapshot,
    *,
    expected: Expectation,
    stored: Mapping[int, StoredRecord],
    partner_ids: Collection[int],
    vocabularies: Vocabularies | None = None,
) -> ValidationResult:
    """Every issue of the upload, and its diff against the registry.

    `stored` holds the registry's records for the refs the file names (any partner);
    `partner_ids` lists every initiative of the partner, for "not reported this cycle".
    """
    result = ValidationResult(issues=list(parsed.issues), rows=len(parsed.rows))
    if not parsed.readable:
        return result
    result.issues.extend(check_file(parsed, expected))
    vocab = vocabularies or Vocabularies.build(snapshot)
    normalisers = _normalisers(vocab)
    columns = parsed.columns
    present = [key for key in FIELDS if key in columns and key not in ("ref", "revision")]
    sheet = parsed.sheet
    seen_refs: dict[int, int] = {}
    seen_new: dict[tuple, int] = {}
    reported: set[int] = set()
    rows = parsed.rows
    columns_read = {
        key: _read_column(key, cells, normalisers[key])
        for key, cells in parsed.column_cells().items()
    }
    cell_issues: dict[int, list[Issue]] = {}
    failed_cells: dict[int, set[str]] = {}
    for key, (_values, noted, _nul_free) in columns_read.items():
        letter = columns[key].letter
        for index, notes in noted:
            raw = rows[index]
            for note in notes:
                cell_issues.setdefault(index, []).append(_note_issue(note, sheet, raw, letter, key))
                if note.severity == "error":
                    failed_cells.setdefault(index, set()).add(key)
    value_columns = [(key, values) for key, (values, _noted, _nul_free) in columns_read.items()]
    nul_free = frozenset(key for key in present if key in columns_read and columns_read[key][2])
    no_values: list[Any] = [None] * len(rows)
    ref_column = columns_read["ref"][0] if "ref" in columns_read else no_values
    revision_column = columns_read["revision"][0] if "revision" in columns_read else no_values
    # The record fields the file gives, row by row (one transposition rather than a dict
    # per row); gender markers typed as digits become numbers here, once per column.
    record_columns = []
    for key in present:
        column = columns_read[key][0] if key in columns_read else no_values
        if key == "gender_marker":
            column = [
                int(value) if isinstance(value, str) and value.isdigit() else value
                for value in column
            ]
        record_columns.append(column)
    record_rows = list(zip(*record_columns, strict=True)) if record_columns else []
    # A file with every field (any template) gives each row's values in the record's field
    # order: the record is built from them as they are, 1 us a row faster than by name.
    complete = tuple(present) == RECORD_FIELDS
    no_failures: frozenset[str] = frozenset()

    for index, raw in enumerate(rows):
        row_issues = cell_issues.get(index, [])
        failed: Set[str] = failed_cells.get(index, no_failures)
        ref = ref_column[index]
        initiative_id = parse_ref(ref) if ref and "ref" not in failed else None
        current = stored.get(initiative_id) if initiative_id is not None else None

        if ref and "ref" not in failed:
            if current is None:
                row_issues.append(_row_issue("unknown_ref", sheet, raw, columns, "ref", value=ref))
                failed = failed | {"ref"}
            elif current.partner_code != expected.partner_code:
                row_issues.append(
                    _row_issue(
                        "ref_of_other_partner",
                        sheet,
                        raw,
                        columns,
                        "ref",
                        value=ref,
                        owner=current.partner_code,
                    )
                )
                failed = failed | {"ref"}
            elif initiative_id in seen_refs:
                row_issues.append(
                    _row_issue(
                        "duplicate_ref",
                        sheet,
                        raw,
                        columns,
                        "ref",
                        value=ref,
                        first=seen_refs[initiative_id],
                    )
                )
                failed = failed | {"ref"}
        is_new = not ref
        if not is_new and ("ref" in failed or current is None):
            result.issues.extend(row_issues)
            continue
        assert is_new or (current is not None and initiative_id is not None)

        # Fields the file lacks keep their stored value (a new row: none). Values are
        # already in their stored form (codes, ISO3, trimmed text; lists never None); the
        # rules see them as typed, so a repeated value still gets its duplicate warning.
        if complete:
            record = InitiativeRecord(*record_rows[index])
        else:
            given = zip(present, record_rows[index], strict=True) if record_rows else ()
            if is_new:
                record = InitiativeRecord(**dict(given))
            else:
                merged = dict(vars(current.record))  # type: ignore[union-attr]
                merged.update(given)
                record = InitiativeRecord(**merged)
        rule_issues = check_record(record, snapshot, is_new=is_new, nul_free=nul_free)
        if rule_issues:
            values = {key: column[index] for key, column in value_columns}
            for rule_issue in rule_issues:
                if rule_issue.field in failed:
                    continue  # the cell's own reading problem says it already
                row_issues.append(_rule_issue(rule_issue, sheet, raw, columns, values, vocab))

        if is_new:
            # Rows typed identically; the raw cells are hashable and cheap to compare.
            fingerprint = raw.values
            if fingerprint in seen_new:
                row_issues.append(
                    _row_issue(
                        "duplicate_row", sheet, raw, columns, None, first=seen_new[fingerprint]
                    )
                )
            else:
                seen_new[fingerprint] = raw.number
            result.new.append(NewRow(row=raw.number, record=record))
            result.issues.extend(row_issues)
            continue

        assert current is not None and initiative_id is not None
        seen_refs[initiative_id] = raw.number
        reported.add(initiative_id)
        changes = diff_records(current.record, record)
        revision = revision_column[index]
        if "revision" not in columns or (revision is None and "revision" not in failed):
            row_issues.append(
                _row_issue("missing_revision", sheet, raw, columns, "revision", value=ref)
            )
            revision = current.revision
        if not changes:
            result.unchanged.append(current.ref)
        elif "revision" in failed:
            result.conflicting.append(current.ref)
        elif revision != current.revision:
            row_issues.append(
                _row_issue(
                    "stale_revision",
                    sheet,
                    raw,
                    columns,
                    "revision",
                    value=ref,
                    current=current.revision,
                    found=revision if revision is not None else "?",
                )
            )
            result.conflicting.append(current.ref)
        else:
            result.changed.append(
                ChangedRow(
                    row=raw.number,
                    initiative_id=initiative_id,
                    ref=current.ref,
                    revision=current.revision,
                    record=record,
                    changes=changes,
                )
            )
        result.issues.extend(row_issues)

    result.not_reported = [
        stored[i].ref if i in stored else format_ref(i) for i in sorted(set(partner_ids) - reported)
    ]
    return result


def _read_column(
    key: str, cells: Sequence[Any], normaliser: Callable[[Any], tuple[Any, list[Note]]]
) -> tuple[list[Any], list[tuple[int, list[Note]]], bool]:
    """(values, [(row index, notes)], no NUL character in any cell) of one column.

    Most cells repeat (codes, countries, funders), so each distinct value is read once;
    free text, unless left empty, and columns holding booleans (True == 1 for a dict) are
    read cell by cell. Normalising never adds a NUL character, so a column whose cells
    hold none gives values that hold none: the rules need not scan them record by record.
    """
    by_cell = key in UNIQUE_FIELDS and cells.count("") + cells.count(None) < len(cells)
    distinct = cells if by_cell else list(dict.fromkeys(cells))
    nul_free = "\x00" not in "".join([cell for cell in distinct if cell.__class__ is str])
    if by_cell or bool in set(map(type, cells)):
        results = list(map(normaliser, cells))
        values = [value for value, _notes in results]
        noted = [(index, notes) for index, (_value, notes) in enumerate(results) if notes]
    else:
        memo = {cell: normaliser(cell) for cell in distinct}
        value_of = {cell: value for cell, (value, _notes) in memo.items()}
        values = list(map(value_of.__getitem__, cells))
        # Rows are looked at one by one only when some distinct value has notes.
        notes_of = {cell: notes for cell, (_value, notes) in memo.items() if notes}
        noted = (
            [(index, notes_of[cell]) for index, cell in enumerate(cells) if cell in notes_of]
            if notes_of
            else []
        )
    if FIELDS[key].type in ("multi_code", "multi_text"):
        values = list(map(list, values))  # each record gets lists of its own
    return values, noted, nul_free


def _unresolved(key: str, value: Any, vocab: Vocabularies) -> list[str]:
    """Values of a coded field that no spelling matched (the rules will refuse them)."""
    items = value if isinstance(value, list) else [value]
    if key == "countries":
        return [v for v in items if isinstance(v, str) and v not in vocab.countries]
    vocabulary = vocab.by_field[key]
    return [v for v in items if isinstance(v, str) and v and v not in vocabulary.choices]


def _note_issue(note: Note, sheet: str | None, raw: RawRow, letter: str, key: str) -> Issue:
    return Issue(
        severity=note.severity,
        code=note.code,
        message_en=note.message_en,
        message_fr=note.message_fr,
        sheet=sheet,
        row=raw.number,
        column=letter,
        field=key,
        value=note.original,
        suggestion=note.suggestion,
    )


def _row_issue(
    code: str,
    sheet: str | None,
    raw: RawRow,
    columns: Mapping[str, Any],
    key: str | None,
    **values: Any,
) -> Issue:
    column = columns[key].letter if key and key in columns else None
    return make_issue(code, sheet=sheet, row=raw.number, column=column, field=key, **values)


def _rule_issue(
    rule: RuleIssue,
    sheet: str | None,
    raw: RawRow,
    columns: Mapping[str, Any],
    values: Mapping[str, Any],
    vocab: Vocabularies,
) -> Issue:
    suggestion = rule.suggestion
    value = raw.cells.get(rule.field)
    if rule.code in SUGGESTABLE and (rule.field in vocab.by_field or rule.field == "countries"):
        for candidate in _unresolved(rule.field, values.get(rule.field), vocab):
            if repr(candidate) in rule.message_en or repr(candidate.upper()) in rule.message_en:
                value = candidate
                suggestion = suggestion or vocab.suggest(rule.field, candidate)
                break
    column = columns[rule.field].letter if rule.field in columns else None
    return Issue(
        severity=rule.severity,
        code=rule.code,
        message_en=rule.message_en,
        message_fr=rule.message_fr,
        sheet=sheet,
        row=raw.number,
        column=column,
        field=rule.field,
        value=value if value != "" else None,
        suggestion=suggestion,
    )
