"""Use cases for users and API tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jvap.accounts.models import ApiToken, User
from jvap.errors import BadRequest, Conflict, NotFound, Unauthorized
from jvap.reference.codelists import PARTNER_ROLES, ROLES
from jvap.reference.models import Partner

TOKEN_PREFIX = "jvap_"
_hasher = PasswordHasher()


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; passwords get argon2.
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    partner_code: str | None = None,
    password: str | None = None,
    language: str = "en",
) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role in PARTNER_ROLES and not partner_code:
        raise BadRequest(f"a {role} belongs to a partner: give its code")
    if role not in PARTNER_ROLES and partner_code:
        raise BadRequest(f"a {role} does not belong to a partner")
    if partner_code and session.get(Partner, partner_code) is None:
        raise NotFound(f"no partner with code {partner_code!r}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name,
        role=role,
        partner_code=partner_code,
        language=language,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def issue_token(
    session: Session, *, user: User, name: str = "api", ttl_days: int = 90
) -> tuple[ApiToken, str]:
    """Create a token; the plain text is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plain),
        expires_at=datetime.now(UTC) + timedelta(days=ttl_days),
    )
    session.add(token)
    session.flush()
    return token, plain


def authenticate_token(session: Session, *, token: str) -> User:
    """The active user a Bearer token belongs to; Unauthorized when unknown, expired or revoked."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        raise Unauthorized("invalid, expired or revoked token")
    if not row.user.is_active:
        raise Unauthorized("this account is disabled")
    row.last_used_at = now
    return row.user


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
