"""Payroll's refusals."""

from django.core.exceptions import ValidationError

from core.errors import Conflict


class PayRunConflict(Conflict, ValidationError):
    """A pay-run step its status does not allow (calculating or deleting an approved run,
    approving a draft, paying an unapproved run): a core Conflict, so 409 at the API, and a
    ValidationError too, so the admin and forms show its message like any other refusal
    (`exc.messages`)."""
