"""Run a write service again when the database reports a serialization failure, a deadlock or
(SQLite) a locked file; when it keeps failing, the caller gets a BookingConflict (HTTP 409)."""

import logging
import time

from django.db import OperationalError
from django.utils.translation import gettext as _

from telemedicine.exceptions import BookingConflict

logger = logging.getLogger(__name__)
RETRIES = 3
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES or "database is locked" in str(exc)


def with_retry(func, **kwargs):
    for attempt in range(1, RETRIES + 1):
        try:
            return func(**kwargs)
        except OperationalError as exc:
            if not is_retryable(exc):
                raise
            logger.warning("teleconsult %s: attempt %s failed: %s", func.__name__, attempt, exc)
            if attempt == RETRIES:
                raise BookingConflict(
                    _("Others are booking the same time right now. Reload the slots and try again."), code="busy"
                ) from exc
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
