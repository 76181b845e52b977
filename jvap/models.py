"""Every domain's ORM models in one import, for Alembic and tests."""

from collections.abc import Callable

from sqlalchemy import ForeignKeyConstraint

from jvap.accounts.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    SignInAttempt,
    User,
    UserSession,
)
from jvap.campaigns.models import Assignment, Campaign, CampaignProcess, Submission
from jvap.db import Base
from jvap.initiatives.models import (
    STATEMENT_CHECKED_KEYS,
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
    is_database_only,
)
from jvap.reference.models import (
    Country,
    Domain,
    Partner,
    Priority,
    Process,
    ProcessMembership,
    ReferenceListVersion,
    Region,
)
from jvap.reports.models import DATABASE_ONLY_TABLES, RegistryVersion

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignProcess",
    "Country",
    "Domain",
    "Initiative",
    "InitiativeCountry",
    "InitiativeDomain",
    "InitiativeExternalId",
    "InitiativeFunder",
    "InitiativeImplementer",
    "InitiativePriority",
    "InitiativeProcess",
    "InitiativeRegion",
    "InitiativeRevision",
    "InitiativeTargetGroup",
    "Invitation",
    "Partner",
    "Priority",
    "Process",
    "ProcessMembership",
    "ReferenceListVersion",
    "Region",
    "RegistryVersion",
    "SignInAttempt",
    "Submission",
    "User",
    "UserSession",
]


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's filter for comparing the models with a database: skips the search
    structures and the registry's change-tracking tables, whose shape differs per backend
    (created by migrations, not described by models)."""
    if type_ == "table" and name in DATABASE_ONLY_TABLES:
        return False
    return not is_database_only(name, type_)


def include_object_for(backend: str) -> Callable[[object, str | None, str, bool, object], bool]:
    """Alembic's object filter for comparing the models with a `backend` database: on
    PostgreSQL, the foreign keys that statement triggers check instead are not missing."""

    def include_object(
        item: object, _name: str | None, type_: str, reflected: bool, _compare_to: object
    ) -> bool:
        if backend != "postgresql" or type_ != "foreign_key_constraint" or reflected:
            return True
        assert isinstance(item, ForeignKeyConstraint)
        return not all(
            (item.table.name, column) in STATEMENT_CHECKED_KEYS for column in item.column_keys
        )

    return include_object
