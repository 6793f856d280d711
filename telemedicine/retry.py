"""Teleconsult writes run through the project's one retry (`core.retry`) with the message a doctor
sees when others keep booking the same time."""

from django.utils.translation import gettext_lazy as _

from core.retry import with_retry as _with_retry

BUSY_MESSAGE = _("Others are booking the same time right now. Reload the slots and try again.")


def with_retry(func, **kwargs):
    return _with_retry(func, busy_message=BUSY_MESSAGE, **kwargs)
