"""The registry version: one row that database triggers change on every registry write."""

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from jvap.db import Base

# Tables whose content the summaries read; a trigger on each changes registry_version
# (migration 2026_11_23_5e1f0a9c7b21). Tests check that a write to each one does.
WATCHED_TABLES = (
    "initiative",
    "initiative_country",
    "initiative_domain",
    "initiative_priority",
    "initiative_funder",
    "initiative_revision",
    "country",
    "partner",
    "priority",
    "process_membership",
)


class RegistryVersion(Base):
    """(counter, token) of the registry as this transaction sees it.

    A write to a watched table sets counter + 1 and a fresh token in the same transaction
    (SQLite: every row written; PostgreSQL: at commit, by the deferred trigger of the
    transaction's registry_pending row, again if constraints fired early, and at once for a
    TRUNCATE; each write statement also stamps a transaction-local setting that
    snapshot.read_version reads, so a transaction sees its own writes before then).
    Committed states never share a counter (commits serialise on this row, only while
    committing), and a rolled-back state that reused a counter still differs by its token
    (a sequence value on PostgreSQL, never handed out twice; a 64-bit random on SQLite).
    """

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    # The change log may have lost the entries of counters up to this one (PostgreSQL prunes
    # it; SQLite keeps one entry per table and initiative and never does; a migration that
    # changes the log's shape starts it afresh from the current counter).
    change_floor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# Which initiatives each registry version touched, in which table (migrations
# 2026_11_24_b7e5d2c94f18 and f2b9d4e6a8c1): one row per table and initiative on SQLite, one
# per write statement on PostgreSQL, so it has no model and alembic check leaves it out.
# Initiative id 0 stands for "anything".
CHANGE_LOG = "registry_change"
# PostgreSQL only: one row per writing transaction until its commit bumps the counter
# (migration 2026_11_24_d4a7c3e1b920).
PENDING_BUMPS = "registry_pending"
DATABASE_ONLY_TABLES = frozenset({CHANGE_LOG, PENDING_BUMPS})
