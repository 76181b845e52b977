"""Parse and check a reference-data file (YAML, or CSV for priorities) without a database."""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import yaml

from jvap.errors import InvalidReferenceData

LISTS = ("regions", "countries", "domains", "priorities", "organisations", "processes")
PRIORITY_CSV_COLUMNS = ("code", "domain", "level", "parent", "title_en", "title_fr", "verified")
LEVELS = ("area", "action")


@dataclass(frozen=True, slots=True)
class PriorityItem:
    code: str
    domain: str
    title_en: str
    level: str = "action"
    parent: str | None = None
    title_fr: str | None = None
    verified: bool = False
    priority_initiative_2015: bool | None = None


@dataclass(slots=True)
class ReferenceFile:
    """The lists a file carries; a list absent from the file is left as it is."""

    regions: list[dict[str, Any]] | None = None
    countries: list[dict[str, Any]] | None = None
    domains: list[dict[str, Any]] | None = None
    priorities: list[PriorityItem] | None = None
    priority_version: str | None = None
    organisations: list[dict[str, Any]] | None = None
    processes: list[dict[str, Any]] | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def lists(self) -> list[str]:
        return [name for name in LISTS if getattr(self, name) is not None]


REQUIRED_KEYS = {
    "regions": ("code", "name_en", "name_fr"),
    "countries": ("iso3", "region"),
    "domains": ("code", "number", "title_en", "title_fr"),
    "organisations": ("code", "name_en", "name_fr", "category"),
    "processes": ("code", "name_en", "name_fr", "full_name", "members"),
}
CODE_KEY = {
    "regions": "code",
    "countries": "iso3",
    "domains": "code",
    "organisations": "code",
    "processes": "code",
}


def parse_reference_file(filename: str, content: bytes) -> ReferenceFile:
    """Read `content`; raise InvalidReferenceData naming every problem, or return the lists."""
    if filename.lower().endswith(".csv"):
        data = {"priorities": _priorities_from_csv(filename, content)}
    else:
        data = _yaml_mapping(filename, content)
    result = ReferenceFile()
    problems: list[dict[str, Any]] = []
    for name in LISTS:
        if name not in data:
            continue
        if name == "priorities":
            result.priorities, result.priority_version = _parse_priorities(data[name], problems)
        else:
            setattr(result, name, _parse_records(name, data[name], problems))
    if not result.lists() and not problems:
        problems.append(_problem("", f"the file holds none of the lists {', '.join(LISTS)}"))
    if problems:
        raise InvalidReferenceData(
            f"{filename}: {len(problems)} problem(s); nothing was changed", issues=problems
        )
    return result


def _yaml_mapping(filename: str, content: bytes) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidReferenceData(f"{filename}: not a readable YAML file ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidReferenceData(f"{filename}: expected a mapping of lists at the top level")
    return data


def _priorities_from_csv(filename: str, content: bytes) -> dict[str, Any]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidReferenceData(f"{filename}: not UTF-8 text ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("code", "domain", "title_en") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidReferenceData(f"{filename}: missing column(s) {', '.join(missing)}")
    items = []
    for row in reader:
        item: dict[str, Any] = {k: (v or "").strip() or None for k, v in row.items() if k}
        item["verified"] = str(item.get("verified") or "").lower() in ("1", "true", "yes", "oui")
        items.append(item)
    return {"version": None, "items": items}


def _problem(where: str, message: str) -> dict[str, Any]:
    return {"location": where, "message": message}


def _parse_records(name: str, records: Any, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(records, list):
        problems.append(_problem(name, "must be a list"))
        return []
    seen: set[str] = set()
    for index, record in enumerate(records):
        where = f"{name}[{index}]"
        if not isinstance(record, dict):
            problems.append(_problem(where, "must be a mapping"))
            continue
        for key in REQUIRED_KEYS[name]:
            if record.get(key) in (None, ""):
                problems.append(_problem(where, f"missing {key!r}"))
        code = str(record.get(CODE_KEY[name], ""))
        if code in seen:
            problems.append(_problem(where, f"duplicate code {code!r}"))
        seen.add(code)
    return [r for r in records if isinstance(r, dict)]


def _parse_priorities(
    block: Any, problems: list[dict[str, Any]]
) -> tuple[list[PriorityItem], str | None]:
    if isinstance(block, dict):
        version, records = block.get("version"), block.get("items")
    else:
        version, records = None, block
    if not isinstance(records, list):
        problems.append(_problem("priorities", "must be a list (or a mapping with 'items')"))
        return [], None
    items: list[PriorityItem] = []
    for index, record in enumerate(records):
        where = f"priorities[{index}]"
        if not isinstance(record, dict):
            problems.append(_problem(where, "must be a mapping"))
            continue
        missing = [k for k in ("code", "domain", "title_en") if not record.get(k)]
        if missing:
            problems.append(_problem(where, f"missing {', '.join(map(repr, missing))}"))
            continue
        level = record.get("level") or "action"
        if level not in LEVELS:
            problems.append(_problem(where, f"level must be one of {LEVELS}, not {level!r}"))
            continue
        items.append(
            PriorityItem(
                code=str(record["code"]).strip(),
                domain=str(record["domain"]).strip(),
                title_en=str(record["title_en"]).strip(),
                level=level,
                parent=record.get("parent"),
                title_fr=record.get("title_fr"),
                verified=bool(record.get("verified", False)),
                priority_initiative_2015=record.get("priority_initiative_2015"),
            )
        )
    codes = [item.code for item in items]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(_problem("priorities", f"duplicate code {code!r}"))
    by_code = {item.code: item for item in items}
    for item in items:
        if item.parent is None:
            continue
        parent = by_code.get(item.parent)
        if parent is None:
            problems.append(_problem(f"priority {item.code}", f"unknown parent {item.parent!r}"))
        elif parent.level != "area" or parent.domain != item.domain:
            problems.append(
                _problem(
                    f"priority {item.code}",
                    f"parent {item.parent!r} is not an area of {item.domain}",
                )
            )
    return items, (str(version) if version else None)
