"""Errors of the teleconsult app that other code may catch."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict

# What a doctor is told when the database kept refusing a write for concurrent ones (core.retry's
# Busy, 409 "busy"): every teleconsult write runs through core.retry.with_retry with this message.
BUSY_MESSAGE = _("Others are booking the same time right now. Reload the slots and try again.")


class BookingConflict(Conflict):
    """The request collides with the current state (a full slot, an overlapping consult, a
    consult already moved on): HTTP 409 with a message that says what to do instead."""
