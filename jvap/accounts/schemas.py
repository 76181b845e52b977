"""Request and response bodies for sign-in, users, invitations, tokens and the audit log."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jvap.accounts.models import User

Role = Literal["admin", "analyst", "manager", "focal_point", "contributor"]
Language = Literal["en", "fr"]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    partner_code: str | None
    language: str
    is_active: bool
    # False until an invited user has set a password.
    has_password: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserRead":
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            partner_code=user.partner_code,
            language=user.language,
            is_active=user.is_active,
            has_password=user.password_hash is not None,
            created_at=user.created_at,
        )


class UserCreate(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: Role
    partner_code: str | None = None
    language: Language = "en"
    # Omit to create a token-only account, or invite the user instead.
    password: str | None = Field(default=None, max_length=256)


class InvitationCreate(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: Role = "contributor"
    # A focal point may omit it: its own partner is used.
    partner_code: str | None = None
    language: Language = "en"


class InvitationCreated(BaseModel):
    user: UserRead
    # Shown once: only its hash is stored. Send it to the invited person.
    token: str
    accept_url: str
    expires_at: datetime


class InvitationAccept(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(max_length=256)


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class Me(BaseModel):
    user: UserRead
    # Send it back in the X-CSRF-Token header (or a csrf_token form field) with unsafe
    # requests authenticated by the session cookie; None when authenticated by a token.
    csrf_token: str | None


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    # At most JVAP_TOKEN_TTL_DAYS; that is also the default.
    days: int | None = Field(default=None, gt=0)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    # Shown once: only its hash is stored.
    token: str


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    ip_address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    total: int
    limit: int
    offset: int
