"""The unguessable address of a doctor's iCalendar feed (the feed itself is rendered by
`staffing.rosters.ical`)."""

from django.db import transaction

from core.audit import audit_record
from staffing.models import Doctor
from staffing.rosters.models import CalendarFeed
from staffing.rosters.services.reach import check_doctor_reach


def calendar_feed_get_or_create(*, doctor: Doctor) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(doctor=doctor)
    return feed


@transaction.atomic
def calendar_feed_reset(*, doctor: Doctor, acting_user) -> CalendarFeed:
    """A new address; the old one stops working."""
    check_doctor_reach(acting_user, doctor)
    CalendarFeed.objects.filter(doctor=doctor).delete()
    feed = CalendarFeed.objects.create(doctor=doctor)
    audit_record(actor=acting_user, action="calendar_feed.reset", target=feed)
    return feed
