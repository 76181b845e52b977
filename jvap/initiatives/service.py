"""Use cases for initiatives: bulk create and update with revisions, reading records back."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    intersect,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from jvap.accounts import access
from jvap.accounts.models import User
from jvap.db import is_postgresql, is_sqlite, utcnow
from jvap.errors import BadRequest, Conflict, InvalidInput, NotFound
from jvap.initiatives import money
from jvap.initiatives.models import (
    SEARCH_TABLE,
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeExternalId,
    InitiativeFunder,
    InitiativeImplementer,
    InitiativePriority,
    InitiativeProcess,
    InitiativeRegion,
    InitiativeRevision,
    InitiativeTargetGroup,
    format_ref,
    parse_ref,
)
from jvap.initiatives.payload import parse_create, parse_update
from jvap.initiatives.rules import (
    RECORD_FIELDS,
    InitiativeRecord,
    RuleIssue,
    check_record,
    diff_records,
    json_value,
    make_issue,
    normalize_record,
    record_values,
)
from jvap.initiatives.schemas import FieldChange, InitiativeFilters, InitiativeRead, RevisionRead
from jvap.kit import bulk
from jvap.reference import service as reference_service
from jvap.reference.models import Country, Partner, ProcessMembership
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
# Parameters per IN (...) list: well under SQLite's and PostgreSQL's limits. PostgreSQL
# takes ids as one array parameter instead, which has no such limit.
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
    # Stored columns beyond the record: source, EUR amount, rate and date, timestamps.
    details: dict[str, Any] = field(default_factory=dict)
    funder_partner_codes: list[str | None] = field(default_factory=list)


def _chunks(values: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _id_chunks(session: Session, ids: Sequence[int]) -> Iterator[list[int]]:
    """`ids` in as few lists as one `_in_ids` condition each can take."""
    size = max(len(ids), 1) if is_postgresql(session) else CHUNK
    for chunk in _chunks(ids, size):
        yield list(chunk)


def _in_ids(session: Session, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids`. On PostgreSQL `= ANY(array)`: one parameter instead of thousands,
    which costs far less to send and to plan (the planning alone outweighed the query)."""
    if is_postgresql(session):
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    # One expanding parameter: in_(ids) would coerce each of thousands of ids on its own.
    return column.in_(bindparam(None, ids, type_=Integer, expanding=True))


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


def _insert_links(
    session: Session,
    pairs: Iterable[tuple[int, InitiativeRecord]],
    fields: Iterable[str],
    snapshot: ReferenceSnapshot,
) -> None:
    pairs = list(pairs)
    # A batch names the same few funders thousands of times: match each name once.
    partners: dict[str, str | None] = {}

    def partner_of(name: str) -> str | None:
        if name not in partners:
            partners[name] = snapshot.match_partner(name)
        return partners[name]

    for field_key in fields:
        model, column = LINKS[field_key]
        get = attrgetter(field_key)
        # Tuples straight away: tens of thousands of rows, one dict each would cost more
        # than the insert.
        if field_key == "funders":
            columns = ["initiative_id", "position", "name", "partner_code"]
            rows: list[tuple[Any, ...]] = [
                (initiative_id, position, name, partner_of(name))
                for initiative_id, record in pairs
                for position, name in enumerate(get(record))
            ]
        elif field_key in POSITIONED:
            columns = ["initiative_id", "position", column]
            rows = [
                (initiative_id, position, value)
                for initiative_id, record in pairs
                for position, value in enumerate(get(record))
            ]
        else:
            columns = ["initiative_id", column]
            rows = [
                (initiative_id, value) for initiative_id, record in pairs for value in get(record)
            ]
        bulk.insert_values(session, model.__table__, columns, rows)


def _changes_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    return {key: [json_value(old), json_value(new)] for key, (old, new) in changes.items()}


def _initial_changes(record: InitiativeRecord) -> dict[str, list[Any]]:
    # The first revision lists every field that is set, as a change from nothing.
    changes = {}
    for key, value in zip(RECORD_FIELDS, record_values(record), strict=True):
        kind = value.__class__
        if value is None or (kind is list and not value):
            continue
        # Text, whole numbers and lists of text (fresh from normalize_record, never shared)
        # are their own JSON form: only dates and amounts go through json_value.
        fast = kind is str or kind is int or kind is list
        changes[key] = [None, value if fast else json_value(value)]
    return changes


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
    checked: bool = False,
) -> list[int]:
    """Add (partner_code, record) initiatives in a few set-based statements; their ids, in order.

    Every record is checked first: any error raises InvalidInput listing all of them (with
    `item`, the position in `items`) and nothing is written. Each gets revision 1.
    `checked` says the records already passed check_record against this same `snapshot`
    (a staged questionnaire whose reference data has not changed since): the rules are not
    run again, the partner codes still are.
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
        if checked:
            continue
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
    refresh_lookups(session, ids=ids, new=True)
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
    checked: bool = False,
) -> None:
    """Replace the values of (initiative_id, expected_revision, record) initiatives.

    A record is the whole new state of the initiative. Checks every item before writing:
    an unknown id is NotFound, a revision that moved since it was read is a Conflict naming
    the ref and its current revision, a broken rule is InvalidInput; then nothing is
    written. Each initiative that changes gets one revision with the changes field by field.
    `checked`: the records already passed check_record against this same `snapshot`, so
    the rules are not run again (ids and revisions still are checked).
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
    if not checked:
        problems: list[dict[str, Any]] = []
        for index, (initiative_id, record) in enumerate(zip(ids, records, strict=True)):
            errors = [
                i for i in check_record(record, snapshot, is_new=False) if i.severity == "error"
            ]
            ref = format_ref(initiative_id)
            problems.extend(_issue_dicts(errors, lang=lang, item=index, ref=ref))
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
    # Set-based: the ORM's bulk update costs more than the database's work.
    bulk.update_rows(session, Initiative.__table__, row_updates)
    for field_key, pairs in relinks.items():
        model, _column = LINKS[field_key]
        changed_ids = [initiative_id for initiative_id, _record in pairs]
        for chunk in _id_chunks(session, changed_ids):
            table = model.__table__
            session.connection().execute(
                delete(table).where(_in_ids(session, table.c.initiative_id, chunk))
            )
        _insert_links(session, pairs, [field_key], snapshot)
    if "countries" in relinks:
        refresh_lookups(session, ids=[initiative_id for initiative_id, _r in relinks["countries"]])
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
    for chunk in _id_chunks(session, list(ids)):
        result = session.execute(
            update(Initiative)
            .where(
                _in_ids(session, Initiative.id, chunk),
                Initiative.publication_status != "published",
            )
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


# --- derived lookups: the region and process each initiative falls under -----------------


IdsCondition = Callable[[Any], ColumnElement[bool]]  # column -> "column is one of the ids"


def _region_rows(of_ids: IdsCondition | None) -> Select[Any]:
    """(region_code, initiative_id): each region one of the countries is in, once."""
    query = (
        select(Country.region_code, InitiativeCountry.initiative_id)
        .join(Country, Country.iso3 == InitiativeCountry.country_iso3)
        .where(Country.region_code.is_not(None))
        .distinct()
    )
    return query if of_ids is None else query.where(of_ids(InitiativeCountry.initiative_id))


def process_rows(of_ids: IdsCondition | None = None) -> Any:
    """(process_code, initiative_id) for every process an initiative involves, once: reported
    by a current member, or implemented in a current member's country. The one statement of
    that rule in SQL (the summaries apply it in numpy, reports/breakdowns.py)."""
    current = ProcessMembership.status.in_(reference_service.CURRENT_STATUSES)
    by_reporter = (
        select(ProcessMembership.process_code, Initiative.id.label("initiative_id"))
        .join(ProcessMembership, ProcessMembership.partner_code == Initiative.partner_code)
        .where(current)
    )
    by_country = (
        select(ProcessMembership.process_code, InitiativeCountry.initiative_id)
        .join(Partner, Partner.country_iso3 == InitiativeCountry.country_iso3)
        .join(ProcessMembership, ProcessMembership.partner_code == Partner.code)
        .where(current)
    )
    if of_ids is not None:
        by_reporter = by_reporter.where(of_ids(Initiative.id))
        by_country = by_country.where(of_ids(InitiativeCountry.initiative_id))
    return union(by_reporter, by_country)


def refresh_lookups(
    session: Session, *, ids: Sequence[int] | None = None, new: bool = False
) -> None:
    """Rebuild initiative_region and initiative_process for `ids` (None: every initiative).

    They derive from countries, reporting partners and reference data (country regions,
    partners' countries, process memberships). create_initiatives and update_initiatives
    keep them up to date; anything else writing those must call this: all of them after
    reference data is reloaded. `new`: the ids have no rows yet, so nothing is deleted.
    """
    connection = session.connection()
    for target, columns, rows in (
        (InitiativeRegion.__table__, ["region_code", "initiative_id"], _region_rows),
        (InitiativeProcess.__table__, ["process_code", "initiative_id"], process_rows),
    ):
        if ids is None:
            connection.execute(delete(target))
            connection.execute(insert(target).from_select(columns, rows(None)))
            continue
        for chunk in _id_chunks(session, list(ids)):
            of_ids = partial(_in_ids, session, ids=chunk)
            if not new:
                connection.execute(delete(target).where(of_ids(target.c.initiative_id)))
            connection.execute(insert(target).from_select(columns, rows(of_ids)))


DETAIL_COLUMNS = (
    "source",
    "budget_eur",
    "eur_rate",
    "eur_rate_date",
    "created_at",
    "updated_at",
)
_ROW_COLUMNS = (
    Initiative.id,
    Initiative.partner_code,
    Initiative.revision,
    Initiative.publication_status,
    *(getattr(Initiative, key) for key in SCALAR_FIELDS),
    *(getattr(Initiative, key) for key in DETAIL_COLUMNS),
)
_LINK_FIELDS = tuple(LINKS)
_link_lists = attrgetter(*_LINK_FIELDS)  # a record's link lists, in LINKS order
_FUNDERS = _LINK_FIELDS.index("funders")
LINK_ROWS_PER_FETCH = 2000


def _ids_condition(column: Any, *, array: bool) -> ColumnElement[bool]:
    # The :ids parameter of a statement built once: an array, or an expanding list.
    if array:
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    return column.in_(bindparam("ids", expanding=True))


def _links_query(*, array: bool) -> Select[Any]:
    """All multi-valued fields of the initiatives in :ids, in one UNION ALL round trip."""
    parts = []
    for number, (field_key, (model, column)) in enumerate(LINKS.items()):
        table = model.__table__
        position = table.c.position if field_key in POSITIONED else literal(0)
        partner = table.c.partner_code if field_key == "funders" else null()
        parts.append(
            select(
                table.c.initiative_id,
                literal(number).label("field"),
                cast(table.c[column], String).label("value"),
                position.label("position"),
                cast(partner, String).label("partner_code"),
            ).where(_ids_condition(table.c.initiative_id, array=array))
        )
    combined = union_all(*parts).subquery()
    return select(combined).order_by(
        combined.c.initiative_id, combined.c.field, combined.c.position, combined.c.value
    )


# Built once (for :ids as an array, and as a list): the statements are reused with new
# ids, so they are compiled once too.
_LINKS_QUERY = {array: _links_query(array=array) for array in (False, True)}
_ROWS_BY_ID = {
    array: select(*_ROW_COLUMNS).where(_ids_condition(Initiative.id, array=array))
    for array in (False, True)
}


def load_records(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    partner_code: str | None = None,
    lock: bool = False,
) -> dict[int, StoredRecord]:
    """Initiatives by id or of one partner, read set-based (two queries per 2,000 ids on
    SQLite, two in all on PostgreSQL).

    `lock` takes row locks on PostgreSQL (FOR UPDATE) so that a concurrent update waits.
    """
    # Core execution: plain rows, without the ORM's per-row loading work (after a flush,
    # so that pending ORM changes are seen as autoflush would).
    session.flush()
    connection = session.connection()
    array = is_postgresql(session)
    rows: list[Any] = []
    if ids is None:
        query = select(*_ROW_COLUMNS).order_by(Initiative.id)
        if partner_code is not None:
            query = query.where(Initiative.partner_code == partner_code)
        rows = connection.execute(query.with_for_update() if lock else query).all()
    else:
        query = _ROWS_BY_ID[array]
        query = query.with_for_update() if lock else query
        if partner_code is not None:
            query = query.where(Initiative.partner_code == partner_code)
        for chunk in _id_chunks(session, list(ids)):
            rows.extend(connection.execute(query, {"ids": chunk}).all())
    result: dict[int, StoredRecord] = {}
    # Rows are tuples in _ROW_COLUMNS order: slices are cheaper than lookups by name.
    scalars_end = 4 + len(SCALAR_FIELDS)
    for row in sorted(rows, key=itemgetter(0)):
        initiative_id, partner, revision, publication_status = row[:4]
        result[initiative_id] = StoredRecord(
            id=initiative_id,
            ref=format_ref(initiative_id),
            partner_code=partner,
            revision=revision,
            publication_status=publication_status,
            record=InitiativeRecord(**dict(zip(SCALAR_FIELDS, row[4:scalars_end], strict=True))),
            details=dict(zip(DETAIL_COLUMNS, row[scalars_end:], strict=True)),
        )
    # Each record's link lists, by field number, to append the link rows to.
    lists = {
        initiative_id: (_link_lists(stored.record), stored.funder_partner_codes)
        for initiative_id, stored in result.items()
    }
    for chunk in _id_chunks(session, list(result)):
        links = connection.execute(_LINKS_QUERY[array], {"ids": chunk})
        # Fetched a few thousand at a time: row by row costs a driver call each, all at
        # once keeps tens of thousands of rows alive for the garbage collector to scan.
        for part in links.partitions(LINK_ROWS_PER_FETCH):
            for initiative_id, number, value, _position, partner in part:
                values, funder_partners = lists[initiative_id]
                values[number].append(value)
                if number == _FUNDERS:
                    funder_partners.append(partner)
    return result


# --- reading, listing and the single-record API -----------------------------------------


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a user may see: one partner's initiatives, and/or published ones only."""

    partner_code: str | None = None
    published_only: bool = False


def visibility_for(user: User) -> Visibility:
    """Focal points and contributors see their partner's initiatives; managers published ones."""
    if access.is_partner_bound(user):
        return Visibility(partner_code=user.partner_code)
    return Visibility(published_only=user.role == access.MANAGER)


def _visible(initiative: Initiative, visibility: Visibility) -> bool:
    if visibility.partner_code is not None and initiative.partner_code != visibility.partner_code:
        return False
    return not (visibility.published_only and initiative.publication_status != "published")


def get_initiative(session: Session, *, ref: str, visibility: Visibility) -> Initiative:
    """The initiative `ref` names; NotFound when it does not exist or is not visible."""
    initiative_id = parse_ref(ref)
    initiative = session.get(Initiative, initiative_id) if initiative_id else None
    # Not visible and not existing look the same, so references cannot be probed.
    if initiative is None or not _visible(initiative, visibility):
        raise NotFound(f"no initiative {ref}")
    return initiative


@dataclass(frozen=True, slots=True)
class _IdSet:
    """A SELECT of initiative ids that answers one filter from an index or lookup table."""

    query: Select[Any]
    # The id column of `query`, to look one initiative up in it.
    key: Any
    # Whether it can list an initiative more than once.
    repeats: bool
    # Whether looking one initiative up is a B-tree probe (not true of a full-text match).
    probe: bool = True


@dataclass(slots=True)
class _Conditions:
    """Filters split by where they are answered: on initiative rows, or by id sets."""

    rows: list[ColumnElement[bool]]
    # An initiative must be in all of them.
    sets: list[_IdSet]

    def where(self, *, probe: bool = False) -> list[ColumnElement[bool]]:
        """Conditions on initiative rows.

        One IN per set (not IN of their INTERSECT): SQLite then probes rows through the
        smallest list and checks the others by lookup. IN ignores repeats by itself.
        `probe`: EXISTS for the sets that allow it instead, for a page in another order
        over many matches: SQLite then walks the sort index and probes each initiative,
        rather than reading and sorting every match.
        """
        return [
            *self.rows,
            *(
                ids.query.where(ids.key == Initiative.id).exists()
                if probe and ids.probe
                else Initiative.id.in_(ids.query)
                for ids in self.sets
            ),
        ]

    def ids(self) -> Any:
        """The matching ids, each once (INTERSECT removes repeats; one set needs DISTINCT)."""
        if len(self.sets) > 1:
            return intersect(*(ids.query for ids in self.sets))
        only = self.sets[0]
        return only.query.distinct() if only.repeats else only.query


def _linked(model: Any, condition: ColumnElement[bool], *, unique: bool) -> _IdSet:
    # Answered from the (value, initiative_id) index alone. One value of a set-like
    # field matches an initiative at most once; several values may match it twice.
    return _IdSet(select(model.initiative_id).where(condition), model.initiative_id, not unique)


def _in_regions(codes: list[str]) -> ColumnElement[bool] | _IdSet:
    """Any country of the initiative is in one of the regions."""
    return _linked(
        InitiativeRegion, InitiativeRegion.region_code.in_(codes), unique=len(codes) == 1
    )


def _in_processes(codes: list[str]) -> ColumnElement[bool] | _IdSet:
    """The initiative involves one of the processes (see _process_rows for the rule)."""
    return _linked(
        InitiativeProcess, InitiativeProcess.process_code.in_(codes), unique=len(codes) == 1
    )


# The trigram index finds substrings of at least 3 characters; shorter ones scan.
SEARCH_MIN_LENGTH = 3
_SEARCH = table(SEARCH_TABLE, literal_column("rowid"))


def _text_matches(session: Session, text: str) -> ColumnElement[bool] | _IdSet:
    """Case-insensitive substring of the title or the description.

    PostgreSQL answers the ILIKE from its trigram indexes. SQLite answers from its FTS5
    trigram table, which folds case for all of Unicode (LIKE folds ASCII only, so a
    query shorter than SEARCH_MIN_LENGTH still matches non-ASCII letters case-sensitively
    there); accents count on both backends.
    """
    if is_sqlite(session) and len(text) >= SEARCH_MIN_LENGTH:
        # One FTS5 string: every character literal (a double quote is written twice),
        # matched as a run of trigrams, that is as a substring of one column.
        phrase = '"' + text.replace('"', '""') + '"'
        rowid = _SEARCH.c.rowid
        query = select(rowid.label("initiative_id")).where(
            literal_column(SEARCH_TABLE).match(phrase)
        )
        return _IdSet(query, rowid, repeats=False, probe=False)
    return or_(
        Initiative.title.icontains(text, autoescape=True),
        Initiative.description.icontains(text, autoescape=True),
    )


def _filter_conditions(session: Session, filters: InitiativeFilters) -> _Conditions:
    conditions = _Conditions([], [])

    def add(condition: ColumnElement[bool] | _IdSet) -> None:
        if isinstance(condition, _IdSet):
            conditions.sets.append(condition)
        else:
            conditions.rows.append(condition)

    if filters.partner:
        add(Initiative.partner_code.in_([p.upper() for p in filters.partner]))
    if filters.kind:
        add(Initiative.kind.in_(filters.kind))
    if filters.status:
        add(Initiative.status.in_(filters.status))
    if filters.publication != "all":
        add(Initiative.publication_status == filters.publication)
    for model, column, values in (
        (InitiativeDomain, InitiativeDomain.domain_code, filters.domain),
        (InitiativePriority, InitiativePriority.priority_code, filters.priority),
        (InitiativeCountry, InitiativeCountry.country_iso3, filters.country),
    ):
        if values:
            codes = sorted({v.strip().upper() for v in values})
            add(_linked(model, column.in_(codes), unique=len(codes) == 1))
    if filters.region:
        add(_in_regions(sorted(set(filters.region))))
    if filters.process:
        add(_in_processes(sorted({p.upper() for p in filters.process})))
    if filters.funder:
        wanted = {f.strip().upper(): f.strip() for f in filters.funder if f.strip()}
        codes = set(session.scalars(select(Partner.code).where(Partner.code.in_(wanted))))
        # A partner code matches the funders linked to that partner (an index lookup);
        # anything else is looked for inside the funder names as written.
        matches = [InitiativeFunder.partner_code.in_(codes)] if codes else []
        matches += [
            InitiativeFunder.name.icontains(text, autoescape=True)
            for code, text in wanted.items()
            if code not in codes
        ]
        add(_linked(InitiativeFunder, or_(*matches), unique=False))
    if filters.active_from is not None:
        add(or_(Initiative.end_date.is_(None), Initiative.end_date >= filters.active_from))
    if filters.active_to is not None:
        add(Initiative.start_date <= filters.active_to)
    if filters.q and filters.q.strip():
        add(_text_matches(session, filters.q.strip()))
    return conditions


def _visibility_conditions(visibility: Visibility) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if visibility.partner_code is not None:
        where.append(Initiative.partner_code == visibility.partner_code)
    if visibility.published_only:
        where.append(Initiative.publication_status == "published")
    return where


SORT_COLUMNS: dict[str, Any] = {
    "ref": Initiative.id,
    "title": Initiative.title,
    "start_date": Initiative.start_date,
    "end_date": Initiative.end_date,
    "budget_eur": Initiative.budget_eur,
    "updated_at": Initiative.updated_at,
    "status": Initiative.status,
    "kind": Initiative.kind,
    "partner": Initiative.partner_code,
}


def _order_by(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in SORT_COLUMNS:
        raise InvalidInput(
            f"cannot sort by {key!r}",
            issues=[
                {
                    "field": "sort",
                    "code": "unknown_code",
                    "message": f"sort by one of {', '.join(SORT_COLUMNS)} (prefix - for "
                    "descending)",
                }
            ],
        )
    column = SORT_COLUMNS[key]
    if key == "ref":
        return [column.desc() if descending else column.asc()]
    # NULLs last either way (written as NULLS LAST, which an index can serve, unlike a
    # computed "IS NULL" key), and the id breaks ties so that pages never overlap.
    if descending:
        return [column.desc().nulls_last(), Initiative.id.desc()]
    return [column.asc().nulls_last(), Initiative.id.asc()]


def filtered_ids(
    session: Session, filters: InitiativeFilters, visibility: Visibility, *, sort: str = "ref"
) -> Select[Any]:
    """SELECT of the ids matching `filters` that `visibility` allows, in `sort` order."""
    conditions = _filter_conditions(session, filters)
    conditions.rows += _visibility_conditions(visibility)
    return select(Initiative.id).where(*conditions.where()).order_by(*_order_by(sort))


# Matches from which a page probes its id sets (EXISTS) rather than listing them (IN).
PROBE_FROM = 5000


def list_initiatives(
    session: Session,
    *,
    filters: InitiativeFilters,
    visibility: Visibility,
    sort: str = "ref",
    page: int = 1,
    size: int = 50,
) -> tuple[int, list[InitiativeRead]]:
    """(total matching, the initiatives of page `page` of `size`)."""
    conditions = _filter_conditions(session, filters)
    conditions.rows += _visibility_conditions(visibility)
    order = _order_by(sort)
    offset = (page - 1) * size
    if conditions.sets and not conditions.rows:
        # Only id-set filters: count and (in ref order) page from their indexes alone,
        # never touching the initiative rows (every id in a set has its initiative).
        matching = conditions.ids().subquery()
        total = session.scalar(select(func.count()).select_from(matching)) or 0
        if sort in ("ref", "-ref"):
            key = matching.c.initiative_id
            ids = list(
                session.scalars(
                    select(key)
                    .order_by(key.desc() if sort == "-ref" else key)
                    .limit(size)
                    .offset(offset)
                )
            )
            return total, read_initiatives(session, ids=ids)
    else:
        where = conditions.where()
        total = session.scalar(select(func.count()).select_from(Initiative).where(*where)) or 0
    # Many matches: walking the sort index and probing each initiative finds a page sooner
    # than reading and sorting them all (with few, the IN lists are cheaper).
    probe = total >= PROBE_FROM
    ids = list(
        session.scalars(
            select(Initiative.id)
            .where(*conditions.where(probe=probe))
            .order_by(*order)
            .limit(size)
            .offset(offset)
        )
    )
    return total, read_initiatives(session, ids=ids)


def read_initiatives(session: Session, *, ids: Sequence[int]) -> list[InitiativeRead]:
    """Initiatives as the API shows them, in the order of `ids`."""
    if not ids:
        return []
    stored = load_records(session, ids=ids)
    result = []
    for initiative_id in ids:
        item = stored.get(initiative_id)
        if item is None:
            continue
        values = {key: getattr(item.record, key) for key in RECORD_FIELDS}
        result.append(
            InitiativeRead(
                **values,
                **item.details,
                ref=item.ref,
                partner_code=item.partner_code,
                revision=item.revision,
                publication_status=item.publication_status,
                funder_partner_codes=item.funder_partner_codes,
            )
        )
    return result


def list_revisions(session: Session, *, initiative_id: int) -> list[RevisionRead]:
    """Every revision of an initiative, newest first, with who made it and the changes."""
    rows = session.execute(
        select(InitiativeRevision, User.name)
        .outerjoin(User, User.id == InitiativeRevision.changed_by_id)
        .where(InitiativeRevision.initiative_id == initiative_id)
        .order_by(InitiativeRevision.number.desc(), InitiativeRevision.id.desc())
    ).all()
    return [
        RevisionRead(
            number=revision.number,
            changed_at=revision.changed_at,
            changed_by_id=revision.changed_by_id,
            changed_by=name,
            submission_id=revision.submission_id,
            changes=[
                FieldChange(field=key, old=old, new=new)
                for key, (old, new) in revision.changes.items()
            ],
        )
        for revision, name in rows
    ]


def _invalid(issues: list[RuleIssue], *, lang: str) -> InvalidInput:
    return InvalidInput(
        f"{len(issues)} problem(s) in the initiative; nothing was saved",
        issues=_issue_dicts(issues, lang=lang),
    )


def create_initiative(
    session: Session, *, payload: Any, user: User, lang: str = "en"
) -> InitiativeRead:
    """Create one initiative from a JSON body; InvalidInput lists every problem at once."""
    partner_code, record, type_issues = parse_create(payload)
    if type_issues:
        snapshot = reference_service.load_snapshot(session)
        unparsed = {i.field for i in type_issues}
        rule_issues = [
            i
            for i in check_record(normalize_record(record), snapshot, is_new=True)
            if i.severity == "error" and i.field not in unparsed
        ]
        if partner_code and partner_code not in snapshot.partners:
            rule_issues.append(make_issue("partner_code", "unknown_partner", value=partner_code))
        raise _invalid(type_issues + rule_issues, lang=lang)
    try:
        (initiative_id,) = create_initiatives(
            session, [(partner_code, record)], user_id=user.id, lang=lang
        )
    except InvalidInput as exc:
        for issue in exc.issues:
            issue.pop("item", None)
        raise
    return read_initiatives(session, ids=[initiative_id])[0]


def update_initiative(
    session: Session, *, initiative: Initiative, payload: Any, user: User, lang: str = "en"
) -> InitiativeRead:
    """Apply a partial JSON body to one initiative at the revision it names."""
    current = load_records(session, ids=[initiative.id])[initiative.id]
    revision, record, type_issues = parse_update(payload, current.record)
    if type_issues:
        snapshot = reference_service.load_snapshot(session)
        unparsed = {i.field for i in type_issues}
        rule_issues = [
            i
            for i in check_record(normalize_record(record), snapshot, is_new=False)
            if i.severity == "error" and i.field not in unparsed
        ]
        raise _invalid(type_issues + rule_issues, lang=lang)
    assert revision is not None  # a missing revision is a type issue
    try:
        update_initiatives(session, [(initiative.id, revision, record)], user_id=user.id, lang=lang)
    except InvalidInput as exc:
        for issue in exc.issues:
            issue.pop("item", None)
            issue.pop("ref", None)
        raise
    return read_initiatives(session, ids=[initiative.id])[0]


EXPORT_COLUMNS = (
    "ref",
    "partner_code",
    "publication_status",
    "revision",
    *RECORD_FIELDS,
    "budget_eur",
    "eur_rate",
    "eur_rate_date",
    "source",
    "created_at",
    "updated_at",
)
EXPORT_CHUNK = 1000


def export_rows(
    session: Session,
    *,
    filters: InitiativeFilters,
    visibility: Visibility | None = None,
    sort: str = "ref",
) -> Iterator[list[Any]]:
    """Rows of EXPORT_COLUMNS for every matching initiative, read a chunk at a time."""
    query = filtered_ids(session, filters, visibility or Visibility(), sort=sort)
    ids = list(session.scalars(query))
    for start in range(0, len(ids), EXPORT_CHUNK):
        for item in read_initiatives(session, ids=ids[start : start + EXPORT_CHUNK]):
            values = item.model_dump()
            yield [values[column] for column in EXPORT_COLUMNS]
