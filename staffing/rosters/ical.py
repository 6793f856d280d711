"""A doctor's duties as an iCalendar feed (RFC 5545), as phone calendars subscribe to it.

- Each published duty is a timed event in the deployment's time zone (Asia/Shanghai, with its
  VTIMEZONE): a day duty for the clinic's opening hours, an on-call duty from opening time for
  ROSTER_ON_CALL_HOURS. Titles and descriptions are in the language the doctor chose for the feed
  (zh-hans unless changed), whatever language the fetching app asks for.
- UIDs are `duty-<doctor>-<yyyymmdd>-<duty>@<ICAL_UID_DOMAIN>`: one doctor's duty of one day. A
  duty taken off the doctor (leave, a swap) stays in their feed as STATUS:CANCELLED for
  ICAL_CANCELLED_KEEP_DAYS; the doctor who gets it has a new event with their own UID.
- SEQUENCE, LAST-MODIFIED and DTSTAMP come from `FeedEvent` (the amended days) or, for a duty as
  published, are 0 and the month's publication time: a fetch never changes them.
- A VALARM reminds `alarm_minutes` before each duty unless the doctor switched it off.

`feed_render` returns the body with its ETag and Last-Modified; the view answers 304 to a
conditional request that already has it. Four queries per feed, however many duties."""

import datetime
import hashlib
import ipaddress
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.months import month_end, month_start, next_month
from staffing.rosters import selectors
from staffing.rosters.models import CalendarFeed, DutyDay, FeedEvent, RosterMonth

PRODID = "-//Cunyi//Duty roster//ZH"


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str  # a strong validator, quoted
    last_modified: datetime.datetime  # whole seconds, UTC
    language: str


@dataclass(frozen=True)
class _Entry:
    doctor_id: int
    date: datetime.date
    duty: str
    facility: object
    status: str
    sequence: int
    modified: datetime.datetime
    cover: bool = False


def uid_domain() -> str:
    """ICAL_UID_DOMAIN, else the first host in ALLOWED_HOSTS that is a domain name."""
    if settings.ICAL_UID_DOMAIN:
        return settings.ICAL_UID_DOMAIN.strip().lstrip(".")
    for host in settings.ALLOWED_HOSTS:
        host = host.strip().lstrip(".").lower()
        if not host or host == "*" or "*" in host or host == "localhost" or host.endswith(".localhost") or "." not in host:
            continue
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return host
    return "cunyi.invalid"


def event_uid(*, doctor_id: int, day: datetime.date, duty: str) -> str:
    return f"duty-{doctor_id}-{day:%Y%m%d}-{duty.replace('_', '-')}@{uid_domain()}"


def duty_times(*, facility, day: datetime.date, duty: str) -> tuple[datetime.datetime, datetime.datetime]:
    """A day duty: the clinic's opening hours; on call: from opening for ROSTER_ON_CALL_HOURS."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start = datetime.datetime.combine(day, facility.morning_start, tzinfo=zone)
    if duty == DutyDay.Duty.ON_CALL:
        return start, start + datetime.timedelta(hours=settings.ROSTER_ON_CALL_HOURS)
    return start, datetime.datetime.combine(day, facility.afternoon_end, tzinfo=zone)


def feed_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Two months back to the end of the month after next."""
    return month_start(today) - datetime.timedelta(days=62), month_end(next_month(next_month(month_start(today))))


def feed_by_token(token: str) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(token=token).select_related("doctor").first()


def _whole_seconds(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC).replace(microsecond=0)


def _entries(
    *, feed: CalendarFeed, start: datetime.date, end: datetime.date, now: datetime.datetime
) -> tuple[list[_Entry], datetime.datetime]:
    """The feed's events, and the last moment its body changed by time passing alone (the window
    moving on at a month's start, a cancelled event dropped after ICAL_CANCELLED_KEEP_DAYS), which
    Last-Modified must not be older than, or an If-Modified-Since would keep a stale copy."""
    doctor_id = feed.doctor_id
    duties = (
        DutyDay.objects.filter(doctor_id=doctor_id, date__gte=start, date__lte=end, roster__status=RosterMonth.Status.PUBLISHED)
        .select_related("facility", "roster")
        .order_by("date", "duty")
    )
    changes = {
        (e.date, e.duty): e
        for e in FeedEvent.objects.filter(doctor_id=doctor_id, date__gte=start, date__lte=end).select_related("facility")
    }
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    timed_out = [datetime.datetime.combine(month_start(timezone.localdate(now)), datetime.time(), tzinfo=zone)]
    entries = []
    for duty in duties:
        change = changes.pop((duty.date, duty.duty), None)
        published = duty.roster.published_at or duty.roster.generated_at
        modified = max(change.modified, published) if change else published
        entries.append(_Entry(
            doctor_id=doctor_id, date=duty.date, duty=duty.duty, facility=duty.facility,
            status=FeedEvent.Status.CONFIRMED,
            # The clinic's opening-hours changes move the event's times: each counts as an amendment.
            sequence=(_sequence(change, FeedEvent.Status.CONFIRMED) if change else 0) + duty.facility.hours_revision,
            modified=max(modified, duty.facility.hours_changed_at or modified),
            cover=duty.source == DutyDay.Source.COVER,
        ))  # fmt: skip
    keep = datetime.timedelta(days=settings.ICAL_CANCELLED_KEEP_DAYS)
    for change in changes.values():
        # A row without its duty is a duty no longer the doctor's; shown for a while, cancelled.
        if change.modified + keep >= now:
            entries.append(_Entry(
                doctor_id=doctor_id, date=change.date, duty=change.duty, facility=change.facility,
                status=FeedEvent.Status.CANCELLED,
                sequence=_sequence(change, FeedEvent.Status.CANCELLED) + change.facility.hours_revision,
                modified=max(change.modified, change.facility.hours_changed_at or change.modified),
            ))  # fmt: skip
        else:
            timed_out.append(change.modified + keep)
    entries.sort(key=lambda e: (e.date, e.duty))
    return entries, max(timed_out)


def _sequence(change: FeedEvent, shown: str) -> int:
    """The stored SEQUENCE, one higher when the duty's state is not the one recorded (a change that
    did not go through `feed_duties_changed`), so an app that has the recorded one still updates."""
    return change.sequence if change.status == shown else change.sequence + 1


def _summary(entry: _Entry, holidays: dict) -> str:
    title = _("On call") if entry.duty == DutyDay.Duty.ON_CALL else _("Day duty")
    holiday = holidays.get(entry.date)
    if holiday is not None and holiday.is_holiday:
        title = f"{title} · {holiday.name}"
    return f"{title} · {entry.facility.name}"


def _description(entry: _Entry, start: datetime.datetime, end: datetime.datetime) -> str:
    facility = entry.facility
    if entry.duty == DutyDay.Duty.ON_CALL:
        text = _("On call for %(clinic)s from %(start)s until %(end)s.") % {
            "clinic": facility.name, "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}" if end.date() == start.date() else _("%(time)s the next day") % {"time": f"{end:%H:%M}"},
        }  # fmt: skip
    else:
        text = _("Day duty at %(clinic)s, opening hours %(hours)s.") % {
            "clinic": facility.name, "hours": facility.opening_hours_display,
        }
    if entry.cover:
        text = f"{text} {_('You cover for this clinic.')}"
    if entry.status == FeedEvent.Status.CANCELLED:
        text = "{} {}".format(
            _("Cancelled: this duty is no longer yours (changed on %(date)s).")
            % {"date": f"{timezone.localtime(entry.modified):%Y-%m-%d %H:%M}"},
            text,
        )
    return text


def _alarm(*, minutes: int, summary: str):
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", -datetime.timedelta(minutes=minutes))
    return alarm


def _timezone(end: datetime.date):
    """The VTIMEZONE of the deployment's zone from 1992 (China's last summer time ended in 1991)."""
    from icalendar import Timezone

    zone = Timezone.from_tzinfo(
        zoneinfo.ZoneInfo(settings.TIME_ZONE), first_date=datetime.date(1992, 1, 1), last_date=end + datetime.timedelta(days=2)
    )
    zone.pop("COMMENT", None)  # icalendar's English note of that range
    return zone


def feed_render(*, feed: CalendarFeed, now: datetime.datetime | None = None) -> RenderedFeed:
    """The doctor's feed (published duties of the window and recent cancellations), in the feed's
    language."""
    from icalendar import Calendar, Event, vDuration

    now = now or timezone.now()
    start, end = feed_window(timezone.localdate(now))
    entries, timed_out = _entries(feed=feed, start=start, end=end, now=now)
    holidays = selectors.holidays_between(start=start, end=end)
    with translation.override(feed.language):
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        name = _("Duty: %(name)s") % {"name": feed.doctor.name}
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", settings.TIME_ZONE)
        cal.add("refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(datetime.timedelta(hours=1)))
        cal.add_component(_timezone(end))
        for entry in entries:
            event = Event()
            begins, ends = duty_times(facility=entry.facility, day=entry.date, duty=entry.duty)
            summary = _summary(entry, holidays)
            modified = _whole_seconds(entry.modified)
            event.add("uid", event_uid(doctor_id=entry.doctor_id, day=entry.date, duty=entry.duty))
            event.add("dtstamp", modified)
            event.add("last-modified", modified)
            event.add("sequence", entry.sequence)
            event.add("status", entry.status.upper())
            event.add("dtstart", begins)
            event.add("dtend", ends)
            event.add("summary", summary)
            event.add("location", entry.facility.name)
            event.add("description", _description(entry, begins, ends))
            event.add("transp", "OPAQUE" if entry.status == FeedEvent.Status.CONFIRMED else "TRANSPARENT")
            if feed.alarm and entry.status == FeedEvent.Status.CONFIRMED:
                event.add_component(_alarm(minutes=feed.alarm_minutes, summary=summary))
            cal.add_component(event)
        body = cal.to_ical()
    moments = [feed.updated_at, timed_out, *(e.modified for e in entries)]
    last_modified = max(_whole_seconds(moment) for moment in moments)
    return RenderedFeed(
        body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"', last_modified=last_modified, language=feed.language
    )
