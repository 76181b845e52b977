"""Every domain's ORM models in one import, for Alembic and tests."""

from jvap.accounts.models import ApiToken, AuditEvent, User
from jvap.campaigns.models import Assignment, Campaign, CampaignProcess, Submission
from jvap.db import Base
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
    "InitiativeRevision",
    "InitiativeTargetGroup",
    "Partner",
    "Priority",
    "Process",
    "ProcessMembership",
    "ReferenceListVersion",
    "Region",
    "Submission",
    "User",
]
