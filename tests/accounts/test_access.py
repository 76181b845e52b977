"""Partner rules, without a database."""

import pytest

from jvap.accounts import access
from jvap.accounts.models import User
from jvap.errors import Forbidden, NotFound


def _user(role: str, partner_code: str | None = None) -> User:
    return User(email="x@y.example", name="X", role=role, partner_code=partner_code)


@pytest.mark.parametrize(
    ("role", "partner", "target", "allowed"),
    [
        ("admin", None, "SEN", True),
        ("analyst", None, "SEN", True),
        ("manager", None, "SEN", True),
        ("focal_point", "SEN", "SEN", True),
        ("focal_point", "SEN", "MLI", False),
        ("contributor", "SEN", "SEN", True),
        ("contributor", "SEN", "MLI", False),
    ],
)
def test_partner_bound_roles_act_only_for_their_partner(
    role: str, partner: str | None, target: str, allowed: bool
) -> None:
    user = _user(role, partner)
    assert access.may_act_for(user, target) is allowed
    if allowed:
        access.check_partner(user, target)
        access.check_visible(user, target, what="submission 1")
    else:
        with pytest.raises(Forbidden):
            access.check_partner(user, target)
        with pytest.raises(NotFound):
            access.check_visible(user, target, what="submission 1")
