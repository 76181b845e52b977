"""The append-only audit log: who changed what, when, from which address."""

from typing import Any

from sqlalchemy.orm import Session

from jvap.accounts.models import AuditEvent, User


def record_event(
    session: Session,
    *,
    action: str,
    user: User | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it is kept only if that commits)."""
    event = AuditEvent(
        action=action,
        user_id=user.id if user is not None else None,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip_address=ip_address,
        detail=detail or {},
    )
    session.add(event)
    return event
