"""Per-process columnar copy of the registry for summaries, valid while registry_version holds."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Select,
    String,
    Text,
    case,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from jvap.db import has_written, is_postgresql, is_sqlite
from jvap.initiatives.models import (
    Initiative,
    InitiativeCountry,
    InitiativeDomain,
    InitiativeFunder,
    InitiativePriority,
    InitiativeRevision,
)
from jvap.kit.memory import paused_gc
from jvap.reference import service as reference_service
from jvap.reference.models import Country, Partner, Priority, ProcessMembership
from jvap.reports.models import CHANGE_LOG, RegistryVersion

T = TypeVar("T")
Version = tuple[int, int, int]
# Reads before giving up when writers keep committing between this call's statements.
ATTEMPTS = 5
# Past this share of the initiatives written since the previous snapshot, reading
# everything again costs less than patching.
PATCH_SHARE = 0.25
# A part that more than this many snapshots in a row passed on unread is read afresh.
BASE_AGE_LIMIT = 4
# Initiatives written in more runs of consecutive ids than this are found by a patch
# through the change log rather than by id ranges spelled out in its statement.
MAX_ID_RUNS = 16


class StaleSnapshot(Exception):
    """A commit changed the registry while a part was being read; start again."""


@dataclass(frozen=True, slots=True)
class Codes:
    """Strings coded as integers: codes[i] indexes values."""

    codes: np.ndarray
    values: np.ndarray  # object array of the distinct strings

    def code_of(self, value: str | None) -> int:
        """The code of `value`, or -1 when no row has it."""
        hits = np.flatnonzero(self.values == value) if value is not None else []
        return int(hits[0]) if len(hits) else -1


def _codes(values: Any) -> Codes:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return Codes(codes=codes.astype(np.int64), values=np.asarray(uniques, dtype=object))


@dataclass(frozen=True, slots=True)
class Initiatives:
    """One entry per initiative, ids ascending."""

    ids: np.ndarray
    partner: Codes
    kind: Codes
    status: Codes
    start_year: np.ndarray  # int, -1 when the start date is unknown
    budget_eur: np.ndarray  # float, NaN when unknown
    publication: Codes
    created_at: np.ndarray  # datetime64[us], UTC

    def index(self, initiative_ids: Any) -> np.ndarray:
        return np.searchsorted(self.ids, np.asarray(initiative_ids, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class Links:
    """(initiative index, key code) pairs of one link table."""

    initiative: np.ndarray
    key: Codes


@dataclass(frozen=True, slots=True)
class Revisions:
    initiative: np.ndarray
    number: np.ndarray
    changed_at: np.ndarray  # datetime64[us], UTC
    to_completed: np.ndarray  # bool: the revision set the status to completed


@dataclass(frozen=True, slots=True)
class Reference:
    """The reference mappings the breakdowns need."""

    country_region: dict[str, str | None]
    partner_country: dict[str, str | None]
    priority_domain: dict[str, str]
    members: dict[str, set[str]]  # process -> partners that are current members


@dataclass(frozen=True, slots=True)
class Base:
    """A part as read at registry counter `counter`, and the initiatives part its initiative
    indexes point into (None when that was not read)."""

    value: Any
    initiatives: Initiatives | None
    counter: int
    # How many snapshots have passed it on unread (see _bases).
    age: int = 0


@dataclass(frozen=True, slots=True)
class Patch:
    """What a part is patched from: its base, and per table the sorted ids of the
    initiatives written there since the base's counter."""

    old: Any
    initiatives: Initiatives
    since: int
    touched: dict[str, np.ndarray]

    def ids(self, table_name: str) -> np.ndarray:
        return self.touched.get(table_name, _NO_IDS)


_NO_IDS = np.array([], dtype=np.int64)


@dataclass(slots=True)
class Snapshot:
    """The registry at one version; parts are read on first use and kept.

    A snapshot that follows a committed one patches that one's parts, or for a part it did
    not read the one it was patched from in turn, with the initiatives written since (the
    change log) instead of reading every row again.
    """

    version: Version | None
    parts: dict[str, Any] = field(default_factory=dict)
    # Whether `version` is a committed state, so that a later snapshot may patch this one.
    committed: bool = False
    # What each part is patched from: the previous snapshot's parts, and the parts it did
    # not read but had a base for itself (each with the counter it was read at).
    previous: dict[str, Base] = field(default_factory=dict)
    previous_counter: int = 0
    # Per base counter: the initiative ids written since, per table, or None to read parts
    # afresh; worked out once per counter, by the first part that needs it.
    touched_since: dict[int, dict[str, np.ndarray] | None] = field(default_factory=dict)

    @property
    def touched(self) -> dict[str, np.ndarray] | None:
        """What was written since the previous snapshot, once a part has worked it out."""
        return self.touched_since.get(self.previous_counter)

    @property
    def touched_known(self) -> bool:
        return self.previous_counter in self.touched_since

    def part(self, session: Session, name: str) -> Any:
        found = self.parts.get(name)
        if found is not None:
            return found
        # Hundreds of thousands of short-lived row tuples: no cyclic collections meanwhile.
        with paused_gc():
            # Held here: the attribute is emptied once every part is patched, maybe by
            # another thread meanwhile.
            base = self.previous.get(name)
            touched = self._touched(session, base) if base is not None else None
            if base is not None and base.initiatives is not None and touched is not None:
                patch = Patch(base.value, base.initiatives, base.counter, touched)
                value = _PATCHERS[name](session, self, patch)
            else:
                value = _LOADERS[name](session, self)
        # The part is the state at self.version only if no commit came in between (each
        # statement may see a newer snapshot under READ COMMITTED).
        if self.version is not None and read_version(session) != self.version:
            raise StaleSnapshot
        self.parts[name] = value
        if self.previous and self.previous.keys() <= self.parts.keys():
            self.previous = {}  # every part has its own: let the old arrays go
        return value

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value computed from parts, kept with them."""
        found = self.parts.get(name)
        if found is None:
            found = self.parts[name] = build()
        return found  # type: ignore[no-any-return]

    def _touched(self, session: Session, base: Base) -> dict[str, np.ndarray] | None:
        if base.counter not in self.touched_since:
            self.touched_since[base.counter] = _touched_since(
                session, base.initiatives, base.counter
            )
        return self.touched_since[base.counter]


def read_version(session: Session) -> Version | None:
    """(counter, token, stamp): stamp is this transaction's latest write (PostgreSQL only)."""
    stamp: Any = literal(0)
    if is_postgresql(session):
        # Set per write statement, local to the writing transaction (see the migration).
        setting = func.current_setting("jvap.registry_stamp", True)
        stamp = cast(func.coalesce(func.nullif(setting, ""), "0"), BigInteger)
    row = session.execute(
        select(RegistryVersion.counter, RegistryVersion.token, stamp).where(RegistryVersion.id == 1)
    ).first()
    return (int(row[0]), int(row[1]), int(row[2])) if row is not None else None


_cache: dict[str, Snapshot] = {}
_cache_lock = threading.Lock()


def current(session: Session) -> Snapshot:
    """The snapshot for the registry this session sees (its own uncommitted writes included)."""
    version = read_version(session)
    if version is None:
        # No version row (a damaged database): nothing can be shared, read afresh.
        return Snapshot(version=None)
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    with _cache_lock:
        found = _cache.get(key)
        if found is None or found.version != version:
            previous = found if _can_patch_from(found, version) else None
            found = _cache[key] = Snapshot(
                version=version,
                committed=not _has_own_writes(session, version),
                previous=_bases(previous) if previous is not None else {},
                previous_counter=previous.version[0] if previous and previous.version else 0,
            )
        return found


def _bases(previous: Snapshot) -> dict[str, Base]:
    """What the next snapshot patches its parts from: the parts `previous` read, and for the
    others (a summary that needs no funders, say) the bases `previous` had for them, so that
    alternating summaries do not read a part afresh each time."""
    assert previous.version is not None
    # Copied at once: a thread still on the old snapshot may be adding parts.
    parts = dict(previous.parts)
    initiatives = parts.get("initiatives")
    bases = {
        name: Base(part, initiatives, previous.version[0])
        for name, part in parts.items()
        if name in _PATCHERS
    }
    for name, base in dict(previous.previous).items():
        # Each keeps the arrays of an older registry alive: not for ever.
        if name not in bases and base.age < BASE_AGE_LIMIT:
            bases[name] = Base(base.value, base.initiatives, base.counter, base.age + 1)
    return bases


def _can_patch_from(snapshot: Snapshot | None, version: Version) -> bool:
    """Whether `snapshot` is a committed state older than `version` (a session may still
    see an older state than the one cached, and then reads afresh)."""
    return (
        snapshot is not None
        and snapshot.committed
        and snapshot.version is not None
        and snapshot.version[0] < version[0]
    )


def _has_own_writes(session: Session, version: Version) -> bool:
    """Whether the session sees writes of its own, not committed: a state that may never be."""
    if is_sqlite(session):
        return has_written(session)
    return version[2] != 0  # the stamp of this transaction's latest registry write


def run(session: Session, compute: Callable[[Snapshot], T]) -> T:
    """compute(snapshot), started again if a commit lands while parts are being read.

    After ATTEMPTS the parts are read once more without sharing them: under READ COMMITTED
    they may then straddle a commit, as any two SQL statements of one call could.
    """
    for _ in range(ATTEMPTS - 1):
        try:
            return compute(current(session))
        except StaleSnapshot:
            continue
    return compute(Snapshot(version=None))


def warm(session: Session) -> None:
    """Read every part of the current snapshot, so that the next summary finds them."""
    run(session, lambda snap: [snap.part(session, name) for name in _LOADERS])


def clear() -> None:
    """Forget every snapshot (tests, benchmarks of the cold path)."""
    with _cache_lock:
        _cache.clear()


# --- loading ----------------------------------------------------------------------------
#
# Each part comes over as a few long texts, one per column (GROUP_CONCAT / string_agg), not
# as hundreds of thousands of row tuples: building, then unpacking, a tuple per row cost
# three to five times what the database spends reading the rows.

TEXT_SEPARATOR = "\x1f"  # the ASCII unit separator: never part of a code or a timestamp
NUMBER_SEPARATOR = ","


def _rows(session: Session, query: Any) -> list[Any]:
    # Core execution: plain tuples, no ORM row handling.
    return list(session.connection().execute(query).all())


def _column_texts(session: Session, *columns: tuple[Any, str], where: Any = None) -> Any:
    """One row: each (expression, separator) column as one text of all its values, read in
    one statement, so that the columns describe the same rows whatever commits meanwhile.

    Aggregates leave NULLs out: every expression must be non-null for the columns to stay
    aligned.
    """
    texts = [func.aggregate_strings(cast(e, Text), separator) for e, separator in columns]
    query = select(*texts)
    if where is not None:
        query = query.where(where)
    return session.connection().execute(query).one()


def _numbers(text: str | None, dtype: Any) -> np.ndarray:
    if not text:
        return np.array([], dtype=dtype)
    return np.fromstring(text, dtype=dtype, sep=NUMBER_SEPARATOR)


def _texts(text: str | None) -> list[str]:
    return text.split(TEXT_SEPARATOR) if text else []


def _utc_text(session: Session, column: Any) -> Any:
    """A timestamp as UTC ISO text: parsed in bulk, that beats per-value datetime objects."""
    if is_sqlite(session):
        return type_coerce(column, String)  # already the UTC wall clock as text
    # An explicit format: the text form of a timestamp follows the DateStyle setting.
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US')


def _timestamps(values: list[Any]) -> np.ndarray:
    """datetime64[us] UTC from ISO text."""
    if not values:
        return np.array([], dtype="datetime64[us]")
    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def _float_or_nan(session: Session, column: Any) -> Any:
    """An amount as text np.fromstring reads exactly as float() would, 'NaN' when unknown."""
    if is_sqlite(session):
        # A REAL becomes text with 15 significant digits; %.17g keeps every bit.
        text = func.printf("%.17g", cast(column, Float))
        return case((column.is_(None), "NaN"), else_=text)
    return func.coalesce(cast(column, Text), "NaN")  # numeric prints its exact digits


def _start_year(session: Session) -> Any:
    if is_sqlite(session):
        # Dates are ISO text there: the first four characters, without strftime's parsing.
        year = cast(func.substr(type_coerce(Initiative.start_date, String), 1, 4), Integer)
    else:
        year = cast(func.extract("year", Initiative.start_date), Integer)
    return func.coalesce(year, -1)


# --- the change log ---------------------------------------------------------------------

_change_log = table(
    CHANGE_LOG,
    column("table_name"),
    column("initiative_id"),  # SQLite: one row per table and initiative
    column("initiative_ids"),  # PostgreSQL: one row per write statement
    column("counter"),
)


def _touched_query(session: Session, since: int, table_name: str | None = None) -> Any:
    """(table, initiative id) written after counter `since` (id 0: a reference write); only
    the ids, of `table_name`, when it is given."""
    log = _change_log.c
    if is_sqlite(session):
        # The table as an expression, not the bare column: SQLite would otherwise read the
        # primary key (table, initiative), every row ever logged, for its order or its
        # equality, rather than the counter index for the few rows after `since`.
        table = log.table_name.concat("")
        if table_name is None:
            return select(table.label("table_name"), log.initiative_id).where(log.counter > since)
        return select(log.initiative_id).where(log.counter > since, table == table_name)
    # A null counter: written by this transaction, not yet committed. Two selects, not an
    # OR, so that each reads its own index.
    ids = func.unnest(log.initiative_ids)
    selected = [ids] if table_name is not None else [log.table_name, ids]
    named = [log.table_name == table_name] if table_name is not None else []
    return union_all(
        select(*selected).where(log.counter > since, *named),
        select(*selected).where(log.counter.is_(None), *named),
    )


def _touched_since(
    session: Session, initiatives: Initiatives | None, since: int
) -> dict[str, np.ndarray] | None:
    """Per table, the sorted ids written there after counter `since`; None when patching
    parts read then (with `initiatives`) is not possible (a reference write, a pruned log)
    or costs more than reading afresh."""
    if initiatives is None:
        return None
    floor = (
        session.connection()
        .execute(select(RegistryVersion.change_floor).where(RegistryVersion.id == 1))
        .scalar()
    )
    if floor is None or floor > since:
        return None
    table_name, touched = _touched_query(session, since).subquery().c
    groups = session.connection().execute(
        select(table_name, func.aggregate_strings(cast(touched, Text), NUMBER_SEPARATOR)).group_by(
            table_name
        )
    )
    ids = {name: np.unique(_numbers(joined, np.int64)) for name, joined in groups}
    if not ids:
        return ids
    every = np.unique(np.concatenate(list(ids.values())))
    if every[0] == 0 or len(every) > PATCH_SHARE * len(initiatives.ids) + 100:
        return None
    return ids


def _only(session: Session, patch: Patch, initiative_id: Any) -> Any:
    """The condition that keeps the rows of initiatives written in the table of the
    `initiative_id` column since the patch's base.

    Written initiatives mostly come in runs of consecutive ids (an accepted questionnaire's
    new ones are one run): as ranges, the index reads them in one pass instead of probing
    each id of the change log (15,000 country rows of 5,000 new initiatives, 10 ms on
    PostgreSQL). The ids are those the snapshot worked out: if a commit lands meanwhile,
    the part is thrown away as stale anyway.
    """
    table_name = initiative_id.expression.table.name
    runs = _id_runs(patch.ids(table_name))
    if runs is not None:
        return or_(*(initiative_id.between(first, last) for first, last in runs))
    return initiative_id.in_(_touched_query(session, patch.since, table_name))


def _id_runs(ids: np.ndarray) -> list[tuple[int, int]] | None:
    """The sorted `ids` as (first, last) runs of consecutive ids; None when there are none
    or more than MAX_ID_RUNS."""
    if not len(ids):
        return None
    breaks = np.flatnonzero(np.diff(ids) != 1)
    if len(breaks) >= MAX_ID_RUNS:
        return None
    firsts = ids[np.concatenate([[0], breaks + 1])]
    lasts = ids[np.concatenate([breaks, [len(ids) - 1]])]
    return [(int(first), int(last)) for first, last in zip(firsts, lasts, strict=True)]


# --- the parts --------------------------------------------------------------------------


def _load_initiatives(session: Session, _snapshot: Snapshot, where: Any = None) -> Initiatives:
    row = _column_texts(
        session,
        (Initiative.id, NUMBER_SEPARATOR),
        (Initiative.partner_code, TEXT_SEPARATOR),
        (Initiative.kind, TEXT_SEPARATOR),
        (Initiative.status, TEXT_SEPARATOR),
        (_start_year(session), NUMBER_SEPARATOR),
        (_float_or_nan(session, Initiative.budget_eur), NUMBER_SEPARATOR),
        (Initiative.publication_status, TEXT_SEPARATOR),
        (_utc_text(session, Initiative.created_at), TEXT_SEPARATOR),
        where=where,
    )
    ids = _numbers(row[0], np.int64)
    # The aggregates read the rows in one order, not necessarily by id.
    order = np.argsort(ids, kind="stable")

    def by_id(text: str | None) -> np.ndarray:
        return np.asarray(_texts(text), dtype=object)[order]

    return Initiatives(
        ids=ids[order],
        partner=_codes(by_id(row[1])),
        kind=_codes(by_id(row[2])),
        status=_codes(by_id(row[3])),
        start_year=_numbers(row[4], np.int64)[order],
        budget_eur=_numbers(row[5], np.float64)[order],
        publication=_codes(by_id(row[6])),
        created_at=_timestamps(list(by_id(row[7]))),
    )


# Each link part: its (initiative_id, key) select.
_PAIRS: dict[str, Select[Any]] = {
    "countries": select(InitiativeCountry.initiative_id, InitiativeCountry.country_iso3),
    "domains": select(InitiativeDomain.initiative_id, InitiativeDomain.domain_code),
    "priorities": select(InitiativePriority.initiative_id, InitiativePriority.priority_code),
    # (initiative, country) for each funder that is a partner with a country:
    # funded_by_country.
    "funders": select(InitiativeFunder.initiative_id, Partner.country_iso3)
    .join(Partner, Partner.code == InitiativeFunder.partner_code)
    .where(Partner.country_iso3.is_not(None))
    .distinct(),
}


def _read_pairs(session: Session, pairs: Any) -> tuple[np.ndarray, Codes]:
    """(initiative ids, key codes) from an (initiative_id, key) select, read one key at a
    time; the key values sorted, as a patched part has them."""
    initiative_id, key = pairs.subquery().c
    groups = _rows(
        session,
        select(key, func.aggregate_strings(cast(initiative_id, Text), NUMBER_SEPARATOR)).group_by(
            key
        ),
    )
    ids = [_numbers(joined, np.int64) for _key, joined in groups]
    counts = [len(part) for part in ids]
    key_codes = Codes(
        codes=np.repeat(np.arange(len(groups), dtype=np.int64), counts),
        values=np.asarray([key for key, _joined in groups], dtype=object),
    )
    return np.concatenate(ids) if ids else np.array([], np.int64), _sorted_keys(key_codes)


def _link_loader(name: str) -> Callable[[Session, Snapshot], Links]:
    def load(session: Session, snapshot: Snapshot) -> Links:
        initiatives: Initiatives = snapshot.part(session, "initiatives")
        ids, key = _read_pairs(session, _PAIRS[name])
        return Links(initiative=initiatives.index(ids), key=key)

    return load


def _load_revisions(session: Session, snapshot: Snapshot) -> Revisions:
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    return _revision_rows(session, None, initiatives.index)


def _revision_rows(session: Session, where: Any, index: Callable[[Any], np.ndarray]) -> Revisions:
    """Revisions whose `initiative` is index(initiative id)."""
    status_to = InitiativeRevision.changes[("status", 1)].as_string()
    completed = case((status_to == "completed", 1), else_=0)
    row = _column_texts(
        session,
        (InitiativeRevision.initiative_id, NUMBER_SEPARATOR),
        (InitiativeRevision.number, NUMBER_SEPARATOR),
        (_utc_text(session, InitiativeRevision.changed_at), TEXT_SEPARATOR),
        (completed, NUMBER_SEPARATOR),
        where=where,
    )
    return Revisions(
        initiative=index(_numbers(row[0], np.int64)),
        number=_numbers(row[1], np.int64),
        changed_at=_timestamps(_texts(row[2])),
        to_completed=_numbers(row[3], np.int64).astype(bool),
    )


def _load_reference(session: Session, _snapshot: Snapshot) -> Reference:
    members: dict[str, set[str]] = {}
    for process, partner in _rows(
        session,
        select(ProcessMembership.process_code, ProcessMembership.partner_code).where(
            ProcessMembership.status.in_(reference_service.CURRENT_STATUSES)
        ),
    ):
        members.setdefault(process, set()).add(partner)
    return Reference(
        country_region=dict(_rows(session, select(Country.iso3, Country.region_code))),
        partner_country=dict(_rows(session, select(Partner.code, Partner.country_iso3))),
        priority_domain=dict(_rows(session, select(Priority.code, Priority.domain_code))),
        members=members,
    )


_LOADERS: dict[str, Callable[[Session, Snapshot], Any]] = {
    "initiatives": _load_initiatives,
    **{name: _link_loader(name) for name in _PAIRS},
    "revisions": _load_revisions,
    "reference": _load_reference,
}


# --- patching: the previous snapshot's rows of untouched initiatives, then the touched ones
# read afresh. Initiatives stay sorted by id and link key values sorted, as the loaders
# leave them; link and revision rows are in no particular order.


def _merged_codes(old: Codes, kept: np.ndarray, new: Codes) -> Codes:
    """old.codes[kept] followed by new's rows, coded against old's values plus any new ones."""
    values = list(old.values)
    position = {value: code for code, value in enumerate(values)}
    remap = np.empty(len(new.values) + 1, dtype=np.int64)
    remap[-1] = -1  # a null stays null
    for code, value in enumerate(new.values):
        if value not in position:
            position[value] = len(values)
            values.append(value)
        remap[code] = position[value]
    return Codes(
        codes=np.concatenate([old.codes[kept], remap[new.codes]]),
        values=np.asarray(values, dtype=object),
    )


def _sorted_keys(codes: Codes) -> Codes:
    """The same rows with only the values in use, sorted (as a fresh read has them)."""
    used = np.zeros(len(codes.values), dtype=bool)
    used[codes.codes] = True
    kept = np.flatnonzero(used)
    order = kept[np.argsort(codes.values[kept].astype(str), kind="stable")]
    remap = np.empty(len(codes.values), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return Codes(codes=remap[codes.codes], values=codes.values[order])


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each of `ids`' position in `sorted_ids` (where it would go when absent), and whether
    it is there."""
    positions = np.searchsorted(sorted_ids, ids)
    if not len(sorted_ids):
        return positions, np.zeros(len(ids), dtype=bool)
    return positions, sorted_ids[np.minimum(positions, len(sorted_ids) - 1)] == ids


def _is_touched(ids: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """Whether each of `ids` is among the sorted `touched`."""
    return _lookup(touched, ids)[1]


def _patch_initiatives(session: Session, snapshot: Snapshot, patch: Patch) -> Initiatives:
    old: Initiatives = patch.old
    touched = patch.ids(Initiative.__tablename__)
    if not len(touched):
        return old  # only their links or revisions were written
    new = _load_initiatives(session, snapshot, _only(session, patch, Initiative.id))
    kept = ~_is_touched(old.ids, touched)
    ids = np.concatenate([old.ids[kept], new.ids])
    order = np.argsort(ids, kind="stable")

    def codes(old_codes: Codes, new_codes: Codes) -> Codes:
        merged = _merged_codes(old_codes, kept, new_codes)
        return Codes(codes=merged.codes[order], values=merged.values)

    def column(old_values: np.ndarray, new_values: np.ndarray) -> np.ndarray:
        return np.concatenate([old_values[kept], new_values])[order]

    return Initiatives(
        ids=ids[order],
        partner=codes(old.partner, new.partner),
        kind=codes(old.kind, new.kind),
        status=codes(old.status, new.status),
        start_year=column(old.start_year, new.start_year),
        budget_eur=column(old.budget_eur, new.budget_eur),
        publication=codes(old.publication, new.publication),
        created_at=column(old.created_at, new.created_at),
    )


def _carried(
    session: Session, snapshot: Snapshot, patch: Patch, indexes: np.ndarray, table_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Of the previous snapshot's rows of `table_name`, by initiative index: which to keep
    (their initiative is still there and had no rows written in that table) and, for those,
    the initiative's index in this snapshot. The new indexes come from one lookup per
    initiative, shared by the parts, then a gather."""
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    previous = patch.initiatives
    # Per base counter: bases passed on from older snapshots point into older initiatives.
    moved, present = snapshot.derived(
        f"renumbered {patch.since}", lambda: _renumbered(previous, initiatives)
    )
    # Looked up once per initiative, then gathered: rows outnumber initiatives.
    written = _is_touched(previous.ids, patch.ids(table_name))
    kept = (present & ~written)[indexes]
    return kept, moved[indexes[kept]]


def _renumbered(previous: Initiatives, current: Initiatives) -> tuple[np.ndarray, np.ndarray]:
    """Each previous initiative's index in `current`, and whether it is still there (a
    deleted initiative's links and revisions go with it, logged or not)."""
    return _lookup(current.ids, previous.ids)


def _link_patcher(name: str) -> Callable[[Session, Snapshot, Patch], Links]:
    def patch_links(session: Session, snapshot: Snapshot, patch: Patch) -> Links:
        old: Links = patch.old
        initiatives: Initiatives = snapshot.part(session, "initiatives")
        pairs = _PAIRS[name]
        initiative_id = pairs.selected_columns[0]
        table_name = initiative_id.table.name
        written = len(patch.ids(table_name))
        if not written and initiatives is patch.initiatives:
            return old  # neither these links nor the initiatives they point at changed
        new_ids, new_key = _NO_IDS, Codes(_NO_IDS, np.array([], dtype=object))
        if written:
            # Inside the pairs' select: SQLite would otherwise build all of a DISTINCT first.
            new_ids, new_key = _read_pairs(
                session, pairs.where(_only(session, patch, initiative_id))
            )
        kept, carried = _carried(session, snapshot, patch, old.initiative, table_name)
        return Links(
            initiative=np.concatenate([carried, initiatives.index(new_ids)]),
            key=_sorted_keys(_merged_codes(old.key, kept, new_key)),
        )

    return patch_links


def _patch_revisions(session: Session, snapshot: Snapshot, patch: Patch) -> Revisions:
    old: Revisions = patch.old
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    table_name = InitiativeRevision.__tablename__
    written = len(patch.ids(table_name))
    if not written and initiatives is patch.initiatives:
        return old
    # None written here (only the initiatives moved): nothing to read.
    new = (
        _revision_rows(
            session, _only(session, patch, InitiativeRevision.initiative_id), initiatives.index
        )
        if written
        else _NO_REVISIONS
    )
    kept, carried = _carried(session, snapshot, patch, old.initiative, table_name)
    return Revisions(
        initiative=np.concatenate([carried, new.initiative]),
        number=np.concatenate([old.number[kept], new.number]),
        changed_at=np.concatenate([old.changed_at[kept], new.changed_at]),
        to_completed=np.concatenate([old.to_completed[kept], new.to_completed]),
    )


_NO_REVISIONS = Revisions(
    initiative=_NO_IDS,
    number=_NO_IDS,
    changed_at=np.array([], dtype="datetime64[us]"),
    to_completed=np.array([], dtype=bool),
)


def _keep_reference(_session: Session, _snapshot: Snapshot, patch: Patch) -> Reference:
    # A reference write logs "anything", which reads every part afresh.
    return patch.old


_PATCHERS: dict[str, Callable[[Session, Snapshot, Patch], Any]] = {
    "initiatives": _patch_initiatives,
    **{name: _link_patcher(name) for name in _PAIRS},
    "revisions": _patch_revisions,
    "reference": _keep_reference,
}
