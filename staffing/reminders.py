"""Licence-expiry reminders: staffing owns the expiry dates, so it registers the scanner that the
notifications app's daily beat task runs (notifications imports no other app)."""

import datetime

from django.db.models import Q

from notifications.reminders import expiry_due_at, expiry_windows
from notifications.services import notify
from staffing.models import Doctor


def licence_expiry_scanner(*, today: datetime.date) -> int:
    """Queue the 90- and 30-day reminders for active doctors with a login whose licence expires
    in the window. The due time comes from the expiry date, so a rerun queues nothing twice."""
    queued = 0
    for days, lower, upper in expiry_windows(today, thresholds=(90, 30)):
        doctors = (
            Doctor.objects.filter(status=Doctor.Status.ACTIVE, user__isnull=False, licence_expiry__range=(lower, upper))
            .exclude(Q(licence_number=""))
            .select_related("user")
        )
        for doctor in doctors:
            rows = notify(
                recipient=doctor.user,
                kind=f"licence_expiring_{days}",
                about=doctor,
                context={
                    "doctor_name": doctor.name,
                    "licence_number": doctor.licence_number,
                    "expiry": f"{doctor.licence_expiry.year}年{doctor.licence_expiry.month}月{doctor.licence_expiry.day}日",
                    "days": (doctor.licence_expiry - today).days,
                },
                due_at=expiry_due_at(doctor.licence_expiry, days),
            )
            queued += len(rows)
    return queued
