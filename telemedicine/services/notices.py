"""What the two sides of a consult are told, over the notifications contract (`notify` /
`cancel_pending`): the link points at the consult's phone page, and a side without a login (a
consultant not yet given an account) is skipped.

An event's message is due at the moment of the event: the outbox is idempotent on (kind, about,
recipient, channel, due time), so a second reschedule or a re-confirmation of the same consult is
a new message, not a repeat of the first. Reminders are due 24 hours and 30 minutes before the
start."""

import datetime

from django.urls import reverse
from django.utils import timezone

from notifications.services import cancel_pending, notify
from telemedicine.models import ConsultBooking

REMINDERS = (("consult_reminder_24h", datetime.timedelta(hours=24)), ("consult_reminder_30m", datetime.timedelta(minutes=30)))


def send(user, kind: str, booking: ConsultBooking, context: dict, *, due_at=None, about_is_new: bool = False) -> None:
    """`about_is_new`: the booking was created in this transaction (`notify`'s promise that
    nothing about it is queued yet)."""
    if user is None:
        return
    link = reverse("telemedicine:booking_detail", args=[booking.pk])
    due_at = due_at if due_at is not None else timezone.now()
    notify(recipient=user, kind=kind, about=booking, context=context, due_at=due_at, link=link, about_is_new=about_is_new)


def context(booking: ConsultBooking, **extra) -> dict:
    return {
        "start": f"{timezone.localtime(booking.starts_at):%m月%d日 %H:%M}",
        "doctor_name": booking.doctor.name,
        "facility_name": booking.facility.name,
        "consultant_name": booking.consultant.name,
        "department": booking.consultant.department.name,
        "patient": booking.patient_name[:1] + "*" * (len(booking.patient_name) - 1),
        **extra,
    }


def reminders_schedule(booking: ConsultBooking, now) -> None:
    for kind, before in REMINDERS:
        due = booking.starts_at - before
        if due > now:
            for user in (booking.doctor.user, booking.consultant.user):
                send(user, kind, booking, context(booking), due_at=due)


def reminders_cancel(booking: ConsultBooking) -> int:
    return cancel_pending(kind=[kind for kind, _before in REMINDERS], about=booking)
