"""HTTP routes for the initiatives registry: list, read, create, change, history."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from jvap.accounts.audit import record_event
from jvap.accounts.deps import CurrentUser, client_ip, require_roles
from jvap.accounts.models import User
from jvap.db import SessionDep
from jvap.initiatives import service
from jvap.initiatives.schemas import (
    InitiativeCreate,
    InitiativePage,
    InitiativeQuery,
    InitiativeRead,
    InitiativeUpdate,
    RevisionRead,
)

router = APIRouter(prefix="/initiatives", tags=["initiatives"])

Editor = Annotated[User, Depends(require_roles("admin", "analyst"))]
Lang = Annotated[
    str | None, Query(pattern="^(en|fr)$", description="Language of messages (en or fr)")
]


def _lang(request: Request, lang: str | None) -> str:
    """`?lang=` first, else the best of en/fr in Accept-Language, else English."""
    if lang:
        return lang
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("en", "fr"):
            return code
    return "en"


def _body_schema(model: type[Any]) -> dict[str, Any]:
    # The body is read as plain JSON so that type errors and rule errors come back together;
    # this keeps the documented schema.
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


@router.get("", response_model=InitiativePage)
def list_initiatives(
    session: SessionDep, user: CurrentUser, query: Annotated[InitiativeQuery, Query()]
) -> InitiativePage:
    """Initiatives matching the filters, a page at a time, with the total on every page.

    Focal points and contributors see their own partner's initiatives only; programme
    managers see published (verified) ones only. Repeat a filter to accept any of its
    values, e.g. `?domain=D1&domain=D3`; different filters all apply.
    """
    total, items = service.list_initiatives(
        session,
        filters=query.filters(),
        visibility=service.visibility_for(user),
        sort=query.sort,
        page=query.page,
        size=query.size,
    )
    return InitiativePage(total=total, page=query.page, size=query.size, items=items)


@router.post(
    "",
    response_model=InitiativeRead,
    status_code=201,
    openapi_extra=_body_schema(InitiativeCreate),
)
def create_initiative(
    request: Request,
    session: SessionDep,
    user: Editor,
    payload: Annotated[Any, Body()],
    lang: Lang = None,
) -> InitiativeRead:
    """Add an initiative (analysts and admins). It gets a new reference and revision 1.

    Invalid input is refused with 422 and every problem listed (field, code, message in
    English, or French with `?lang=fr` or `Accept-Language: fr`); nothing is stored.
    The budget is also kept in EUR, with the ECB reference rate and its date.
    """
    created = service.create_initiative(
        session, payload=payload, user=user, lang=_lang(request, lang)
    )
    record_event(
        session,
        action="initiative.create",
        user=user,
        object_type="initiative",
        object_id=created.ref,
        ip_address=client_ip(request),
        detail={"partner_code": created.partner_code},
    )
    return created


@router.get("/{ref}", response_model=InitiativeRead)
def get_initiative(session: SessionDep, user: CurrentUser, ref: str) -> InitiativeRead:
    """One initiative by its reference (e.g. JV-000123)."""
    initiative = service.get_initiative(session, ref=ref, visibility=service.visibility_for(user))
    return service.read_initiatives(session, ids=[initiative.id])[0]


@router.patch("/{ref}", response_model=InitiativeRead, openapi_extra=_body_schema(InitiativeUpdate))
def update_initiative(
    request: Request,
    session: SessionDep,
    user: Editor,
    ref: str,
    payload: Annotated[Any, Body()],
    lang: Lang = None,
) -> InitiativeRead:
    """Change some fields of an initiative (analysts and admins); others keep their value.

    Send the `revision` you read: if someone changed the initiative since, the answer is
    409 with its current revision, and nothing is changed. A change writes a new revision
    listing every field changed (see the history); a body that changes nothing writes none.
    """
    initiative = service.get_initiative(session, ref=ref, visibility=service.Visibility())
    before = initiative.revision
    updated = service.update_initiative(
        session, initiative=initiative, payload=payload, user=user, lang=_lang(request, lang)
    )
    if updated.revision != before:
        record_event(
            session,
            action="initiative.update",
            user=user,
            object_type="initiative",
            object_id=updated.ref,
            ip_address=client_ip(request),
            detail={"revision": updated.revision},
        )
    return updated


@router.post("/{ref}/publish", response_model=InitiativeRead)
def publish_initiative(
    request: Request, session: SessionDep, user: Editor, ref: str
) -> InitiativeRead:
    """Mark an initiative as verified (published), so it counts in summaries and reports.

    Publication is not a change of its values: the revision stays the same.
    """
    initiative = service.get_initiative(session, ref=ref, visibility=service.Visibility())
    if service.publish_initiatives(session, ids=[initiative.id]):
        record_event(
            session,
            action="initiative.publish",
            user=user,
            object_type="initiative",
            object_id=initiative.ref,
            ip_address=client_ip(request),
        )
    return service.read_initiatives(session, ids=[initiative.id])[0]


@router.get("/{ref}/history", response_model=list[RevisionRead])
def initiative_history(session: SessionDep, user: CurrentUser, ref: str) -> list[RevisionRead]:
    """Every revision of an initiative, newest first: who, when, what changed field by field
    (old and new value), and the accepted submission it came from, if any."""
    initiative = service.get_initiative(session, ref=ref, visibility=service.visibility_for(user))
    return service.list_revisions(session, initiative_id=initiative.id)
