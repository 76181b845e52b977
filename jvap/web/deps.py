"""Page dependencies: the signed-in user (from the accounts layer), its role and the language."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from jvap.accounts.deps import CurrentUser, require_roles
from jvap.accounts.models import User
from jvap.web import i18n

STAFF = ("admin", "analyst")
READERS = ("admin", "analyst", "manager")
PARTNER_PAGES = ("admin", "analyst", "focal_point", "contributor")


def _remember(request: Request, user: User) -> User:
    """Make the user and its language available to the templates of this request."""
    request.state.user = user
    request.state.lang = i18n.negotiate(
        cookie=request.cookies.get(i18n.LANGUAGE_COOKIE),
        user_language=user.language,
        accept_language=request.headers.get("accept-language"),
    )
    return user


def page_user(request: Request, user: CurrentUser) -> User:
    return _remember(request, user)


PageUser = Annotated[User, Depends(page_user)]


def page_roles(*roles: str) -> Callable[..., User]:
    """The signed-in user if its role is one of `roles` (the accounts layer decides)."""
    allowed = require_roles(*roles)

    # PageUser first, so that a refusal page still knows who is asking and in which language.
    def check(user: PageUser, _checked: Annotated[User, Depends(allowed)]) -> User:
        return user

    return check
