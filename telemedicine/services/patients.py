"""The patient of a consult: their details, checked (the ID number, when given, supplies and
checks birth date and sex), and the identity key of the no-overlap rule (one patient, one consult
at a time), a keyed hash recomputed from the booking's stored details when HASH_KEY is rotated."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.hashing import keyed_hash
from core.validators import resident_id_birth_date, resident_id_sex, validate_birth_date, validate_resident_id
from telemedicine.exceptions import BookingConflict
from telemedicine.models import ConsultBooking


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


def booking_patient_key(booking) -> str:
    """The key of a stored booking, from the patient details it keeps (as cleaned when booked)."""
    patient = Patient(
        name=booking.patient_name,
        sex=booking.patient_sex,
        birth_date=booking.patient_birth_date,
        age=booking.patient_age,
        id_number=booking.patient_id_number,
    )
    return patient_key(patient, booking.facility_id)


PATIENT_FIELDS = ["pk", "facility_id", "patient_name", "patient_sex", "patient_birth_date", "patient_age", "patient_id_number", "patient_key"]


def patient_keys_rehash(*, booking_model=None) -> int:
    """Recompute every booking's patient key with the configured HASH_KEY (after the key is
    rotated; see core.hashing). Returns the bookings rewritten. `booking_model` lets a migration
    pass its historical model."""
    model = booking_model or ConsultBooking
    changed = []
    for booking in model.objects.only(*PATIENT_FIELDS).order_by("pk").iterator(chunk_size=2000):
        key = booking_patient_key(booking)
        if key != booking.patient_key:
            booking.patient_key = key
            changed.append(booking)
    model.objects.bulk_update(changed, ["patient_key"], batch_size=2000)
    return len(changed)


def _overlap_message(clash: ConsultBooking) -> str:
    return _(
        "This patient already has a consult at %(time)s with %(consultant)s that overlaps this time. "
        "Choose another time, or cancel the other consult first."
    ) % {"time": f"{timezone.localtime(clash.starts_at):%Y-%m-%d %H:%M}", "consultant": clash.consultant.name}


def _holding(*, patient_key: str, starts_at, ends_at, exclude_pk=None):
    """The patient's consults that hold a time overlapping starts_at..ends_at (values or expressions)."""
    return ConsultBooking.objects.filter(
        patient_key=patient_key, status__in=ConsultBooking.HOLDING, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(pk=exclude_pk)


def _clash(*, patient_key: str, starts_at, ends_at, exclude_pk=None) -> ConsultBooking | None:
    return (
        _holding(patient_key=patient_key, starts_at=starts_at, ends_at=ends_at, exclude_pk=exclude_pk)
        .select_related("consultant")
        .first()
    )


def patient_busy_exists(*, patient_key: str, exclude_pk=None) -> Exists:
    """`patient_check_free`'s question as a condition on a slot (its starts_at and ends_at), for
    the SELECT that reads the slot; `patient_check_free` then names the clashing consult."""
    return Exists(
        _holding(patient_key=patient_key, starts_at=OuterRef("starts_at"), ends_at=OuterRef("ends_at"), exclude_pk=exclude_pk)
    )


def _existing_booking(clash: ConsultBooking | None, user) -> dict:
    """The clashing booking's id and API address for the 409's body, when `user` may read it: a
    booking sent again after a timeout finds the one it made, and the client reads it back. A
    booking outside the user's reach (another clinic's) is not named."""
    from telemedicine.selectors import booking_list  # the selectors import the services

    if clash is None or user is None or not booking_list(user=user).filter(pk=clash.pk).exists():
        return {}
    return {"booking": clash.pk, "booking_url": reverse("api:teleconsult-booking-detail", args=[clash.pk])}


def patient_check_free(*, patient_key: str, starts_at, ends_at, exclude_pk=None, user=None) -> None:
    """Refuse (409) a time at which the patient already holds a consult; the body names that
    consult (`booking`, `booking_url`) when `user` may read it."""
    clash = _clash(patient_key=patient_key, starts_at=starts_at, ends_at=ends_at, exclude_pk=exclude_pk)
    if clash:
        raise BookingConflict(_overlap_message(clash), code="patient_overlap", **_existing_booking(clash, user))


def patient_overlap_conflict(*, patient_key: str = "", starts_at=None, ends_at=None, exclude_pk=None, user=None) -> BookingConflict:
    """The refusal when the database's exclusion constraint caught an overlapping consult saved
    at the same moment (PostgreSQL), naming it as `patient_check_free` does."""
    clash = None
    if patient_key and starts_at and ends_at:
        clash = _clash(patient_key=patient_key, starts_at=starts_at, ends_at=ends_at, exclude_pk=exclude_pk)
    return BookingConflict(
        _("This patient was booked at an overlapping time a moment ago. Choose another time."),
        code="patient_overlap",
        **_existing_booking(clash, user),
    )
