"""The audit log: filtered listing, and append-only in the database itself."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from jvap.accounts import audit
from jvap.accounts.models import AuditEvent
from tests.factories import make_user


def test_events_are_listed_newest_first_with_filters(session: Session) -> None:
    user = make_user(session)
    for n in range(3):
        audit.record_event(
            session, action="thing.done", user=user, object_type="thing", object_id=n
        )
    audit.record_event(session, action="thing.undone", user=user, object_type="thing", object_id=9)
    session.flush()
    events, total = audit.list_events(session, user_id=user.id, action="thing.done", limit=2)
    assert total == 3 and [e.object_id for e in events] == ["2", "1"]
    events, total = audit.list_events(session, user_id=user.id, action="thing.")
    assert total == 4
    events, total = audit.list_events(session, object_type="thing", object_id="9")
    assert [e.action for e in events] == ["thing.undone"]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert audit.list_events(session, user_id=user.id, since=later) == ([], 0)
    assert audit.list_events(session, user_id=user.id, until=later)[1] == 4


def test_the_family_filter_treats_wildcards_literally(session: Session) -> None:
    audit.record_event(session, action="a_b.c")
    audit.record_event(session, action="axb.c")
    session.flush()
    assert [e.action for e in audit.list_events(session, action="a_b.")[0]] == ["a_b.c"]


@pytest.mark.parametrize(
    "statement",
    [
        delete(AuditEvent),
        update(AuditEvent).values(action="tampered"),
        text("DELETE FROM audit_event"),
    ],
    ids=["orm delete", "orm update", "raw delete"],
)
def test_the_database_refuses_to_change_or_delete_audit_events(
    session: Session, statement: Executable
) -> None:
    event = audit.record_event(session, action="thing.done")
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(statement)
    session.expire(event)
    assert event.action == "thing.done"


def test_deleting_an_event_through_the_session_fails(session: Session) -> None:
    event = audit.record_event(session, action="thing.done")
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.delete(event)
        session.flush()
