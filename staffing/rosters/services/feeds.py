"""A doctor's iCalendar feed: its unguessable address, the doctor's choices for it (reminder,
language), and the record of published duties that changed (`FeedEvent`), which the services that
amend a published roster keep here (the feed itself is rendered by `staffing.rosters.ical`).

An event's identity is (doctor, date, duty): the duty a swap moves to a colleague is a new event in
the colleague's feed, and the old one stays in the first doctor's feed as cancelled. Each change of
an event raises its SEQUENCE by one and stamps when it happened; a published duty that never
changed has no row (SEQUENCE 0, stamped when its month was published)."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from staffing.models import Doctor
from staffing.rosters.models import CalendarFeed, DutyDay, FeedEvent, new_feed_token
from staffing.rosters.services.reach import check_doctor_reach


def calendar_feed_get_or_create(*, doctor: Doctor) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(doctor=doctor)
    return feed


@transaction.atomic
def calendar_feed_reset(*, doctor: Doctor, acting_user) -> CalendarFeed:
    """A new address; the old one stops working (the doctor's choices stay)."""
    check_doctor_reach(acting_user, doctor)
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(doctor=doctor)
    if not created:
        feed.token = new_feed_token()
        feed.updated_at = timezone.now()
        feed.save(update_fields=["token", "updated_at"])
    audit_record(actor=acting_user, action="calendar_feed.reset", target=feed)
    return feed


@transaction.atomic
def calendar_feed_update(*, doctor: Doctor, acting_user, alarm: bool, alarm_minutes: int, language: str) -> CalendarFeed:
    """The doctor's choices: a reminder `alarm_minutes` before each duty (or none), and the
    language the events are written in."""
    check_doctor_reach(acting_user, doctor)
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    feed, _created = CalendarFeed.objects.select_for_update().get_or_create(doctor=doctor)
    before = {"alarm": feed.alarm, "alarm_minutes": feed.alarm_minutes, "language": feed.language}
    feed.alarm, feed.alarm_minutes, feed.language = bool(alarm), alarm_minutes, language
    feed.full_clean()
    after = {"alarm": feed.alarm, "alarm_minutes": feed.alarm_minutes, "language": feed.language}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        feed.updated_at = timezone.now()
        feed.save(update_fields=["alarm", "alarm_minutes", "language", "updated_at"])
        audit_record(actor=acting_user, action="calendar_feed.update", target=feed, changes=changes)
    return feed


# --- Published duties that changed ----------------------------------------------------------


def _key(doctor_id: int, day, duty: str) -> tuple:
    return doctor_id, day, duty


def feed_duties_changed(*, removed: Iterable[DutyDay] = (), added: Iterable[DutyDay] = ()) -> None:
    """Record in the doctors' feeds that `removed` duties are no longer theirs (CANCELLED) and
    `added` ones are (CONFIRMED); each is (doctor, date, duty, facility, day kind) as it is or was.
    Only duties of published months count (a draft is not in any feed). Call it with the duty as it
    was before a change (for `removed`) and as it is after (for `added`), in the caller's
    transaction. Two queries, however many duties."""
    now = timezone.now()
    wanted: dict[tuple, tuple[str, DutyDay]] = {}
    for status, duties in ((FeedEvent.Status.CANCELLED, removed), (FeedEvent.Status.CONFIRMED, added)):
        for duty in duties:
            if duty.roster.is_published:
                wanted[_key(duty.doctor_id, duty.date, duty.duty)] = (status, duty)
    if not wanted:
        return
    doctor_ids = {k[0] for k in wanted}
    dates = {k[1] for k in wanted}
    existing = {
        _key(e.doctor_id, e.date, e.duty): e
        for e in FeedEvent.objects.select_for_update().filter(doctor_id__in=doctor_ids, date__in=dates)
    }
    new, changed = [], []
    for key, (status, duty) in wanted.items():
        event = existing.get(key)
        if event is None:
            # A cancelled published duty was at SEQUENCE 0; a new duty starts there.
            new.append(FeedEvent(
                doctor_id=duty.doctor_id, date=duty.date, duty=duty.duty, facility_id=duty.facility_id,
                day_kind=duty.day_kind, status=status, modified=now,
                sequence=1 if status == FeedEvent.Status.CANCELLED else 0,
            ))  # fmt: skip
            continue
        event.status, event.facility_id, event.day_kind = status, duty.facility_id, duty.day_kind
        event.sequence += 1
        event.modified = now
        changed.append(event)
    FeedEvent.objects.bulk_create(new)
    FeedEvent.objects.bulk_update(changed, ["status", "facility", "day_kind", "sequence", "modified"])
