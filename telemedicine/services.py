"""Writes of teleconsultation: availability, slot materialisation, bookings and their lifecycle.

Each service runs in one transaction, records a BookingEvent (for bookings) and an audit entry,
and queues its notifications in the same transaction."""

import datetime
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from clinics.models import Facility, Role
from clinics.scoping import OUT_OF_REACH, require_facility_reach, user_role
from core.audit import audit_bulk, audit_record
from core.hashing import keyed_hash
from core.validators import resident_id_birth_date, resident_id_sex, validate_birth_date, validate_resident_id
from staffing.reach import require_doctor_reach
from staffing.selectors import doctor_current_posting
from telemedicine import conf, notify
from telemedicine.exceptions import BookingConflict
from telemedicine.models import (
    AvailabilityException,
    BookingEvent,
    Consultant,
    ConsultBooking,
    ConsultOutcome,
    Slot,
    WeeklyAvailability,
)

logger = logging.getLogger(__name__)
Status = ConsultBooking.Status
Side = ConsultBooking.Side


def local_dt(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_dt(day, datetime.time.min), local_dt(day + datetime.timedelta(days=1), datetime.time.min)


# --- Calendar and leave (the rosters contract) ------------------------------------------------


def public_holidays(start: datetime.date, end: datetime.date) -> set[datetime.date]:
    """Public holidays (rest days in the State Council schedule) between start and end."""
    from staffing.rosters.exceptions import CalendarMissing
    from staffing.rosters.selectors import holidays_between, is_rest_day

    try:
        return {day for day in holidays_between(start=start, end=end) if is_rest_day(day)}
    except CalendarMissing as exc:
        logger.warning("teleconsult slots: holiday calendar missing (%s); holidays not excluded", exc)
        return set()


def doctor_on_leave(doctor_id: int | None, day: datetime.date) -> bool:
    if doctor_id is None:
        return False
    from staffing.rosters.selectors import doctor_on_leave as on_leave

    return on_leave(doctor_id=doctor_id, day=day)


# --- Availability and slots -------------------------------------------------------------------


@dataclass
class MaterialiseReport:
    created: int = 0
    withdrawn: int = 0
    reopened: int = 0
    bookings_on_withdrawn: int = 0


def _wanted_slots(availabilities, exceptions, holidays, start, end, on_leave) -> dict:
    by_weekday = defaultdict(list)
    for availability in availabilities:
        by_weekday[availability.weekday].append(availability)
    wanted = {}
    day = start
    while day <= end:
        if day not in holidays:
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

    wanted = _wanted_slots(availabilities, exceptions, public_holidays(start, end), start, end, on_leave)
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


def slots_materialise_horizon(*, today: datetime.date | None = None) -> MaterialiseReport:
    today = today or timezone.localdate()
    return slots_materialise(start=today, end=today + datetime.timedelta(days=conf.slot_horizon_days()))


def _rematerialise_consultant(consultant_id: int) -> MaterialiseReport:
    today = timezone.localdate()
    return slots_materialise(
        start=today, end=today + datetime.timedelta(days=conf.slot_horizon_days()), consultant_ids=[consultant_id]
    )


def _require_consultant_reach(acting_user, consultant_id, *, field: str = "consultant") -> None:
    """Availability and exceptions belong to the consultant's facility: whoever changes them
    reaches that facility, and a consultant changes only their own. None is the system."""
    if acting_user is None or consultant_id is None:
        return
    consultant = Consultant.objects.select_related("department__facility").filter(pk=consultant_id).first()
    if consultant is None:
        return  # full_clean names the missing consultant
    if user_role(acting_user) == Role.CONSULTANT and consultant.user_id != acting_user.pk:
        message = _("You can change only your own availability; ask the county health bureau to change another consultant's.")
        raise ValidationError({field: ValidationError(message, code=OUT_OF_REACH)})
    require_facility_reach(acting_user, consultant.department.facility, field=field)


def _stored(model, pk, field: str):
    return model.objects.filter(pk=pk).values_list(field, flat=True).first() if pk else None


AVAILABILITY_FIELDS = ["weekday", "start_time", "end_time", "slot_minutes", "places", "valid_from", "valid_until"]
EXCEPTION_FIELDS = ["date", "kind", "start_time", "end_time"]


def _save_audited(obj, *, noun: str, fields, acting_user, reason: str = "") -> None:
    creating = obj.pk is None
    obj.full_clean()
    obj.save()
    audit_record(
        actor=acting_user,
        action=f"teleconsult.{noun}." + ("create" if creating else "update"),
        target=obj,
        changes={f: getattr(obj, f) for f in fields},
        reason=reason,
    )


@transaction.atomic
def availability_save(*, availability: WeeklyAvailability, acting_user) -> WeeklyAvailability:
    """Create or change a block of weekly availability and bring the slots in line with it."""
    _require_consultant_reach(acting_user, _stored(WeeklyAvailability, availability.pk, "consultant_id"))
    _require_consultant_reach(acting_user, availability.consultant_id)
    _save_audited(availability, noun="availability", fields=AVAILABILITY_FIELDS, acting_user=acting_user)
    _rematerialise_consultant(availability.consultant_id)
    return availability


@transaction.atomic
def availability_delete(*, availability: WeeklyAvailability, acting_user) -> None:
    consultant_id = _stored(WeeklyAvailability, availability.pk, "consultant_id") or availability.consultant_id
    _require_consultant_reach(acting_user, consultant_id)
    audit_record(actor=acting_user, action="teleconsult.availability.delete", target=availability)
    availability.delete()
    _rematerialise_consultant(consultant_id)


@transaction.atomic
def exception_save(*, exception: AvailabilityException, acting_user) -> MaterialiseReport:
    """Record an exception (leave, holiday duty…) and withdraw the slots it covers; a moved
    exception gives its old day back."""
    _require_consultant_reach(acting_user, _stored(AvailabilityException, exception.pk, "consultant_id"))
    _require_consultant_reach(acting_user, exception.consultant_id)
    before = AvailabilityException.objects.filter(pk=exception.pk).values_list("date", flat=True).first() if exception.pk else None
    _save_audited(exception, noun="exception", fields=EXCEPTION_FIELDS, acting_user=acting_user, reason=exception.reason)
    if before is not None and before != exception.date:
        slots_materialise(start=before, end=before, consultant_ids=[exception.consultant_id])
    return slots_materialise(start=exception.date, end=exception.date, consultant_ids=[exception.consultant_id])


@transaction.atomic
def exception_delete(*, exception: AvailabilityException, acting_user) -> None:
    _require_consultant_reach(acting_user, _stored(AvailabilityException, exception.pk, "consultant_id") or exception.consultant_id)
    consultant_id, day = exception.consultant_id, exception.date
    audit_record(actor=acting_user, action="teleconsult.exception.delete", target=exception)
    exception.delete()
    slots_materialise(start=day, end=day, consultant_ids=[consultant_id])


# --- Helpers for bookings ----------------------------------------------------------------------


def _event(booking, *, kind, actor, from_status="", note="", from_slot=None, to_slot=None) -> BookingEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return BookingEvent.objects.create(
        booking=booking,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=booking.status,
        from_slot=from_slot,
        to_slot=to_slot,
        note=note[:300],
    )


def _side(user, booking) -> str:
    if user is None:
        return Side.SYSTEM
    if booking.doctor.user_id == user.pk:
        return Side.DOCTOR
    if booking.consultant.user_id == user.pk:
        return Side.CONSULTANT
    return Side.ADMIN


def _is_admin(user) -> bool:
    return user_role(user) == Role.COUNTY_ADMIN


def _require_consultant(booking, user, action: str) -> None:
    if booking.consultant.user_id != getattr(user, "pk", None) and not _is_admin(user):
        raise PermissionDenied(
            _("Only the consultant of this consult can %(action)s it.") % {"action": action}
        )


def _require_party(booking, user, action: str) -> None:
    if getattr(user, "pk", None) not in (booking.doctor.user_id, booking.consultant.user_id) and not _is_admin(user):
        raise PermissionDenied(
            _("Only the booking village doctor or the consultant can %(action)s this consult.") % {"action": action}
        )


def _lock(booking: ConsultBooking) -> ConsultBooking:
    locked = ConsultBooking.objects.select_for_update().get(pk=booking.pk)
    # select_for_update on a join would lock the related rows too; load them afterwards.
    return ConsultBooking.objects.select_related("consultant__department", "doctor", "slot", "facility").get(pk=locked.pk)


def _require_status(booking, allowed, action: str) -> None:
    if booking.status not in allowed:
        raise BookingConflict(
            _("This consult is “%(status)s”, so it cannot be %(action)s.")
            % {"status": booking.get_status_display(), "action": action},
            code="wrong_status",
        )


def _release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _take_place(slot: Slot) -> None:
    taken = Slot.objects.filter(pk=slot.pk, is_withdrawn=False, booked__lt=F("places")).update(booked=F("booked") + 1)
    if not taken:
        raise BookingConflict(
            _("This time slot is already fully booked. Choose another time or another consultant."), code="slot_full"
        )


def _overlap_message(clash: ConsultBooking) -> str:
    return _(
        "This patient already has a consult at %(time)s with %(consultant)s that overlaps this time. "
        "Choose another time, or cancel the other consult first."
    ) % {"time": f"{timezone.localtime(clash.starts_at):%Y-%m-%d %H:%M}", "consultant": clash.consultant.name}


def _check_patient_free(*, patient_key: str, starts_at, ends_at, exclude_pk=None) -> None:
    clash = (
        ConsultBooking.objects.filter(
            patient_key=patient_key, status__in=ConsultBooking.HOLDING, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .exclude(pk=exclude_pk)
        .select_related("consultant")
        .first()
    )
    if clash:
        raise BookingConflict(_overlap_message(clash), code="patient_overlap")


def _bookable_slot(slot_id, *, now) -> Slot:
    slot = Slot.objects.select_related("consultant__department__facility", "consultant__user").filter(pk=slot_id).first()
    if slot is None:
        raise ValidationError({"slot": _("This time slot does not exist. Choose a slot from the list of open slots.")})
    if slot.starts_at <= now:
        raise ValidationError({"slot": _("This time slot has already started. Choose a later time.")})
    if slot.is_withdrawn or not slot.consultant.is_active:
        raise BookingConflict(
            _("The consultant no longer offers this time slot. Choose another time."), code="slot_withdrawn"
        )
    return slot


def _check_consultant_available(slot) -> None:
    """Leave approved after the slots were materialised closes them at once for new bookings."""
    day = timezone.localdate(slot.starts_at)
    if doctor_on_leave(slot.consultant.doctor_id, day):
        raise BookingConflict(
            _("The consultant is on leave on %(date)s. Choose another day or another consultant.") % {"date": day.isoformat()},
            code="consultant_on_leave",
        )


def _check_doctor_not_on_leave(doctor, slot) -> None:
    day = timezone.localdate(slot.starts_at)
    if doctor_on_leave(doctor.pk, day):
        raise ValidationError(
            {
                "slot": _(
                    "You are on approved leave on %(date)s, so you cannot book a consult for that day. "
                    "Choose another day, or ask the doctor on duty to book it."
                )
                % {"date": day.isoformat()}
            }
        )


def _check_mode(facility: Facility, mode: str) -> None:
    if mode == ConsultBooking.Mode.VIDEO and not facility.telemedicine_enabled:
        raise ValidationError(
            {
                "mode": _(
                    "Your clinic (%(clinic)s) has no telemedicine video link, so it can book phone consults only. "
                    "Choose “phone” as the mode."
                )
                % {"clinic": facility.name}
            }
        )


@dataclass
class Patient:
    name: str
    sex: str
    birth_date: datetime.date | None = None
    age: int | None = None
    id_number: str = ""
    poverty_household: bool = False


def clean_patient(patient: Patient, *, today: datetime.date | None = None) -> Patient:
    """Validate the patient's details; the ID number, when given, supplies and checks birth date and sex."""
    today = today or timezone.localdate()
    errors = {}
    patient.name = (patient.name or "").strip()
    if not patient.name:
        errors["patient_name"] = [_("Enter the patient's name.")]
    if patient.sex not in ConsultBooking.Sex.values:
        errors["patient_sex"] = [_("Choose the patient's sex: male or female.")]
    if patient.id_number:
        try:
            patient.id_number = validate_resident_id(patient.id_number)
        except ValidationError as exc:
            errors["patient_id_number"] = exc.messages
        else:
            born = resident_id_birth_date(patient.id_number)
            if patient.birth_date and patient.birth_date != born:
                errors["patient_birth_date"] = [_("The birth date does not match the one in the ID number (digits 7–14).")]
            patient.birth_date = patient.birth_date or born
            if patient.sex in ConsultBooking.Sex.values and resident_id_sex(patient.id_number) != patient.sex:
                errors["patient_sex"] = [_("The sex does not match the ID number (the 17th digit is odd for male, even for female).")]
    try:
        validate_birth_date(patient.birth_date, today=today)
    except ValidationError as exc:
        errors["patient_birth_date"] = exc.error_list
    else:
        if patient.birth_date and patient.birth_date.year < today.year - 130:
            errors["patient_birth_date"] = [_("The birth date is more than 130 years ago; check it.")]
    if patient.age is not None and not 0 <= patient.age <= 130:
        errors["patient_age"] = [_("The age must be between 0 and 130 years.")]
    if patient.birth_date is None and patient.age is None and "patient_birth_date" not in errors:
        errors["patient_birth_date"] = [_("Give the patient's birth date or age.")]
    if errors:
        raise ValidationError(errors)
    return patient


def patient_key(patient: Patient, facility_id: int) -> str:
    """Who the patient is, for the no-overlap rule: the ID number when known, otherwise name, sex
    and birth date (or age) at the booking clinic."""
    if patient.id_number:
        return keyed_hash("id:" + patient.id_number)
    born = patient.birth_date.isoformat() if patient.birth_date else f"age{patient.age}"
    return keyed_hash(f"clinic:{facility_id}|{patient.name}|{patient.sex}|{born}")


def _context(booking: ConsultBooking, **extra) -> dict:
    return {
        "start": f"{timezone.localtime(booking.starts_at):%m月%d日 %H:%M}",
        "doctor_name": booking.doctor.name,
        "facility_name": booking.facility.name,
        "consultant_name": booking.consultant.name,
        "department": booking.consultant.department.name,
        "patient": booking.patient_name[:1] + "*" * (len(booking.patient_name) - 1),
        **extra,
    }


def _schedule_reminders(booking: ConsultBooking, now) -> None:
    for kind, before in (("consult_reminder_24h", datetime.timedelta(hours=24)), ("consult_reminder_30m", datetime.timedelta(minutes=30))):
        due = booking.starts_at - before
        if due > now:
            for user in (booking.doctor.user, booking.consultant.user):
                notify.send(user, kind, booking, _context(booking), due_at=due)


def _cancel_reminders(booking: ConsultBooking) -> None:
    notify.cancel(booking, ["consult_reminder_24h", "consult_reminder_30m"])


# --- Booking -------------------------------------------------------------------------------


@transaction.atomic
def booking_create(
    *,
    slot_id: int,
    acting_user,
    patient: Patient,
    chief_complaint: str,
    urgency: str = ConsultBooking.Urgency.ROUTINE,
    mode: str = ConsultBooking.Mode.VIDEO,
) -> ConsultBooking:
    """A village doctor books a place in a slot for a patient.

    Refusals: ValidationError (400) for what the doctor must change, BookingConflict (409) when
    the slot is full or the patient is already booked at an overlapping time."""
    now = timezone.now()
    doctor = getattr(acting_user, "doctor", None)
    if user_role(acting_user) != Role.VILLAGE_DOCTOR or doctor is None:
        raise PermissionDenied(_("Only a village doctor linked to the doctor register can book a teleconsult."))
    posting = doctor_current_posting(doctor=doctor)
    if posting is None:
        raise ValidationError(
            _("You have no current posting at a clinic, so you cannot book. Ask the township admin to record your posting.")
        )
    facility = posting.facility
    # The booking clinic is the doctor's posting in force, which the login follows (staffing).
    require_facility_reach(acting_user, facility, field=None)
    chief_complaint = (chief_complaint or "").strip()
    errors = {}
    if not chief_complaint:
        errors["chief_complaint"] = [_("Describe the chief complaint so the consultant can prepare.")]
    if urgency not in ConsultBooking.Urgency.values:
        errors["urgency"] = [_("Choose the urgency: routine or urgent.")]
    if mode not in ConsultBooking.Mode.values:
        errors["mode"] = [_("Choose the mode: video or phone.")]
    try:
        patient = clean_patient(patient)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    _check_mode(facility, mode)
    slot = _bookable_slot(slot_id, now=now)
    _check_consultant_available(slot)
    _check_doctor_not_on_leave(doctor, slot)
    key = patient_key(patient, facility.pk)
    _check_patient_free(patient_key=key, starts_at=slot.starts_at, ends_at=slot.ends_at)
    _take_place(slot)
    booking = ConsultBooking(
        slot=slot,
        consultant=slot.consultant,
        department=slot.consultant.department,
        facility=facility,
        doctor=doctor,
        requested_by=acting_user,
        patient_name=patient.name,
        patient_sex=patient.sex,
        patient_birth_date=patient.birth_date,
        patient_age=patient.age,
        patient_id_number=patient.id_number,
        patient_key=key,
        poverty_household=patient.poverty_household,
        chief_complaint=chief_complaint,
        urgency=urgency,
        mode=mode,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        room_token=secrets.token_urlsafe(32),
        requested_at=now,
    )
    booking.full_clean(exclude=["slot", "consultant", "department", "facility", "doctor", "requested_by"])
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        # The exclusion constraint caught an overlapping consult saved at the same moment.
        raise BookingConflict(
            _("This patient was booked at an overlapping time a moment ago. Choose another time."), code="patient_overlap"
        ) from exc
    _event(booking, kind=BookingEvent.Kind.REQUESTED, actor=acting_user, to_slot=slot)
    audit_record(
        actor=acting_user,
        action="teleconsult.booking.create",
        target=booking,
        changes={"slot": slot.pk, "consultant": slot.consultant_id, "mode": mode, "urgency": urgency},
    )
    notify.send(slot.consultant.user, "consult_booked", booking, _context(booking))
    return booking


def _transition(booking, *, to, kind, actor, note="", fields=None, reason="") -> ConsultBooking:
    before = booking.status
    booking.status = to
    for name, value in (fields or {}).items():
        setattr(booking, name, value)
    booking.save(update_fields=["status", *(fields or {})])
    _event(booking, kind=kind, actor=actor, from_status=before, note=note or reason)
    audit_record(
        actor=actor,
        action=f"teleconsult.booking.{kind}",
        target=booking,
        changes={"status": [before, to], **{k: str(v) for k, v in (fields or {}).items() if k.endswith("_at")}},
        reason=reason,
    )
    return booking


@transaction.atomic
def booking_confirm(*, booking: ConsultBooking, acting_user) -> ConsultBooking:
    booking = _lock(booking)
    _require_consultant(booking, acting_user, _("confirm"))
    _require_status(booking, [Status.REQUESTED], pgettext("consult action", "confirmed"))
    if booking.ends_at <= timezone.now():
        raise ValidationError(_("This consult's time has passed; it can no longer be confirmed."))
    _transition(booking, to=Status.CONFIRMED, kind=BookingEvent.Kind.CONFIRMED, actor=acting_user, fields={"confirmed_at": timezone.now()})
    notify.send(booking.doctor.user, "consult_confirmed", booking, _context(booking))
    _schedule_reminders(booking, timezone.now())
    return booking


@transaction.atomic
def booking_decline(*, booking: ConsultBooking, reason: str, acting_user) -> ConsultBooking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for declining, so the village doctor knows what to do next.")})
    booking = _lock(booking)
    _require_consultant(booking, acting_user, _("decline"))
    _require_status(booking, ConsultBooking.OPEN, pgettext("consult action", "declined"))
    _release_place(booking.slot_id)
    _transition(
        booking, to=Status.DECLINED, kind=BookingEvent.Kind.DECLINED, actor=acting_user, reason=reason,
        fields={"decline_reason": reason[:300], "finished_at": timezone.now()},
    )
    _cancel_reminders(booking)
    notify.send(booking.doctor.user, "consult_declined", booking, _context(booking, reason=reason))
    return booking


@transaction.atomic
def booking_start(*, booking: ConsultBooking, acting_user) -> ConsultBooking:
    booking = _lock(booking)
    _require_consultant(booking, acting_user, _("start"))
    _require_status(booking, [Status.CONFIRMED], pgettext("consult action", "started"))
    now = timezone.now()
    opens = booking.starts_at - conf.video_opens_before()
    if now < opens:
        raise ValidationError(
            _("The consult can be started from %(time)s (%(minutes)s minutes before its start).")
            % {"time": f"{timezone.localtime(opens):%H:%M}", "minutes": int(conf.video_opens_before().total_seconds() // 60)}
        )
    if now > booking.ends_at + conf.no_show_grace():
        raise ValidationError(_("This consult's time has passed; it can no longer be started."))
    return _transition(booking, to=Status.IN_PROGRESS, kind=BookingEvent.Kind.STARTED, actor=acting_user, fields={"started_at": now})


OUTCOME_FIELDS = ["findings", "advice", "medication_advice", "referral", "referral_department", "follow_up_date"]


@transaction.atomic
def booking_complete(
    *,
    booking: ConsultBooking,
    acting_user,
    findings: str,
    advice: str,
    medication_advice: str = "",
    referral: bool = False,
    referral_department=None,
    follow_up_date: datetime.date | None = None,
) -> ConsultBooking:
    """The consultant records the structured outcome; the consult is completed."""
    booking = _lock(booking)
    _require_consultant(booking, acting_user, _("complete"))
    _require_status(booking, [Status.IN_PROGRESS], pgettext("consult action", "completed"))
    errors = {}
    if not (findings or "").strip():
        errors["findings"] = [_("Record the findings.")]
    if not (advice or "").strip():
        errors["advice"] = [_("Record your advice for the village doctor.")]
    if referral and referral_department is None:
        errors["referral_department"] = [_("Choose the county-hospital department the patient is referred to.")]
    if referral_department is not None and (
        not referral or referral_department.facility.kind != Facility.Kind.COUNTY_HOSPITAL
    ):
        if not referral:
            errors["referral_department"] = [_("Tick “referral” when you choose a referral department, or leave the department empty.")]
        else:
            errors["referral_department"] = [_("A referral goes to a department of the county hospital.")]
    if follow_up_date is not None and follow_up_date < timezone.localdate():
        errors["follow_up_date"] = [_("The follow-up date cannot be in the past.")]
    if errors:
        raise ValidationError(errors)
    outcome = ConsultOutcome(
        booking=booking,
        findings=findings.strip(),
        advice=advice.strip(),
        medication_advice=(medication_advice or "").strip(),
        referral=bool(referral),
        referral_department=referral_department if referral else None,
        follow_up_date=follow_up_date,
        recorded_by=acting_user,
    )
    outcome.full_clean(exclude=["booking", "recorded_by"])
    outcome.save()
    _transition(booking, to=Status.COMPLETED, kind=BookingEvent.Kind.COMPLETED, actor=acting_user, fields={"finished_at": timezone.now()})
    summary = _("referred to %(department)s") % {"department": outcome.referral_department.name} if outcome.referral else _("no referral")
    notify.send(booking.doctor.user, "consult_outcome", booking, _context(booking, summary=summary))
    return booking


def _check_change_window(booking, action: str) -> None:
    deadline = booking.starts_at - conf.cancel_closes_before()
    if timezone.now() > deadline:
        hours = int(conf.cancel_closes_before().total_seconds() // 3600)
        raise ValidationError(
            _(
                "A consult can no longer be %(action)s within %(hours)s hours of its start (closed at %(deadline)s). "
                "Phone the other side instead."
            )
            % {"action": action, "hours": hours, "deadline": f"{timezone.localtime(deadline):%Y-%m-%d %H:%M}"}
        )


@transaction.atomic
def booking_cancel(*, booking: ConsultBooking, reason: str, acting_user) -> ConsultBooking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for cancelling.")})
    booking = _lock(booking)
    _require_party(booking, acting_user, _("cancel"))
    _require_status(booking, ConsultBooking.OPEN, pgettext("consult action", "cancelled"))
    _check_change_window(booking, pgettext("consult action", "cancelled"))
    _release_place(booking.slot_id)
    side = _side(acting_user, booking)
    _transition(
        booking, to=Status.CANCELLED, kind=BookingEvent.Kind.CANCELLED, actor=acting_user, reason=reason,
        fields={"cancelled_at": timezone.now(), "cancelled_by": acting_user, "cancelled_by_side": side, "cancel_reason": reason[:300]},
    )
    _cancel_reminders(booking)
    other = booking.consultant.user if side == Side.DOCTOR else booking.doctor.user
    notify.send(other, "consult_cancelled", booking, _context(booking, reason=reason))
    if side == Side.ADMIN:
        notify.send(booking.consultant.user, "consult_cancelled", booking, _context(booking, reason=reason))
    return booking


@transaction.atomic
def booking_reschedule(*, booking: ConsultBooking, slot_id: int, acting_user, reason: str = "") -> ConsultBooking:
    """Move a booking to another slot. The consult goes back to "requested" for the (possibly new)
    consultant to confirm; the move is kept in the booking's events."""
    booking = _lock(booking)
    if booking.doctor.user_id != getattr(acting_user, "pk", None) and not _is_admin(acting_user):
        raise PermissionDenied(_("Only the village doctor who booked this consult can reschedule it."))
    _require_status(booking, ConsultBooking.OPEN, pgettext("consult action", "rescheduled"))
    _check_change_window(booking, pgettext("consult action", "rescheduled"))
    if booking.slot_id == slot_id:
        raise ValidationError({"slot": _("Choose a different time slot from the current one.")})
    new_slot = _bookable_slot(slot_id, now=timezone.now())
    _check_mode(booking.facility, booking.mode)
    _check_consultant_available(new_slot)
    _check_doctor_not_on_leave(booking.doctor, new_slot)
    _check_patient_free(
        patient_key=booking.patient_key, starts_at=new_slot.starts_at, ends_at=new_slot.ends_at, exclude_pk=booking.pk
    )
    _take_place(new_slot)
    _release_place(booking.slot_id)
    old_slot, old_status, old_start, old_consultant = booking.slot, booking.status, booking.starts_at, booking.consultant
    _cancel_reminders(booking)
    booking.slot = new_slot
    booking.consultant = new_slot.consultant
    booking.department = new_slot.consultant.department
    booking.starts_at, booking.ends_at = new_slot.starts_at, new_slot.ends_at
    booking.status = Status.REQUESTED
    booking.confirmed_at = None
    booking.reschedule_count += 1
    try:
        with transaction.atomic():
            booking.save(
                update_fields=["slot", "consultant", "department", "starts_at", "ends_at", "status", "confirmed_at", "reschedule_count"]
            )
    except IntegrityError as exc:
        raise BookingConflict(
            _("This patient was booked at an overlapping time a moment ago. Choose another time."), code="patient_overlap"
        ) from exc
    _event(
        booking, kind=BookingEvent.Kind.RESCHEDULED, actor=acting_user, from_status=old_status,
        from_slot=old_slot, to_slot=new_slot, note=reason,
    )
    audit_record(
        actor=acting_user,
        action="teleconsult.booking.rescheduled",
        target=booking,
        changes={"slot": [old_slot.pk, new_slot.pk], "starts_at": [old_start, new_slot.starts_at], "status": [old_status, Status.REQUESTED]},
        reason=reason,
    )
    context = _context(booking, old_start=f"{timezone.localtime(old_start):%m月%d日 %H:%M}")
    notify.send(booking.consultant.user, "consult_rescheduled", booking, context)
    if old_consultant.pk != booking.consultant_id:
        notify.send(old_consultant.user, "consult_rescheduled", booking, context)
    return booking


# --- Periodic ----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    no_show: int = 0
    expired: int = 0


@transaction.atomic
def bookings_sweep_past(*, now: datetime.datetime | None = None) -> SweepReport:
    """After a slot's end plus the grace period: a confirmed consult never started is a no-show;
    a request the consultant never confirmed is cancelled by the system (its place freed)."""
    now = now or timezone.now()
    cutoff = now - conf.no_show_grace()
    report = SweepReport()
    due = list(
        ConsultBooking.objects.select_for_update(skip_locked=True)
        .filter(status__in=ConsultBooking.OPEN, ends_at__lt=cutoff)
        .order_by("pk")
    )
    no_shows = [b for b in due if b.status == Status.CONFIRMED]
    expired = [b for b in due if b.status == Status.REQUESTED]
    note = _("The consult was not started by the end of its slot plus the grace period.")
    if no_shows:
        ConsultBooking.objects.filter(pk__in=[b.pk for b in no_shows]).update(status=Status.NO_SHOW, finished_at=now)
        BookingEvent.objects.bulk_create(
            BookingEvent(booking=b, kind=BookingEvent.Kind.NO_SHOW, from_status=b.status, to_status=Status.NO_SHOW, note=note, at=now)
            for b in no_shows
        )
        audit_bulk(actor=None, action="teleconsult.booking.no_show", targets=no_shows, changes={"status": [Status.CONFIRMED, Status.NO_SHOW]}, reason=note)
        report.no_show = len(no_shows)
    if expired:
        reason = _("The consultant did not confirm the request before the slot ended.")
        ConsultBooking.objects.filter(pk__in=[b.pk for b in expired]).update(
            status=Status.CANCELLED, cancelled_at=now, cancelled_by_side=Side.SYSTEM, cancel_reason=reason, finished_at=now
        )
        for slot_id in [b.slot_id for b in expired]:
            _release_place(slot_id)
        BookingEvent.objects.bulk_create(
            BookingEvent(booking=b, kind=BookingEvent.Kind.CANCELLED, from_status=b.status, to_status=Status.CANCELLED, note=reason, at=now)
            for b in expired
        )
        audit_bulk(actor=None, action="teleconsult.booking.cancelled", targets=expired, changes={"status": [Status.REQUESTED, Status.CANCELLED]}, reason=reason)
        report.expired = len(expired)
    return report


# --- Consultants -------------------------------------------------------------------------------


@transaction.atomic
def consultant_save(*, consultant: Consultant, acting_user) -> Consultant:
    """Create or change a consultant: the department's facility (before and after a change) must be
    in the acting user's reach, and so must a newly linked register entry."""
    creating = consultant.pk is None
    stored = None if creating else Consultant.objects.select_related("department__facility").filter(pk=consultant.pk).first()
    if stored is not None:
        require_facility_reach(acting_user, stored.department.facility, field="department")
    consultant.full_clean()
    require_facility_reach(acting_user, consultant.department.facility, field="department")
    if consultant.doctor_id is not None and consultant.doctor_id != getattr(stored, "doctor_id", None):
        require_doctor_reach(acting_user, consultant.doctor)
    if consultant.department.facility.kind not in (Facility.Kind.COUNTY_HOSPITAL, Facility.Kind.TOWNSHIP_CENTRE):
        raise ValidationError({"department": _("A consultant belongs to a department of the county hospital or a township health centre.")})
    consultant.save()
    audit_record(
        actor=acting_user,
        action="teleconsult.consultant." + ("create" if creating else "update"),
        target=consultant,
        changes={"department": consultant.department_id, "user": consultant.user_id, "is_active": consultant.is_active},
    )
    if not creating:
        _rematerialise_consultant(consultant.pk)
    return consultant
