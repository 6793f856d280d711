"""One error type for refusals a service gives on purpose, with a machine code and an HTTP status.

A service raises a `DomainError` (or one of the subclasses below) with a message that tells the
user, in their language, what to do instead; the API edge (`core.api.exception_handler`) maps it
to its status once, in the API's one error shape (`error_body`); pages show the message. Django's
own `ValidationError` stays the error for bad input (400, one list of messages per field).

Subclass per meaning, not per app: an app may subclass to let callers catch its errors, keeping
the status of its base.
"""

from http import HTTPStatus


def error_body(code: str, detail: str, fields: dict | None = None, **extra) -> dict:
    """The one shape of every 4xx/5xx answer of the API: a machine `code` (stable, English, for
    programs), the `detail` in the user's language (Chinese by default), and `fields`: one list of
    messages per input field (empty when the refusal is not about a field). A refusal may add
    fields of its own (e.g. `state`, the id of an existing row)."""
    return {"code": code, "detail": str(detail), "fields": fields or {}, **extra}


class DomainError(Exception):
    status = HTTPStatus.BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message, code: str | None = None, **extra):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code or self.default_code
        self.extra = extra  # more fields for the error body (e.g. the id of an existing row)

    def as_body(self) -> dict:
        return error_body(self.code, self.message, **self.extra)


class Conflict(DomainError):
    """The request collides with the current state (409): a full slot, a row changed meanwhile, a
    state that does not allow the step."""

    status = HTTPStatus.CONFLICT
    default_code = "conflict"


class Refused(DomainError):
    """The user may not do this to this row (403)."""

    status = HTTPStatus.FORBIDDEN
    default_code = "permission_denied"


class NotFound(DomainError):
    """No such row in the user's reach (404)."""

    status = HTTPStatus.NOT_FOUND
    default_code = "not_found"


class Busy(Conflict):
    """The database kept reporting concurrent writes (serialisation failure, deadlock, a locked
    SQLite file) after the retries of `core.retry`: try again in a moment (409)."""

    default_code = "busy"
