"""Slots: materialising them from weekly availability minus exceptions, public holidays and leave,
for the booking horizon; and a slot's places, taken and given back only by conditional UPDATEs so
the database keeps `booked <= places` under concurrency."""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.scoping import require_facility_reach
from core.audit import audit_record
from telemedicine import conf
from telemedicine.exceptions import BookingConflict
from telemedicine.models import AvailabilityException, Consultant, ConsultBooking, Slot, WeeklyAvailability
from telemedicine.services.calendar import (
    calendar_loaded_exists,
    doctor_on_leave,
    local_day_and_year,
    local_day_bounds,
    local_dt,
    on_leave_exists,
    public_holidays,
    require_calendar,
    years_without_calendar,
)

logger = logging.getLogger(__name__)


@dataclass
class MaterialiseReport:
    created: int = 0
    withdrawn: int = 0
    reopened: int = 0
    bookings_on_withdrawn: int = 0
    # Years of the range without a loaded holiday calendar: no slots are offered on their days.
    missing_calendar_years: list = field(default_factory=list)


def _wanted_slots(availabilities, exceptions, holidays, start, end, on_leave, closed_years=()) -> dict:
    by_weekday = defaultdict(list)
    for availability in availabilities:
        by_weekday[availability.weekday].append(availability)
    wanted = {}
    day = start
    while day <= end:
        if day not in holidays and day.year not in closed_years:
            for availability in by_weekday[day.weekday()]:
                consultant = availability.consultant
                if not availability.applies_on(day) or on_leave(consultant.doctor_id, day):
                    continue
                length = datetime.timedelta(minutes=availability.slot_minutes)
                at = local_dt(day, availability.start_time)
                close = local_dt(day, availability.end_time)
                while at + length <= close:
                    blocked = any(
                        e.covers(timezone.localtime(at).time(), timezone.localtime(at + length).time())
                        for e in exceptions.get((consultant.pk, day), ())
                    )
                    if not blocked:
                        wanted.setdefault(
                            (consultant.pk, at),
                            Slot(
                                consultant=consultant,
                                department_id=consultant.department_id,
                                availability=availability,
                                starts_at=at,
                                ends_at=at + length,
                                places=availability.places,
                            ),
                        )
                    at += length
        day += datetime.timedelta(days=1)
    return wanted


@transaction.atomic
def slots_materialise(
    *, start: datetime.date, end: datetime.date, consultant_ids=None, department_id=None
) -> MaterialiseReport:
    """Make the slot rows match availability minus exceptions, holidays and leave for the days
    start..end: create missing slots, withdraw ones no longer offered, reopen ones offered again.
    Past slots are never touched; booked slots that are withdrawn keep their bookings."""
    report = MaterialiseReport()
    consultants = Consultant.objects.filter(is_active=True)
    if consultant_ids is not None:
        consultants = consultants.filter(pk__in=list(consultant_ids))
    if department_id is not None:
        consultants = consultants.filter(department_id=department_id)
    availabilities = list(
        WeeklyAvailability.objects.filter(consultant__in=consultants, valid_from__lte=end)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=start))
        .select_related("consultant")
    )
    exceptions = defaultdict(list)
    for exception in AvailabilityException.objects.filter(consultant__in=consultants, date__gte=start, date__lte=end):
        exceptions[(exception.consultant_id, exception.date)].append(exception)
    leave_cache: dict = {}

    def on_leave(doctor_id, day):
        if doctor_id is None:
            return False
        if (doctor_id, day) not in leave_cache:
            leave_cache[(doctor_id, day)] = doctor_on_leave(doctor_id, day)
        return leave_cache[(doctor_id, day)]

    missing_years = years_without_calendar(start, end)
    if missing_years:
        report.missing_calendar_years = missing_years
        logger.warning(
            "teleconsult slots: no holiday calendar for %s; no slots offered on those days until it is loaded",
            ", ".join(map(str, missing_years)),
        )
    wanted = _wanted_slots(availabilities, exceptions, public_holidays(start, end), start, end, on_leave, set(missing_years))
    now = timezone.now()
    first, _last = local_day_bounds(start)
    _first, last = local_day_bounds(end)
    existing_scope = Slot.objects.filter(starts_at__gte=max(first, now), starts_at__lt=last)
    if consultant_ids is not None:
        existing_scope = existing_scope.filter(consultant_id__in=list(consultant_ids))
    if department_id is not None:
        existing_scope = existing_scope.filter(consultant__department_id=department_id)
    existing = {(s.consultant_id, s.starts_at): s for s in existing_scope}
    to_create = [slot for key, slot in wanted.items() if key not in existing and slot.starts_at >= now]
    if to_create:
        Slot.objects.bulk_create(to_create, ignore_conflicts=True)
        report.created = len(to_create)
    withdraw = [s.pk for key, s in existing.items() if key not in wanted and not s.is_withdrawn]
    reopen = [s.pk for key, s in existing.items() if key in wanted and s.is_withdrawn]
    if withdraw:
        report.withdrawn = Slot.objects.filter(pk__in=withdraw).update(is_withdrawn=True)
        report.bookings_on_withdrawn = ConsultBooking.objects.filter(
            slot_id__in=withdraw, status__in=ConsultBooking.OPEN
        ).count()
    if reopen:
        report.reopened = Slot.objects.filter(pk__in=reopen).update(is_withdrawn=False)
    return report


def slots_materialise_horizon(*, today: datetime.date | None = None, consultant_ids=None) -> MaterialiseReport:
    """Slots from today to the end of the booking horizon (TELECONSULT_SLOT_HORIZON_DAYS)."""
    today = today or timezone.localdate()
    return slots_materialise(
        start=today, end=today + datetime.timedelta(days=conf.slot_horizon_days()), consultant_ids=consultant_ids
    )


# --- A slot's places ---------------------------------------------------------------------------


def slot_bookable_read(slot_id, *, checks: dict | None = None, only=()):
    """The SELECT `slot_bookable` reads (one row, as `.first()` reads it): the slot with its
    consultant, department and facility, and as annotations whether the slot's year has a holiday
    calendar (`calendar_loaded`) and whether the consultant is on approved leave that day
    (`consultant_on_leave`, for `slot_check_consultant_available`). `checks` adds the caller's own
    conditions ({name: Exists over OuterRef("local_day"), OuterRef("starts_at")…}), read from the
    slot by the same name; `only` narrows the columns read to those the caller uses."""
    return (
        Slot.objects.select_related("consultant__department__facility", "consultant__user")
        .annotate(**local_day_and_year())
        .annotate(
            calendar_loaded=calendar_loaded_exists(OuterRef("local_year")),
            consultant_on_leave=on_leave_exists(OuterRef("consultant__doctor_id"), OuterRef("local_day")),
            **(checks or {}),
        )
        .only(*only)
        .filter(pk=slot_id)
        .order_by("pk")  # one row: not the default order, which joins the consultant's own ordering
    )


def slot_bookable(slot_id, *, now, checks: dict | None = None, only=()) -> Slot:
    """The slot a booking may take: it exists, has not started, and is still offered (one SELECT,
    `slot_bookable_read`)."""
    return slot_check_bookable(slot_bookable_read(slot_id, checks=checks, only=only).first(), now=now)


def slot_check_bookable(slot: Slot | None, *, now) -> Slot:
    """`slot_bookable`'s refusals, given what `slot_bookable_read` read (None: no such slot)."""
    if slot is None:
        raise ValidationError({"slot": _("This time slot does not exist. Choose a slot from the list of open slots.")})
    if slot.starts_at <= now:
        raise ValidationError({"slot": _("This time slot has already started. Choose a later time.")})
    if not slot.calendar_loaded:
        require_calendar(timezone.localdate(slot.starts_at))  # names the year to load
    if slot.is_withdrawn or not slot.consultant.is_active:
        raise BookingConflict(
            _("The consultant no longer offers this time slot. Choose another time."), code="slot_withdrawn"
        )
    return slot


def slot_check_consultant_available(slot: Slot) -> None:
    """Leave approved after the slots were materialised closes them at once for new bookings."""
    day = timezone.localdate(slot.starts_at)
    on_leave = getattr(slot, "consultant_on_leave", None)  # read with the slot by `slot_bookable`
    if on_leave is None:
        on_leave = doctor_on_leave(slot.consultant.doctor_id, day)
    if on_leave:
        raise BookingConflict(
            _("The consultant is on leave on %(date)s. Choose another day or another consultant.") % {"date": day.isoformat()},
            code="consultant_on_leave",
        )


def slot_take_place(slot: Slot) -> None:
    taken = Slot.objects.filter(pk=slot.pk, is_withdrawn=False, booked__lt=F("places")).update(booked=F("booked") + 1)
    if not taken:
        raise BookingConflict(
            _("This time slot is already fully booked. Choose another time or another consultant."), code="slot_full"
        )


def slot_release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


@transaction.atomic
def slot_withdrawn_set(*, slot: Slot, withdrawn: bool, acting_user) -> MaterialiseReport:
    """Withdraw a slot by hand (or offer it again) from the admin: the slot's facility must be in
    the acting user's reach; its open bookings keep their place and are counted for the warning."""
    stored = Slot.objects.select_for_update(of=("self",)).select_related("department__facility").get(pk=slot.pk)
    require_facility_reach(acting_user, stored.department.facility, field=None)
    report = MaterialiseReport()
    if stored.is_withdrawn != bool(withdrawn):
        Slot.objects.filter(pk=stored.pk).update(is_withdrawn=bool(withdrawn))
        audit_record(
            actor=acting_user, action="teleconsult.slot.update", target=stored,
            changes={"is_withdrawn": [stored.is_withdrawn, bool(withdrawn)]},
        )
        if withdrawn:
            report.withdrawn = 1
            report.bookings_on_withdrawn = ConsultBooking.objects.filter(slot=stored, status__in=ConsultBooking.OPEN).count()
        else:
            report.reopened = 1
    slot.is_withdrawn = bool(withdrawn)
    return report
