"""Errors of the teleconsult app that other code may catch."""

from core.errors import Conflict


class BookingConflict(Conflict):
    """The request collides with the current state (a full slot, an overlapping consult, a
    consult already moved on): HTTP 409 with a message that says what to do instead."""
