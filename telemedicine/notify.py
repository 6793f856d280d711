"""Thin adapter over the notifications contract (`notify` / `cancel_pending`): the link points at
the consult's phone page, and a side without a login (a consultant not yet given an account) is
skipped.

An event's message is due at the moment of the event: the outbox is idempotent on (kind, about,
recipient, channel, due time), so a second reschedule or a re-confirmation of the same consult is
a new message, not a repeat of the first."""

from django.urls import reverse
from django.utils import timezone

from notifications.services import cancel_pending, notify


def send(user, kind: str, booking, context: dict, *, due_at=None) -> None:
    if user is None:
        return
    link = reverse("telemedicine:booking_detail", args=[booking.pk])
    due_at = due_at if due_at is not None else timezone.now()
    notify(recipient=user, kind=kind, about=booking, context=context, due_at=due_at, link=link)


def cancel(booking, kinds) -> int:
    return cancel_pending(kind=list(kinds), about=booking)
