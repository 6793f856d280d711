"""A doctor's duties as an iCalendar feed (RFC 5545), read by phone calendars: one all-day event
per duty, titled with the duty, the holiday (if any) and the clinic."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from staffing.models import Doctor
from staffing.rosters.models import DutyDay


def ical_bytes(*, doctor: Doctor, duties, holidays: dict) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Cunyi//Duty roster//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Duty: %(name)s") % {"name": doctor.name})
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = timezone.now()
    for duty in duties:
        event = Event()
        event.add("uid", f"duty-{duty.pk}@cunyi")
        event.add("dtstamp", stamp)
        event.add("dtstart", duty.date)
        event.add("dtend", duty.date + datetime.timedelta(days=1))
        title = _("On call") if duty.duty == DutyDay.Duty.ON_CALL else _("Day duty")
        entry = holidays.get(duty.date)
        if entry is not None and entry.is_holiday:
            title = f"{title} · {entry.name}"
        event.add("summary", f"{title} · {duty.facility.name}")
        event.add("description", duty.facility.opening_hours_display)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()
