"""One problem found in an uploaded questionnaire, located down to the cell."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# Not frozen: an upload can make one per cell, thousands, and a frozen dataclass sets each
# field through object.__setattr__ (1 us an issue against 0.4 us).
@dataclass(slots=True)
class Issue:
    """A located problem; `row` is the spreadsheet's 1-based row, `column` its letter."""

    severity: Severity
    code: str
    message_en: str
    message_fr: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None
    value: Any = None
    suggestion: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The issue as stored in a submission's report: both messages, no chosen language."""
        return {
            "severity": self.severity,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "code": self.code,
            "message_en": self.message_en,
            "message_fr": self.message_fr,
            "value": _json_safe(self.value),
            "suggestion": self.suggestion,
        }

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The issue as the API shows it, with `message` in `lang`."""
        return localise(self.to_record(), lang)


# A report's issues, packed: one row of these values per issue, the messages once. An
# upload's thousands of normalisation warnings repeat a few hundred messages: the records
# were a third of what a 5,000-row upload stores (1.4 MB, now 0.5 MB).
PACKED_KEYS = (
    "severity",
    "sheet",
    "row",
    "column",
    "field",
    "code",
    "message",
    "value",
    "suggestion",
)


def pack_issues(issues: Iterable[Issue]) -> dict[str, Any]:
    """The issues as a submission's report stores them (issue_records reads them back)."""
    messages: dict[tuple[str, str], int] = {}
    rows = []
    for issue in issues:
        texts = (issue.message_en, issue.message_fr)
        message = messages.get(texts)
        if message is None:
            message = messages[texts] = len(messages)
        rows.append(
            (
                issue.severity,
                issue.sheet,
                issue.row,
                issue.column,
                issue.field,
                issue.code,
                message,
                _json_safe(issue.value),
                issue.suggestion,
            )
        )
    return {"keys": list(PACKED_KEYS), "messages": list(messages), "rows": rows}


def issue_records(stored: Any) -> list[dict[str, Any]]:
    """The issue records (as Issue.to_record makes them) of a report's "issues": packed, or
    a list of records already (reports stored before issues were packed)."""
    if not stored:
        return []
    if isinstance(stored, list):
        return stored
    messages = stored["messages"]
    keys = stored["keys"]
    records = []
    for row in stored["rows"]:
        record: dict[str, Any] = {}
        for key, value in zip(keys, row, strict=True):
            if key == "message":  # both texts where the record has them
                record["message_en"], record["message_fr"] = messages[value]
            else:
                record[key] = value
        records.append(record)
    return records


def localise(record: dict[str, Any], lang: str) -> dict[str, Any]:
    """A stored issue with `message` in `lang` (English when no French is stored)."""
    message = record.get(f"message_{lang}") or record.get("message_en") or record.get("message")
    return {**record, "message": message}


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def has_errors(issues: list[Issue]) -> bool:
    return any(issue.severity == "error" for issue in issues)
