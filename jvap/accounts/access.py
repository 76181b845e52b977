"""Who may act for which partner: the partner rules every domain applies to its records."""

from jvap.accounts.models import User
from jvap.errors import Forbidden, NotFound
from jvap.reference.codelists import PARTNER_ROLES

ADMIN = "admin"
ANALYST = "analyst"
MANAGER = "manager"
FOCAL_POINT = "focal_point"
CONTRIBUTOR = "contributor"


def is_partner_bound(user: User) -> bool:
    """Focal points and contributors act only for their own partner."""
    return user.role in PARTNER_ROLES


def may_act_for(user: User, partner_code: str) -> bool:
    return not is_partner_bound(user) or user.partner_code == partner_code


def check_partner(user: User, partner_code: str) -> None:
    """Forbidden when `user` asks for another partner's template, upload or records by name."""
    if not may_act_for(user, partner_code):
        raise Forbidden(f"you act for {user.partner_code}, not for {partner_code}")


def check_visible(user: User, partner_code: str, *, what: str) -> None:
    """NotFound when a record of another partner is reached by id, so ids cannot be probed."""
    if not may_act_for(user, partner_code):
        raise NotFound(f"no {what}")
