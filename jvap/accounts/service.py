"""Use cases for users, API tokens, web sessions, invitations and sign-in."""

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from jvap.accounts import access, lockout
from jvap.accounts.audit import record_event
from jvap.accounts.models import ApiToken, Invitation, SignInAttempt, User, UserSession
from jvap.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from jvap.reference.codelists import PARTNER_ROLES, ROLES
from jvap.reference.models import Partner

TOKEN_PREFIX = "jvap_"
INVITATION_PREFIX = "jvapinv_"
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
SIGN_IN_FAILED = "invalid email or password"
SIGN_IN_LOCKED = "too many failed sign-in attempts; try again later"
# Recording every request would double the writes; one "token.used" event an hour per token
# still shows when and from where a token was used.
TOKEN_USE_AUDIT_INTERVAL = timedelta(hours=1)
# How precise a token's last use is.
TOKEN_USE_RECORD_INTERVAL = timedelta(minutes=1)
ATTEMPT_RETENTION = timedelta(days=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_dummy_hash: str | None = None


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


def check_password_rules(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            "the password does not meet the rules",
            issues=[
                {
                    "field": "password",
                    "code": "password_length",
                    "message": f"use {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
                }
            ],
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Users


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    partner_code: str | None = None,
    password: str | None = None,
    language: str = "en",
    actor: User | None = None,
    ip_address: str | None = None,
) -> User:
    """Create an account; `actor` (None for the command line) is recorded in the audit log."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise BadRequest(f"not an email address: {email!r}")
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
    if password is not None:
        check_password_rules(password)
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
    record_event(
        session,
        action="user.created",
        user=actor,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
        detail={"email": email, "role": role, "partner_code": partner_code},
    )
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def _manageable(actor: User, user: User) -> bool:
    """Admins manage everyone; a focal point manages its own partner's contributors."""
    if actor.role == access.ADMIN:
        return True
    return (
        actor.role == access.FOCAL_POINT
        and user.role == access.CONTRIBUTOR
        and user.partner_code == actor.partner_code
    )


def _visible(actor: User, user: User) -> bool:
    if actor.role == access.ADMIN:
        return True
    return actor.role == access.FOCAL_POINT and user.partner_code == actor.partner_code


def list_users(
    session: Session,
    *,
    actor: User,
    role: str | None = None,
    partner_code: str | None = None,
    active: bool | None = None,
) -> list[User]:
    """Every user for admins; the users of their own partner for focal points."""
    query = select(User).order_by(User.email)
    if actor.role != access.ADMIN:
        query = query.where(User.partner_code == actor.partner_code)
    if role is not None:
        query = query.where(User.role == role)
    if partner_code is not None:
        query = query.where(User.partner_code == partner_code)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return list(session.scalars(query))


def get_user(session: Session, *, actor: User, user_id: int) -> User:
    """A user the actor may see; NotFound otherwise, so ids of other partners cannot be probed."""
    user = session.get(User, user_id)
    if user is None or not _visible(actor, user):
        raise NotFound(f"no user {user_id}")
    return user


def set_user_active(
    session: Session, *, actor: User, user_id: int, active: bool, ip_address: str | None = None
) -> User:
    """Deactivate (ending its tokens and sessions) or reactivate an account."""
    user = get_user(session, actor=actor, user_id=user_id)
    if not _manageable(actor, user):
        raise Forbidden("a focal point manages only its partner's contributors")
    if user.id == actor.id:
        raise Conflict("you cannot change the state of your own account")
    if user.is_active == active:
        return user
    user.is_active = active
    if not active:
        _revoke_all(session, user=user)
    record_event(
        session,
        action="user.reactivated" if active else "user.deactivated",
        user=actor,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
    )
    return user


def _revoke_all(session: Session, *, user: User) -> int:
    now = _now()
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return tokens


# Invitations


def invite_user(
    session: Session,
    *,
    actor: User,
    email: str,
    name: str,
    role: str,
    partner_code: str | None = None,
    language: str = "en",
    ttl_days: int = 7,
    ip_address: str | None = None,
) -> tuple[User, Invitation, str]:
    """Create an account without password and a one-time link to set it (the link is shown once).

    Inviting again someone who never set a password replaces the earlier link.
    """
    if actor.role == access.FOCAL_POINT:
        if role != access.CONTRIBUTOR:
            raise Forbidden("a focal point invites contributors only")
        partner_code = partner_code or actor.partner_code
        access.check_partner(actor, partner_code or "")
    elif actor.role != access.ADMIN:
        raise Forbidden("only admins and focal points invite users")
    existing = session.scalar(select(User).where(User.email == email.strip().lower()))
    if existing is None:
        user = create_user(
            session,
            email=email,
            name=name,
            role=role,
            partner_code=partner_code,
            language=language,
            actor=actor,
            ip_address=ip_address,
        )
    elif existing.password_hash is None and _manageable(actor, existing):
        user = existing
        session.execute(
            update(Invitation)
            .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
            .values(used_at=_now())
            .execution_options(synchronize_session="fetch")
        )
    else:
        raise Conflict(f"a user with email {email.strip().lower()} already exists")
    plain = INVITATION_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=user.id,
        invited_by_id=actor.id,
        token_hash=hash_token(plain),
        expires_at=_now() + timedelta(days=ttl_days),
    )
    session.add(invitation)
    session.flush()
    record_event(
        session,
        action="user.invited",
        user=actor,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
        detail={"invitation_id": invitation.id, "expires_at": invitation.expires_at.isoformat()},
    )
    return user, invitation, plain


def accept_invitation(
    session: Session, *, token: str, password: str, ip_address: str | None = None
) -> User:
    """Set the invited user's password; the link then stops working."""
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or _aware(invitation.expires_at) <= _now()
        or not invitation.user.is_active
    ):
        raise NotFound("this invitation link is invalid, used or expired; ask for a new one")
    check_password_rules(password)
    user = invitation.user
    user.password_hash = hash_password(password)
    invitation.used_at = _now()
    record_event(
        session,
        action="user.invitation_accepted",
        user=user,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
        detail={"invitation_id": invitation.id},
    )
    return user


# API tokens


def issue_token(
    session: Session,
    *,
    user: User,
    name: str = "api",
    ttl_days: int = 90,
    actor: User | None = None,
    ip_address: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the plain text is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plain),
        expires_at=_now() + timedelta(days=ttl_days),
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        action="token.created",
        user=actor,
        object_type="api_token",
        object_id=token.id,
        ip_address=ip_address,
        detail={"owner_id": user.id, "name": name, "expires_at": token.expires_at.isoformat()},
    )
    return token, plain


def authenticate_token(session: Session, *, token: str, ip_address: str | None = None) -> User:
    """The active user a Bearer token belongs to; Unauthorized when unknown, expired or revoked."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = _now()
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        raise Unauthorized("invalid, expired or revoked token")
    if not row.user.is_active:
        raise Unauthorized("this account is disabled")
    if row.last_used_at is None or _aware(row.last_used_at) <= now - TOKEN_USE_AUDIT_INTERVAL:
        record_event(
            session,
            action="token.used",
            user=row.user,
            object_type="api_token",
            object_id=row.id,
            ip_address=ip_address,
        )
    if row.last_used_at is None or _aware(row.last_used_at) <= now - TOKEN_USE_RECORD_INTERVAL:
        # Not on every request: a read-only request then writes nothing (on SQLite the
        # summaries' cache only builds on states a transaction read without writing).
        row.last_used_at = now
    return row.user


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def revoke_token(
    session: Session, *, actor: User | None, token_id: int, ip_address: str | None = None
) -> ApiToken:
    """Revoke one token: one's own, or anyone's for an admin (or the command line, actor None)."""
    token = session.get(ApiToken, token_id)
    if token is None or (
        actor is not None and actor.role != access.ADMIN and token.user_id != actor.id
    ):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = _now()
        record_event(
            session,
            action="token.revoked",
            user=actor,
            object_type="api_token",
            object_id=token.id,
            ip_address=ip_address,
            detail={"owner_id": token.user_id},
        )
    return token


def revoke_user_tokens(
    session: Session, *, user: User, actor: User | None = None, ip_address: str | None = None
) -> int:
    """Revoke every live token and web session of `user`; how many tokens were live."""
    count = _revoke_all(session, user=user)
    record_event(
        session,
        action="token.revoked_all",
        user=actor,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
        detail={"tokens": count},
    )
    return count


# Password sign-in and web sessions


def sign_in(session: Session, *, email: str, password: str, ip_address: str | None = None) -> User:
    """The user these credentials belong to.

    Every attempt is recorded (and audited) whatever the outcome; the caller must commit even
    when this raises. Unknown email, wrong password, disabled account: one generic Unauthorized.
    Too many recent failures from this address: TooManyRequests, checked before the password.
    """
    email = email.strip().lower()[:254]
    now = _now()
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - ATTEMPT_RETENTION))
    until = sign_in_locked_until(session, email=email, ip_address=ip_address, now=now)
    user = session.scalar(select(User).where(User.email == email))
    if until is not None:
        _record_attempt(session, email=email, ip_address=ip_address, outcome="locked", at=now)
        record_event(
            session,
            action="auth.sign_in_locked",
            user=user,
            ip_address=ip_address,
            detail={"email": email, "until": until.isoformat()},
        )
        raise TooManyRequests(SIGN_IN_LOCKED)
    # The same argon2 work whether or not the account exists, so timing reveals nothing.
    stored = user.password_hash if user is not None and user.password_hash else _dummy()
    password_ok = verify_password(stored, password)
    if user is None or user.password_hash is None or not user.is_active or not password_ok:
        _record_attempt(session, email=email, ip_address=ip_address, outcome="failure", at=now)
        record_event(
            session,
            action="auth.sign_in_failed",
            user=user,
            ip_address=ip_address,
            detail={"email": email},
        )
        raise Unauthorized(SIGN_IN_FAILED)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _record_attempt(session, email=email, ip_address=ip_address, outcome="success", at=now)
    record_event(
        session,
        action="auth.sign_in",
        user=user,
        object_type="user",
        object_id=user.id,
        ip_address=ip_address,
    )
    return user


def sign_in_locked_until(
    session: Session, *, email: str, ip_address: str | None, now: datetime | None = None
) -> datetime | None:
    """When the lock on this email from this address (or on the address itself) ends, if any."""
    now = now or _now()
    since = now - lockout.lookback()
    last_success = session.scalar(
        select(func.max(SignInAttempt.at)).where(
            SignInAttempt.email == email,
            _same_address(ip_address),
            SignInAttempt.outcome == "success",
        )
    )
    if last_success is not None:
        since = max(since, _aware(last_success))
    failures = [
        _aware(at)
        for at in session.scalars(
            select(SignInAttempt.at)
            .where(
                SignInAttempt.email == email,
                _same_address(ip_address),
                SignInAttempt.outcome == "failure",
                SignInAttempt.at > since,
            )
            .order_by(SignInAttempt.at.desc())
            .limit(lockout.MAX_FAILURES)
        )
    ]
    address_failures = [
        _aware(at)
        for at in session.scalars(
            select(SignInAttempt.at)
            .where(
                _same_address(ip_address),
                SignInAttempt.outcome == "failure",
                SignInAttempt.at > now - lockout.lookback(),
            )
            .order_by(SignInAttempt.at.desc())
            .limit(lockout.MAX_FAILURES_PER_ADDRESS)
        )
    ]
    ends = [
        end
        for end in (
            lockout.locked_until(failures),
            lockout.locked_until(address_failures, max_failures=lockout.MAX_FAILURES_PER_ADDRESS),
        )
        if end is not None and end > now
    ]
    return max(ends) if ends else None


def _same_address(ip_address: str | None) -> ColumnElement[bool]:
    if ip_address is None:
        return SignInAttempt.ip_address.is_(None)
    return SignInAttempt.ip_address == ip_address


def _record_attempt(
    session: Session, *, email: str, ip_address: str | None, outcome: str, at: datetime
) -> None:
    session.add(SignInAttempt(email=email, ip_address=ip_address, outcome=outcome, at=at))
    session.flush()


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def start_session(
    session: Session, *, user: User, ttl: timedelta, ip_address: str | None = None
) -> tuple[UserSession, str]:
    """A new web session; the returned secret goes (signed) into the cookie and is not stored."""
    secret = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        session_hash=hash_token(secret),
        expires_at=_now() + ttl,
        ip_address=ip_address,
    )
    session.add(row)
    session.flush()
    return row, secret


def session_user(session: Session, *, secret: str) -> User | None:
    """The active user of a live web session; None when ended, expired or disabled."""
    row = session.scalar(select(UserSession).where(UserSession.session_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= _now():
        return None
    return row.user if row.user.is_active else None


def end_session(session: Session, *, secret: str, ip_address: str | None = None) -> None:
    row = session.scalar(select(UserSession).where(UserSession.session_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = _now()
    record_event(
        session,
        action="auth.sign_out",
        user=row.user,
        object_type="user",
        object_id=row.user_id,
        ip_address=ip_address,
    )
