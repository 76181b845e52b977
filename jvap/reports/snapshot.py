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
    String,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from jvap.db import is_postgresql, is_sqlite
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
from jvap.reports.models import RegistryVersion

T = TypeVar("T")
Version = tuple[int, int, int]
# Reads before giving up when writers keep committing between this call's statements.
ATTEMPTS = 5


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


@dataclass(slots=True)
class Snapshot:
    """The registry at one version; parts are read on first use and kept."""

    version: Version | None
    parts: dict[str, Any] = field(default_factory=dict)

    def part(self, session: Session, name: str) -> Any:
        found = self.parts.get(name)
        if found is not None:
            return found
        # Hundreds of thousands of short-lived row tuples: no cyclic collections meanwhile.
        with paused_gc():
            value = _LOADERS[name](session, self)
        # The part is the state at self.version only if no commit came in between (each
        # statement may see a newer snapshot under READ COMMITTED).
        if self.version is not None and read_version(session) != self.version:
            raise StaleSnapshot
        self.parts[name] = value
        return value

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value computed from parts, kept with them."""
        found = self.parts.get(name)
        if found is None:
            found = self.parts[name] = build()
        return found  # type: ignore[no-any-return]


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
            found = _cache[key] = Snapshot(version=version)
        return found


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


def _column_texts(session: Session, *columns: tuple[Any, str]) -> Any:
    """One row: each (expression, separator) column as one text of all its values, read in
    one statement, so that the columns describe the same rows whatever commits meanwhile.

    Aggregates leave NULLs out: every expression must be non-null for the columns to stay
    aligned.
    """
    texts = [func.aggregate_strings(cast(e, Text), separator) for e, separator in columns]
    return session.connection().execute(select(*texts)).one()


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


def _load_initiatives(session: Session, _snapshot: Snapshot) -> Initiatives:
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


def _links(session: Session, snapshot: Snapshot, pairs: Any) -> Links:
    """Links from `pairs`, an (initiative_id, key) select, read one key at a time."""
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    initiative_id, key = pairs.subquery().c
    groups = _rows(
        session,
        select(key, func.aggregate_strings(cast(initiative_id, Text), NUMBER_SEPARATOR)).group_by(
            key
        ),
    )
    ids = [_numbers(joined, np.int64) for _key, joined in groups]
    counts = [len(part) for part in ids]
    return Links(
        initiative=initiatives.index(np.concatenate(ids) if ids else np.array([], np.int64)),
        key=Codes(
            codes=np.repeat(np.arange(len(groups), dtype=np.int64), counts),
            values=np.asarray([key for key, _joined in groups], dtype=object),
        ),
    )


def _link_table(initiative_id: Any, key: Any) -> Callable[[Session, Snapshot], Links]:
    """The loader of a link table's (initiative, key) pairs."""
    return lambda session, snapshot: _links(session, snapshot, select(initiative_id, key))


def _load_funders(session: Session, snapshot: Snapshot) -> Links:
    """(initiative, country) for each funder that is a partner with a country: funded_by_country."""
    return _links(
        session,
        snapshot,
        select(InitiativeFunder.initiative_id, Partner.country_iso3)
        .join(Partner, Partner.code == InitiativeFunder.partner_code)
        .where(Partner.country_iso3.is_not(None))
        .distinct(),
    )


def _load_revisions(session: Session, snapshot: Snapshot) -> Revisions:
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    status_to = InitiativeRevision.changes[("status", 1)].as_string()
    completed = case((status_to == "completed", 1), else_=0)
    row = _column_texts(
        session,
        (InitiativeRevision.initiative_id, NUMBER_SEPARATOR),
        (InitiativeRevision.number, NUMBER_SEPARATOR),
        (_utc_text(session, InitiativeRevision.changed_at), TEXT_SEPARATOR),
        (completed, NUMBER_SEPARATOR),
    )
    return Revisions(
        initiative=initiatives.index(_numbers(row[0], np.int64)),
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
    "countries": _link_table(InitiativeCountry.initiative_id, InitiativeCountry.country_iso3),
    "domains": _link_table(InitiativeDomain.initiative_id, InitiativeDomain.domain_code),
    "priorities": _link_table(InitiativePriority.initiative_id, InitiativePriority.priority_code),
    "funders": _load_funders,
    "revisions": _load_revisions,
    "reference": _load_reference,
}
