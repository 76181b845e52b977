"""JSON bodies of the initiatives API -> typed records, with every problem as a rule issue."""

from dataclasses import fields, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from jvap.initiatives.rules import FIELDS, InitiativeRecord, RuleIssue
from jvap.initiatives.schemas import InitiativeCreate, InitiativeUpdate

M = TypeVar("M", bound=BaseModel)
RECORD_KEYS = tuple(f.name for f in fields(InitiativeRecord))
_OTHER_LABELS = {
    "partner_code": ("Reporting partner", "Partenaire déclarant"),
    "revision": ("Revision", "Révision"),
}


def _labels(key: str) -> tuple[str, str]:
    spec = FIELDS.get(key)
    if spec is not None:
        return spec.label_en, spec.label_fr
    return _OTHER_LABELS.get(key, (key, key))


def _type_issue(error: Any) -> RuleIssue:
    key = str(error["loc"][0]) if error["loc"] else "body"
    label_en, label_fr = _labels(key)
    if error["type"] == "missing":
        return RuleIssue(
            key, "required", "error", f"{label_en} is required.", f"{label_fr} : champ obligatoire."
        )
    if error["type"] == "extra_forbidden":
        return RuleIssue(
            key,
            "unknown_field",
            "error",
            f"{key!r} is not a field of an initiative.",
            f"{key!r} n'est pas un champ d'une initiative.",
        )
    # Pydantic explains type errors in English only; the French message says what failed.
    return RuleIssue(
        key,
        "invalid_value",
        "error",
        f"{label_en}: {error['msg']}.",
        f"{label_fr} : valeur invalide ({error['msg']}).",
    )


def _validate(
    model: type[M], payload: Any, placeholders: dict[str, Any]
) -> tuple[M, list[RuleIssue]]:
    """The parsed body, and one issue per field that could not be parsed (that field dropped)."""
    if not isinstance(payload, dict):
        issue = RuleIssue(
            "body",
            "invalid_value",
            "error",
            "The body must be a JSON object.",
            "Le corps de la requête doit être un objet JSON.",
        )
        return model.model_validate(placeholders), [issue]
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        errors = exc.errors()
    issues = list({(i.field, i.code): i for i in map(_type_issue, errors)}.values())
    bad = {issue.field for issue in issues}
    cleaned = {key: value for key, value in payload.items() if key not in bad}
    for key, value in placeholders.items():
        cleaned.setdefault(key, value)
    return model.model_validate(cleaned), issues


def parse_create(payload: Any) -> tuple[str, InitiativeRecord, list[RuleIssue]]:
    """(partner_code, record, issues of fields that could not be parsed, which are left blank)."""
    body, issues = _validate(InitiativeCreate, payload, {"partner_code": ""})
    values = body.model_dump(include=set(RECORD_KEYS))
    return body.partner_code.strip().upper(), InitiativeRecord(**values), issues


def parse_update(
    payload: Any, current: InitiativeRecord
) -> tuple[int | None, InitiativeRecord, list[RuleIssue]]:
    """(revision, current record with the fields the body gives replaced, issues).

    A field given as null is cleared (a list field becomes empty); absent fields keep
    their current value.
    """
    body, issues = _validate(InitiativeUpdate, payload, {"revision": -1})
    given = body.model_fields_set & set(RECORD_KEYS)
    changes = {}
    for key in given:
        value = getattr(body, key)
        if value is None and FIELDS[key].type in ("multi_code", "multi_text"):
            value = []
        changes[key] = value
    revision = body.revision if body.revision >= 0 else None
    return revision, replace(current, **changes), issues
