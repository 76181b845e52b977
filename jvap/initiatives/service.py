"""Use cases for initiatives: bulk create and update with revisions, reading records back."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jvap.db import utcnow
from jvap.errors import BadRequest, Conflict, InvalidInput, NotFound
from jvap.initiatives import money
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeExternalId,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativePriority,
    InitiativeRevision,
    InitiativeTargetGroup,
    format_ref,
)
from jvap.initiatives.rules import (
    RECORD_FIELDS,
    InitiativeRecord,
    RuleIssue,
    check_record,
    diff_records,
    json_value,
    make_issue,
    normalize_record,
)
from jvap.kit import bulk
from jvap.reference import service as reference_service
from jvap.reference.snapshot import ReferenceSnapshot

# Record fields stored as columns of `initiative` (the rest live in link tables).
SCALAR_FIELDS = (
    "kind",
    "title",
    "description",
    "status",
    "start_date",
    "end_date",
    "scope",
    "budget",
    "currency",
    "funder_category",
    "gender_marker",
    "entity",
    "website",
    "remarks",
)
# Fields that decide the EUR equivalent.
MONEY_FIELDS = frozenset({"budget", "currency", "start_date"})
# Multi-valued field -> (link model, value column); funders and implementers keep a position.
LINKS: dict[str, tuple[type[Any], str]] = {
    "domains": (InitiativeDomain, "domain_code"),
    "priorities": (InitiativePriority, "priority_code"),
    "countries": (InitiativeCountry, "country_iso3"),
    "funders": (InitiativeFunder, "name"),
    "implementers": (InitiativeImplementer, "name"),
    "target_groups": (InitiativeTargetGroup, "code"),
    "external_ids": (InitiativeExternalId, "value"),
}
POSITIONED = frozenset({"funders", "implementers"})
# Parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
CHUNK = 2000


@dataclass(slots=True)
class StoredRecord:
    """An initiative as the registry holds it: identity, concurrency token and values."""

    id: int
    ref: str
    partner_code: str
    revision: int
    publication_status: str
    record: InitiativeRecord


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _issue_dicts(
    issues: Iterable[RuleIssue], *, lang: str, item: int | None = None, ref: str | None = None
) -> list[dict[str, Any]]:
    result = []
    for issue in issues:
        entry = issue.to_dict(lang)
        if item is not None:
            entry["item"] = item
        if ref is not None:
            entry["ref"] = ref
        result.append(entry)
    return result


def _raise_invalid(problems: list[dict[str, Any]], count: int) -> None:
    if problems:
        rows = len({p.get("item") for p in problems})
        where = f" in {rows} of {count} initiative(s)" if count > 1 else ""
        raise InvalidInput(f"{len(problems)} problem(s){where}; nothing was saved", issues=problems)


class _EurCache:
    """EUR conversion with the rate looked up once per currency and date in a batch."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, date], tuple[Decimal, date]] = {}

    def columns(self, record: InitiativeRecord) -> dict[str, Any]:
        currency = record.currency
        if record.budget is None or not currency or not money.has_eur_rate(currency):
            return {"budget_eur": None, "eur_rate": None, "eur_rate_date": None}
        on = record.start_date or date.today()
        key = (currency, on)
        if key not in self._rates:
            self._rates[key] = money.eur_rate(currency, on)
        rate, rate_date = self._rates[key]
        amount = (record.budget * rate).quantize(money.CENT, ROUND_HALF_UP)
        return {"budget_eur": amount, "eur_rate": rate, "eur_rate_date": rate_date}


def _link_rows(
    field_key: str, initiative_id: int, values: list[str], snapshot: ReferenceSnapshot
) -> list[dict[str, Any]]:
    _model, column = LINKS[field_key]
    if field_key == "funders":
        return [
            {
                "initiative_id": initiative_id,
                "position": position,
                "name": name,
                "partner_code": snapshot.match_partner(name),
            }
            for position, name in enumerate(values)
        ]
    if field_key in POSITIONED:
        return [
            {"initiative_id": initiative_id, "position": position, column: value}
            for position, value in enumerate(values)
        ]
    return [{"initiative_id": initiative_id, column: value} for value in values]


def _insert_links(
    session: Session,
    pairs: Iterable[tuple[int, InitiativeRecord]],
    fields: Iterable[str],
    snapshot: ReferenceSnapshot,
) -> None:
    pairs = list(pairs)
    for field_key in fields:
        model, _column = LINKS[field_key]
        rows = [
            row
            for initiative_id, record in pairs
            for row in _link_rows(field_key, initiative_id, getattr(record, field_key), snapshot)
        ]
        if rows:
            bulk.insert_rows(session, model.__table__, rows)


def _changes_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    return {key: [json_value(old), json_value(new)] for key, (old, new) in changes.items()}


def _initial_changes(record: InitiativeRecord) -> dict[str, list[Any]]:
    # The first revision lists every field that is set, as a change from nothing.
    return {
        key: [None, json_value(value)]
        for key in RECORD_FIELDS
        if (value := getattr(record, key)) is not None and value != []
    }


def validate_records(
    records: Sequence[InitiativeRecord], snapshot: ReferenceSnapshot, *, is_new: bool
) -> list[list[RuleIssue]]:
    """Issues of each record (normalised first, as it would be stored)."""
    return [check_record(normalize_record(r), snapshot, is_new=is_new) for r in records]


def create_initiatives(
    session: Session,
    items: list[tuple[str, InitiativeRecord]],
    *,
    user_id: int | None,
    submission_id: int | None = None,
    publish: bool = False,
    source: str | None = None,
    lang: str = "en",
    snapshot: ReferenceSnapshot | None = None,
) -> list[int]:
    """Add (partner_code, record) initiatives in a few set-based statements; their ids, in order.

    Every record is checked first: any error raises InvalidInput listing all of them (with
    `item`, the position in `items`) and nothing is written. Each gets revision 1.
    """
    if not items:
        return []
    snapshot = snapshot or reference_service.load_snapshot(session)
    records = [normalize_record(record) for _partner, record in items]
    problems: list[dict[str, Any]] = []
    for index, ((partner_code, _raw), record) in enumerate(zip(items, records, strict=True)):
        if partner_code not in snapshot.partners:
            unknown = make_issue("partner_code", "unknown_partner", value=partner_code)
            problems.extend(_issue_dicts([unknown], lang=lang, item=index))
        errors = [i for i in check_record(record, snapshot, is_new=True) if i.severity == "error"]
        problems.extend(_issue_dicts(errors, lang=lang, item=index))
    _raise_invalid(problems, len(items))

    now = utcnow()
    eur = _EurCache()
    rows = [
        {
            "partner_code": partner_code,
            **{key: getattr(record, key) for key in SCALAR_FIELDS},
            **eur.columns(record),
            "publication_status": "published" if publish else "pending",
            "revision": 1,
            "source": source or ("questionnaire" if submission_id else "api"),
            "created_at": now,
            "updated_at": now,
        }
        for (partner_code, _raw), record in zip(items, records, strict=True)
    ]
    ids = bulk.insert_rows_returning_ids(session, Initiative.__table__, rows)
    pairs = list(zip(ids, records, strict=True))
    _insert_links(session, pairs, LINKS, snapshot)
    bulk.insert_rows(
        session,
        InitiativeRevision.__table__,
        [
            {
                "initiative_id": initiative_id,
                "number": 1,
                "changed_at": now,
                "changed_by_id": user_id,
                "submission_id": submission_id,
                "changes": _initial_changes(record),
            }
            for initiative_id, record in pairs
        ],
    )
    return ids


def update_initiatives(
    session: Session,
    items: list[tuple[int, int, InitiativeRecord]],
    *,
    user_id: int | None,
    submission_id: int | None = None,
    publish: bool = False,
    lang: str = "en",
    snapshot: ReferenceSnapshot | None = None,
) -> None:
    """Replace the values of (initiative_id, expected_revision, record) initiatives.

    A record is the whole new state of the initiative. Checks every item before writing:
    an unknown id is NotFound, a revision that moved since it was read is a Conflict naming
    the ref and its current revision, a broken rule is InvalidInput; then nothing is
    written. Each initiative that changes gets one revision with the changes field by field.
    """
    if not items:
        return
    ids = [initiative_id for initiative_id, _rev, _record in items]
    if len(set(ids)) != len(ids):
        raise BadRequest("the same initiative is given more than once")
    snapshot = snapshot or reference_service.load_snapshot(session)
    stored = load_records(session, ids=ids, lock=True)
    missing = [i for i in ids if i not in stored]
    if missing:
        raise NotFound(f"no initiative {', '.join(format_ref(i) for i in missing[:20])}")
    stale = [
        (stored[initiative_id], expected)
        for initiative_id, expected, _record in items
        if stored[initiative_id].revision != expected
    ]
    if stale:
        first, expected = stale[0]
        raise Conflict(
            f"{first.ref} was changed since revision {expected}: its current revision is "
            f"{first.revision}; reload it and apply the changes again"
            + (f" ({len(stale)} initiatives are affected)" if len(stale) > 1 else ""),
            issues=[
                {
                    "ref": current.ref,
                    "field": "revision",
                    "code": "stale_revision",
                    "expected_revision": expected,
                    "current_revision": current.revision,
                }
                for current, expected in stale
            ],
        )

    records = [normalize_record(record) for _id, _rev, record in items]
    problems: list[dict[str, Any]] = []
    for index, (initiative_id, record) in enumerate(zip(ids, records, strict=True)):
        errors = [i for i in check_record(record, snapshot, is_new=False) if i.severity == "error"]
        problems.extend(_issue_dicts(errors, lang=lang, item=index, ref=format_ref(initiative_id)))
    _raise_invalid(problems, len(items))

    now = utcnow()
    eur = _EurCache()
    row_updates: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    relinks: dict[str, list[tuple[int, InitiativeRecord]]] = {}
    for initiative_id, record in zip(ids, records, strict=True):
        current = stored[initiative_id]
        changes = diff_records(current.record, record)
        if not changes:
            continue
        number = current.revision + 1
        row_updates.append(
            {
                "id": initiative_id,
                **{key: getattr(record, key) for key in SCALAR_FIELDS},
                **eur.columns(record),
                "revision": number,
                "updated_at": now,
            }
        )
        for field_key in LINKS:
            if field_key in changes:
                relinks.setdefault(field_key, []).append((initiative_id, record))
        revisions.append(
            {
                "initiative_id": initiative_id,
                "number": number,
                "changed_at": now,
                "changed_by_id": user_id,
                "submission_id": submission_id,
                "changes": _changes_json(changes),
            }
        )
    if row_updates:
        session.execute(update(Initiative), row_updates)
    for field_key, pairs in relinks.items():
        model, _column = LINKS[field_key]
        changed_ids = [initiative_id for initiative_id, _record in pairs]
        for chunk in _chunks(changed_ids):
            session.execute(delete(model).where(model.initiative_id.in_(chunk)))
        _insert_links(session, pairs, [field_key], snapshot)
    if revisions:
        bulk.insert_rows(session, InitiativeRevision.__table__, revisions)
    if publish:
        publish_initiatives(session, ids=ids)
    _expire_loaded(session, set(ids))


def publish_initiatives(session: Session, *, ids: Sequence[int]) -> int:
    """Mark initiatives as verified, so they count in summaries; returns how many changed.

    Publication is not a change of the initiative's values: it writes no revision and does
    not move `revision`, so a questionnaire downloaded before it can still be applied.
    """
    changed = 0
    for chunk in _chunks(list(ids)):
        result = session.execute(
            update(Initiative)
            .where(Initiative.id.in_(chunk), Initiative.publication_status != "published")
            .values(publication_status="published")
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0
    _expire_loaded(session, set(ids))
    return changed


def _expire_loaded(session: Session, ids: set[int]) -> None:
    # Set-based writes bypass the identity map; expire what it holds so reads see the rows.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Initiative) and obj.id in ids:
            session.expire(obj)


def load_records(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    partner_code: str | None = None,
    lock: bool = False,
) -> dict[int, StoredRecord]:
    """Initiatives by id or of one partner, read set-based (one query per link table).

    `lock` takes row locks on PostgreSQL (FOR UPDATE) so that a concurrent update waits.
    """
    query = select(
        Initiative.id,
        Initiative.partner_code,
        Initiative.revision,
        Initiative.publication_status,
        *(getattr(Initiative, key) for key in SCALAR_FIELDS),
    ).order_by(Initiative.id)
    if lock:
        query = query.with_for_update()
    if partner_code is not None:
        query = query.where(Initiative.partner_code == partner_code)
    rows = []
    if ids is None:
        rows = list(session.execute(query))
    else:
        for chunk in _chunks(list(ids)):
            rows.extend(session.execute(query.where(Initiative.id.in_(chunk))))
    result: dict[int, StoredRecord] = {}
    for row in rows:
        values = row._mapping
        result[row.id] = StoredRecord(
            id=row.id,
            ref=format_ref(row.id),
            partner_code=row.partner_code,
            revision=row.revision,
            publication_status=row.publication_status,
            record=InitiativeRecord(**{key: values[key] for key in SCALAR_FIELDS}),
        )
    found = list(result)
    for field_key, (model, column) in LINKS.items():
        value_column = getattr(model, column)
        order = (model.position,) if field_key in POSITIONED else (value_column,)
        for chunk in _chunks(found):
            link_rows = session.execute(
                select(model.initiative_id, value_column)
                .where(model.initiative_id.in_(chunk))
                .order_by(model.initiative_id, *order)
            )
            for initiative_id, value in link_rows:
                getattr(result[initiative_id].record, field_key).append(value)
    return result
