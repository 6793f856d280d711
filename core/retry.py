"""One retry for writes that lose a race inside the database.

PostgreSQL reports a serialisation failure (SQLSTATE 40001) or a deadlock (40P01) to one of the
transactions involved, and SQLite reports "database is locked"; each means "nothing was written,
run the same transaction again". `with_retry` runs a write service again, a few times with a
growing pause, and when it keeps failing raises `core.errors.Busy` (HTTP 409, code "busy") with
the caller's message, so the user is told to try again instead of seeing a 500.

The service must be its own transaction (`transaction.atomic` inside it), so each attempt starts
clean.
"""

import logging
import time

from django.db import OperationalError
from django.utils.translation import gettext as _

from core.errors import Busy

logger = logging.getLogger(__name__)
ATTEMPTS = 3
BACKOFF_SECONDS = 0.05
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    """True for the errors after which running the whole transaction again is right."""
    if not isinstance(exc, OperationalError):
        return False
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES or "database is locked" in str(exc)


def with_retry(func, /, *args, busy_message=None, attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS, **kwargs):
    """`func(*args, **kwargs)`, run again after a retryable database error (at most `attempts`
    times in all, pausing backoff × attempt between them); then `Busy(busy_message)`."""
    for attempt in range(1, attempts + 1):
        try:
            return func(*args, **kwargs)
        except OperationalError as exc:
            if not is_retryable(exc):
                raise
            logger.warning("%s: attempt %s of %s failed: %s", getattr(func, "__name__", func), attempt, attempts, exc)
            if attempt == attempts:
                raise Busy(busy_message or _("Others are changing the same data right now. Try again in a moment.")) from exc
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")
