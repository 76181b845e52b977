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
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

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
    if session.get_bind().dialect.name == "postgresql":
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


def _rows(session: Session, query: Any) -> list[Any]:
    # Core execution: plain tuples, no ORM row handling.
    return list(session.connection().execute(query).all())


def _utc_text(session: Session, column: Any) -> Any:
    """A timestamp as UTC ISO text: parsed in bulk, that beats per-value datetime objects."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String)  # already the UTC wall clock as text
    # An explicit format: the text form of a timestamp follows the DateStyle setting.
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US')


def _timestamps(values: list[Any]) -> np.ndarray:
    """datetime64[us] UTC from ISO text."""
    if not values:
        return np.array([], dtype="datetime64[us]")
    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def _load_initiatives(session: Session, _snapshot: Snapshot) -> Initiatives:
    rows = _rows(
        session,
        select(
            Initiative.id,
            Initiative.partner_code,
            Initiative.kind,
            Initiative.status,
            cast(func.extract("year", Initiative.start_date), Integer),
            cast(Initiative.budget_eur, Float),
            Initiative.publication_status,
            _utc_text(session, Initiative.created_at),
        ).order_by(Initiative.id),
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    ids, partners, kinds, statuses, years, budgets, publication, created_at = columns
    return Initiatives(
        ids=np.asarray(ids, dtype=np.int64),
        partner=_codes(partners),
        kind=_codes(kinds),
        status=_codes(statuses),
        start_year=np.asarray([-1 if y is None else y for y in years], dtype=np.int64),
        budget_eur=np.asarray([np.nan if b is None else b for b in budgets], dtype=np.float64),
        publication=_codes(publication),
        created_at=_timestamps(list(created_at)),
    )


def _links(session: Session, snapshot: Snapshot, query: Any) -> Links:
    initiatives: Initiatives = snapshot.part(session, "initiatives")
    rows = _rows(session, query)
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    return Links(initiative=initiatives.index(ids), key=_codes([r[1] for r in rows]))


def _load_countries(session: Session, snapshot: Snapshot) -> Links:
    return _links(
        session,
        snapshot,
        select(InitiativeCountry.initiative_id, InitiativeCountry.country_iso3),
    )


def _load_domains(session: Session, snapshot: Snapshot) -> Links:
    return _links(
        session, snapshot, select(InitiativeDomain.initiative_id, InitiativeDomain.domain_code)
    )


def _load_priorities(session: Session, snapshot: Snapshot) -> Links:
    return _links(
        session,
        snapshot,
        select(InitiativePriority.initiative_id, InitiativePriority.priority_code),
    )


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
    rows = _rows(
        session,
        select(
            InitiativeRevision.initiative_id,
            InitiativeRevision.number,
            _utc_text(session, InitiativeRevision.changed_at),
            case((status_to == "completed", 1), else_=0),
        ),
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 4
    ids, numbers, changed_at, completed = columns
    return Revisions(
        initiative=initiatives.index(ids),
        number=np.asarray(numbers, dtype=np.int64),
        changed_at=_timestamps(list(changed_at)),
        to_completed=np.asarray(completed, dtype=bool),
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
    "countries": _load_countries,
    "domains": _load_domains,
    "priorities": _load_priorities,
    "funders": _load_funders,
    "revisions": _load_revisions,
    "reference": _load_reference,
}
