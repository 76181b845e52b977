"""Shapes the campaign service's reports into what the pages show (no session, no rules)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jvap.campaigns.issues import issue_records
from jvap.reference.codelists import CODELISTS

SEVERITY_ORDER = {"error": 0, "warning": 1}


@dataclass(slots=True)
class IssueGroup:
    """The issues of one spreadsheet row (row None: the file as a whole)."""

    sheet: str | None
    row: int | None
    issues: list[dict[str, Any]] = field(default_factory=list)
    title: str | None = None

    @property
    def errors(self) -> int:
        return sum(1 for issue in self.issues if issue.get("severity") == "error")


@dataclass(slots=True)
class ChangedItem:
    ref: str
    title: str
    row: int | None
    fields: list[dict[str, str]]


@dataclass(slots=True)
class SubmissionView:
    groups: list[IssueGroup]
    errors: int
    warnings: int
    new: list[dict[str, Any]]
    changed: list[ChangedItem]
    not_reported: list[dict[str, str]]
    conflicts: list[dict[str, str]]
    unchanged: int


def _column_key(column: str | None) -> tuple[int, str]:
    # Spreadsheet order: B before AA.
    column = column or ""
    return (len(column), column)


def group_issues(
    issues: Sequence[Mapping[str, Any]],
    *,
    lang: str,
    titles: Mapping[int, str] | None = None,
    field_label: Callable[[str], str] = str,
) -> list[IssueGroup]:
    """Issues grouped by (sheet, row), file-level first, then rows in order, columns A→Z."""
    groups: dict[tuple[str | None, int | None], IssueGroup] = {}
    for issue in issues:
        key = (issue.get("sheet"), issue.get("row"))
        group = groups.setdefault(key, IssueGroup(sheet=key[0], row=key[1]))
        group.issues.append(
            {
                **issue,
                "message": issue.get(f"message_{lang}") or issue.get("message") or "",
                "field_label": field_label(issue["field"]) if issue.get("field") else "",
            }
        )
    ordered = sorted(groups.values(), key=lambda g: (g.row is not None, g.row or 0, g.sheet or ""))
    for group in ordered:
        group.issues.sort(
            key=lambda i: (
                SEVERITY_ORDER.get(i.get("severity", ""), 2),
                _column_key(i.get("column")),
            )
        )
        if titles and group.row is not None:
            group.title = titles.get(group.row)
    return ordered


def show_value(value: Any) -> str:
    """A stored value as a person reads it: lists joined, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v) for v in value)
    return str(value)


def show_field(field_key: str, value: Any, lang: str) -> str:
    """Like show_value, with the codes of coded fields (status, scope, ...) as their labels."""
    labels = {item.code: item.label(lang) for item in CODELISTS.get(field_key, ())}
    if not labels:
        return show_value(value)
    if isinstance(value, list | tuple):
        return show_value([labels.get(str(v), v) for v in value])
    return show_value(labels.get(str(value), value) if value is not None else None)


def submission_view(
    report: Mapping[str, Any],
    *,
    lang: str,
    field_label: Callable[[str], str],
    titles: Mapping[str, str],
) -> SubmissionView:
    """Issues by row and the diff (new / changed / not reported) of a stored upload report.

    `titles` maps refs to the registry's titles, for rows the diff names only by ref.
    """
    diff = report.get("diff") or {}
    summary = report.get("summary") or {}
    issues = issue_records(report.get("issues"))
    row_titles = {item["row"]: item.get("title") or "" for item in diff.get("new", [])}
    changed = []
    for item in diff.get("changed", []):
        changes = item.get("changes") or {}
        changed.append(
            ChangedItem(
                ref=item.get("ref", ""),
                title=show_value((changes.get("title") or [None, None])[1])
                if "title" in changes
                else titles.get(item.get("ref", ""), ""),
                row=item.get("row"),
                fields=[
                    {
                        "field": field_label(key),
                        "old": show_field(key, old, lang),
                        "new": show_field(key, new, lang),
                    }
                    for key, (old, new) in changes.items()
                ],
            )
        )
        if item.get("row") is not None:
            row_titles[item["row"]] = changed[-1].title
    return SubmissionView(
        groups=group_issues(issues, lang=lang, titles=row_titles, field_label=field_label),
        errors=int(summary.get("errors", sum(1 for i in issues if i.get("severity") == "error"))),
        warnings=int(
            summary.get("warnings", sum(1 for i in issues if i.get("severity") == "warning"))
        ),
        new=list(diff.get("new", [])),
        changed=changed,
        not_reported=[
            {"ref": ref, "title": titles.get(ref, "")} for ref in diff.get("not_reported", [])
        ],
        conflicts=[
            {"ref": ref, "title": titles.get(ref, "")} for ref in diff.get("conflicting", [])
        ],
        unchanged=len(diff.get("unchanged", [])),
    )
