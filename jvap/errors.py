"""Typed application errors, rendered by one handler into one JSON shape."""

from typing import Any, ClassVar


class JvapError(Exception):
    """Base of every expected failure; `code` is stable, `detail` is for people."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, issues: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.issues = issues or []

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, "issues": self.issues}


class BadRequest(JvapError):
    status_code = 400
    code = "bad_request"


class Unauthorized(JvapError):
    status_code = 401
    code = "unauthorized"


class Forbidden(JvapError):
    status_code = 403
    code = "forbidden"


class NotFound(JvapError):
    status_code = 404
    code = "not_found"


class Conflict(JvapError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(JvapError):
    status_code = 413
    code = "payload_too_large"


class InvalidInput(JvapError):
    """A request body or record breaks the field rules; `issues` lists every problem."""

    status_code = 422
    code = "invalid_input"


class InvalidUpload(JvapError):
    """An uploaded file cannot be accepted; `issues` lists every problem found."""

    status_code = 422
    code = "invalid_upload"


class InvalidReferenceData(JvapError):
    """A reference-data file is malformed or would orphan existing records."""

    status_code = 422
    code = "invalid_reference_data"


class TooManyRequests(JvapError):
    status_code = 429
    code = "too_many_requests"


ERROR_CLASSES: tuple[type[JvapError], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    InvalidInput,
    InvalidUpload,
    InvalidReferenceData,
    TooManyRequests,
)
