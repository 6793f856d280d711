"""Booking a place for a patient, and every step of a booking's life a person takes: confirm,
decline, start, complete (with the outcome), cancel, reschedule.

Each step locks the booking, checks who may take it, asks `flow.BOOKING_FLOW` whether the consult's
state allows it (409 "invalid_transition" if not), checks the time rules, and moves the booking
through the machine, which writes the event and the audit row; notifications are queued in the
same transaction. Refusals: ValidationError (400) for what the user must change, PermissionDenied
(403) for the wrong person, BookingConflict (409) for a full slot, an overlapping consult or a
state that forbids the step."""

import datetime
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from clinics.models import Facility, Role
from clinics.scoping import require_facility_reach, user_role
from core.audit import audit_record
from staffing.models import Posting
from staffing.selectors import login_current_postings
from telemedicine import conf
from telemedicine.models import BookingEvent, ConsultBooking, ConsultOutcome, Slot
from telemedicine.services import notices
from telemedicine.services.calendar import doctor_on_leave, on_leave_exists
from telemedicine.services.compiled import CompiledRead
from telemedicine.services.flow import (
    BOOKING_FLOW,
    booking_event_write,
    booking_lock,
    change_deadline,
    stamps,
    start_window,
)
from telemedicine.services.patients import (
    Patient,
    clean_patient,
    patient_busy_exists,
    patient_check_free,
    patient_key,
    patient_overlap_conflict,
)
from telemedicine.services.slots import (
    slot_bookable,
    slot_bookable_read,
    slot_check_bookable,
    slot_check_consultant_available,
    slot_release_place,
    slot_take_place,
)

Status = ConsultBooking.Status
Side = ConsultBooking.Side


# --- Who may act, and when ---------------------------------------------------------------------


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


def _check_change_window(booking, action: str) -> None:
    deadline = change_deadline(booking)
    if timezone.now() > deadline:
        hours = int(conf.cancel_closes_before().total_seconds() // 3600)
        raise ValidationError(
            _(
                "A consult can no longer be %(action)s within %(hours)s hours of its start (closed at %(deadline)s). "
                "Phone the other side instead."
            )
            % {"action": action, "hours": hours, "deadline": f"{timezone.localtime(deadline):%Y-%m-%d %H:%M}"}
        )


def _check_doctor_not_on_leave(doctor, slot) -> None:
    day = timezone.localdate(slot.starts_at)
    on_leave = getattr(slot, "doctor_on_leave", None)  # asked in the SELECT of the slot (`slot_bookable` checks)
    if on_leave is None:
        on_leave = doctor_on_leave(doctor.pk, day)
    if on_leave:
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


# --- Booking -----------------------------------------------------------------------------------


class _OverlapCaught(Exception):
    """The exclusion constraint refused the INSERT: a consult of the patient at an overlapping
    time was saved at the same moment. Raised out of the booking's transaction, which rolls back
    (the slot's place with it), so the refusal can look up that consult afterwards."""

    def __init__(self, *, patient_key, starts_at, ends_at):
        super().__init__(patient_key)
        self.patient_key, self.starts_at, self.ends_at = patient_key, starts_at, ends_at


# The columns a booking reads and answers with (consult, notice, response); a column left out is
# read by a query of its own when touched, which the statement test would show.
POSTING_READ = (
    "id", "doctor_id", "facility_id", "start_date",
    "doctor__id", "doctor__name", "doctor__user_id",
    "facility__id", "facility__name", "facility__telemedicine_enabled", "facility__township_id", "facility__kind",
)
SLOT_READ = (
    "id", "consultant_id", "department_id", "starts_at", "ends_at", "places", "booked", "is_withdrawn",
    "consultant__id", "consultant__name", "consultant__title", "consultant__is_active", "consultant__is_demo",
    "consultant__department_id", "consultant__user_id", "consultant__doctor_id",
    "consultant__department__id", "consultant__department__name", "consultant__department__facility_id",
    "consultant__department__facility__id", "consultant__department__facility__name",
    # The consultant's login: the notice's recipient (its e-mail for the address resolver).
    "consultant__user__id", "consultant__user__username", "consultant__user__email", "consultant__user__is_active",
)

# The booking's two reads, built by their owners' querysets and compiled once per connection
# (`compiled`): the doctor's posting in force found from the login (staffing's rule), and the slot
# with the calendar's, both leave and the patient's questions as EXISTS on its local day and times.
_POSTING_READ = CompiledRead(
    lambda *, user_id, day: login_current_postings(user=user_id, day=day).only(*POSTING_READ),
    model=Posting, user_id=int, day=datetime.date,
)
_SLOT_READ = CompiledRead(
    lambda *, slot_id, doctor_id, patient_key: slot_bookable_read(
        slot_id,
        only=SLOT_READ,
        checks={
            "doctor_on_leave": on_leave_exists(doctor_id, OuterRef("local_day")),
            "patient_busy": patient_busy_exists(patient_key=patient_key),
        },
    ),
    model=Slot, slot_id=int, doctor_id=int, patient_key=str,
)


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
    try:
        return _booking_create(
            slot_id=slot_id, acting_user=acting_user, patient=patient, chief_complaint=chief_complaint, urgency=urgency, mode=mode
        )
    except _OverlapCaught as caught:
        # The booking's transaction is rolled back: the consult that won is read outside it.
        raise patient_overlap_conflict(
            patient_key=caught.patient_key, starts_at=caught.starts_at, ends_at=caught.ends_at, user=acting_user
        ) from caught.__cause__


@transaction.atomic
def _booking_create(*, slot_id, acting_user, patient, chief_complaint, urgency, mode) -> ConsultBooking:
    now = timezone.now()
    if user_role(acting_user) != Role.VILLAGE_DOCTOR:
        raise PermissionDenied(_("Only a village doctor linked to the doctor register can book a teleconsult."))
    posting = _POSTING_READ.get(user_id=acting_user.pk, day=timezone.localdate(now))
    if posting is None:
        if getattr(acting_user, "doctor", None) is None:
            raise PermissionDenied(_("Only a village doctor linked to the doctor register can book a teleconsult."))
        raise ValidationError(
            _("You have no current posting at a clinic, so you cannot book. Ask the township admin to record your posting.")
        )
    doctor, facility = posting.doctor, posting.facility
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
    key = patient_key(patient, facility.pk)
    # One SELECT answers the slot's, the calendar's, both leave and the patient's questions. The
    # consultant's register entries are left to the notice's address resolvers: two more joins
    # here cost PostgreSQL more planning (about 1 ms) than their own look-up does.
    slot = slot_check_bookable(_SLOT_READ.get(slot_id=slot_id, doctor_id=doctor.pk, patient_key=key), now=now)
    slot_check_consultant_available(slot)
    _check_doctor_not_on_leave(doctor, slot)
    if slot.patient_busy:
        patient_check_free(patient_key=key, starts_at=slot.starts_at, ends_at=slot.ends_at, user=acting_user)
    slot_take_place(slot)
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
    # Fields only: the room token's uniqueness and the CHECK constraints (times in order, age in
    # range…) are the database's to enforce on the INSERT below, not asked again one SELECT each.
    booking.full_clean(
        exclude=["slot", "consultant", "department", "facility", "doctor", "requested_by"],
        validate_unique=False, validate_constraints=False,
    )
    try:
        booking.save()
    except IntegrityError as exc:
        # The exclusion constraint caught an overlapping consult saved at the same moment; no
        # savepoint around the INSERT: the whole booking rolls back and `booking_create` answers.
        raise _OverlapCaught(patient_key=key, starts_at=slot.starts_at, ends_at=slot.ends_at) from exc
    ConsultBooking._meta.get_field("outcome").set_cached_value(booking, None)  # a new consult has none: no SELECT for it
    booking_event_write(booking, kind=BookingEvent.Kind.REQUESTED, actor=acting_user, to_slot=slot)
    audit_record(
        actor=acting_user,
        action="teleconsult.booking.create",
        target=booking,
        changes={"slot": slot.pk, "consultant": slot.consultant_id, "mode": mode, "urgency": urgency},
    )
    notices.send(slot.consultant.user, "consult_booked", booking, notices.context(booking), about_is_new=True)
    return booking


def _move(booking, *, to, kind, acting_user, fields, reason: str = "") -> ConsultBooking:
    """The step through the machine (the booking is already locked by `booking_lock`)."""
    return BOOKING_FLOW.transition(
        booking, to=to, kind=kind, actor=acting_user, fields=fields, reason=reason, lock=False, audit_changes=stamps(fields)
    )


# --- The consultant's steps ----------------------------------------------------------------------


@transaction.atomic
def booking_confirm(*, booking: ConsultBooking, acting_user) -> ConsultBooking:
    booking = booking_lock(booking)
    _require_consultant(booking, acting_user, _("confirm"))
    BOOKING_FLOW.check(booking, Status.CONFIRMED)
    if booking.ends_at <= timezone.now():
        raise ValidationError(_("This consult's time has passed; it can no longer be confirmed."))
    _move(booking, to=Status.CONFIRMED, kind=BookingEvent.Kind.CONFIRMED, acting_user=acting_user, fields={"confirmed_at": timezone.now()})
    notices.send(booking.doctor.user, "consult_confirmed", booking, notices.context(booking))
    notices.reminders_schedule(booking, timezone.now())
    return booking


@transaction.atomic
def booking_decline(*, booking: ConsultBooking, reason: str, acting_user) -> ConsultBooking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for declining, so the village doctor knows what to do next.")})
    booking = booking_lock(booking)
    _require_consultant(booking, acting_user, _("decline"))
    BOOKING_FLOW.check(booking, Status.DECLINED)
    slot_release_place(booking.slot_id)
    _move(
        booking, to=Status.DECLINED, kind=BookingEvent.Kind.DECLINED, acting_user=acting_user, reason=reason,
        fields={"decline_reason": reason[:300], "finished_at": timezone.now()},
    )
    notices.reminders_cancel(booking)
    notices.send(booking.doctor.user, "consult_declined", booking, notices.context(booking, reason=reason))
    return booking


@transaction.atomic
def booking_start(*, booking: ConsultBooking, acting_user) -> ConsultBooking:
    booking = booking_lock(booking)
    _require_consultant(booking, acting_user, _("start"))
    BOOKING_FLOW.check(booking, Status.IN_PROGRESS)
    now = timezone.now()
    opens, closes = start_window(booking)
    if now < opens:
        raise ValidationError(
            _("The consult can be started from %(time)s (%(minutes)s minutes before its start).")
            % {"time": f"{timezone.localtime(opens):%H:%M}", "minutes": int(conf.video_opens_before().total_seconds() // 60)}
        )
    if now > closes:
        raise ValidationError(_("This consult's time has passed; it can no longer be started."))
    return _move(booking, to=Status.IN_PROGRESS, kind=BookingEvent.Kind.STARTED, acting_user=acting_user, fields={"started_at": now})


def _outcome_errors(*, findings, advice, referral, referral_department, follow_up_date) -> dict:
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
    return errors


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
    booking = booking_lock(booking)
    _require_consultant(booking, acting_user, _("complete"))
    BOOKING_FLOW.check(booking, Status.COMPLETED)
    errors = _outcome_errors(
        findings=findings, advice=advice, referral=referral, referral_department=referral_department, follow_up_date=follow_up_date
    )
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
    _move(booking, to=Status.COMPLETED, kind=BookingEvent.Kind.COMPLETED, acting_user=acting_user, fields={"finished_at": timezone.now()})
    summary = _("referred to %(department)s") % {"department": outcome.referral_department.name} if outcome.referral else _("no referral")
    notices.send(booking.doctor.user, "consult_outcome", booking, notices.context(booking, summary=summary))
    return booking


# --- Either side's steps -----------------------------------------------------------------------


@transaction.atomic
def booking_cancel(*, booking: ConsultBooking, reason: str, acting_user) -> ConsultBooking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for cancelling.")})
    booking = booking_lock(booking)
    _require_party(booking, acting_user, _("cancel"))
    BOOKING_FLOW.check(booking, Status.CANCELLED)
    _check_change_window(booking, pgettext("consult action", "cancelled"))
    slot_release_place(booking.slot_id)
    side = _side(acting_user, booking)
    _move(
        booking, to=Status.CANCELLED, kind=BookingEvent.Kind.CANCELLED, acting_user=acting_user, reason=reason,
        fields={"cancelled_at": timezone.now(), "cancelled_by": acting_user, "cancelled_by_side": side, "cancel_reason": reason[:300]},
    )
    notices.reminders_cancel(booking)
    other = booking.consultant.user if side == Side.DOCTOR else booking.doctor.user
    notices.send(other, "consult_cancelled", booking, notices.context(booking, reason=reason))
    if side == Side.ADMIN:
        notices.send(booking.consultant.user, "consult_cancelled", booking, notices.context(booking, reason=reason))
    return booking


@transaction.atomic
def booking_reschedule(*, booking: ConsultBooking, slot_id: int, acting_user, reason: str = "") -> ConsultBooking:
    """Move a booking to another slot. The consult goes back to "requested" for the (possibly new)
    consultant to confirm; the move is kept in the booking's events."""
    booking = booking_lock(booking)
    if booking.doctor.user_id != getattr(acting_user, "pk", None) and not _is_admin(acting_user):
        raise PermissionDenied(_("Only the village doctor who booked this consult can reschedule it."))
    BOOKING_FLOW.check(booking, Status.REQUESTED)
    _check_change_window(booking, pgettext("consult action", "rescheduled"))
    if booking.slot_id == slot_id:
        raise ValidationError({"slot": _("Choose a different time slot from the current one.")})
    new_slot = slot_bookable(slot_id, now=timezone.now())
    _check_mode(booking.facility, booking.mode)
    slot_check_consultant_available(new_slot)
    _check_doctor_not_on_leave(booking.doctor, new_slot)
    patient_check_free(
        patient_key=booking.patient_key, starts_at=new_slot.starts_at, ends_at=new_slot.ends_at, exclude_pk=booking.pk
    )
    slot_take_place(new_slot)
    slot_release_place(booking.slot_id)
    old_slot, old_start, old_consultant = booking.slot, booking.starts_at, booking.consultant
    notices.reminders_cancel(booking)
    try:
        BOOKING_FLOW.transition(
            booking, to=Status.REQUESTED, kind=BookingEvent.Kind.RESCHEDULED, actor=acting_user, reason=reason, lock=False,
            fields={
                "slot": new_slot, "consultant": new_slot.consultant, "department": new_slot.consultant.department,
                "starts_at": new_slot.starts_at, "ends_at": new_slot.ends_at, "confirmed_at": None,
                "reschedule_count": booking.reschedule_count + 1,
            },
            audit_changes={"slot": [old_slot.pk, new_slot.pk], "starts_at": [old_start, new_slot.starts_at]},
            event={"from_slot": old_slot, "to_slot": new_slot},
        )
    except IntegrityError as exc:
        # The exclusion constraint caught an overlapping consult saved at the same moment.
        raise patient_overlap_conflict() from exc
    context = notices.context(booking, old_start=f"{timezone.localtime(old_start):%m月%d日 %H:%M}")
    notices.send(booking.consultant.user, "consult_rescheduled", booking, context)
    if old_consultant.pk != booking.consultant_id:
        notices.send(old_consultant.user, "consult_rescheduled", booking, context)
    return booking
