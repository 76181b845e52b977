"""FastAPI dependencies that identify the caller and check its role."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jvap.accounts import service
from jvap.accounts.models import User
from jvap.db import SessionDep
from jvap.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="API token from `jvap users token`")


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    return service.authenticate_token(session, token=credentials.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """Dependency factory: the current user, if its role is one of `roles`."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")
        return user

    return check
