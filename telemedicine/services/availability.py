"""Weekly availability and its exceptions (leave, a meeting, a holiday duty). Whoever changes them
reaches the consultant's facility, and a consultant changes only their own; the slots follow in
the same transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Role
from clinics.scoping import OUT_OF_REACH, require_facility_reach, user_role
from core.audit import audit_record
from telemedicine.models import AvailabilityException, Consultant, WeeklyAvailability
from telemedicine.services.slots import MaterialiseReport, slots_materialise, slots_materialise_horizon

AVAILABILITY_FIELDS = ["weekday", "start_time", "end_time", "slot_minutes", "places", "valid_from", "valid_until"]
EXCEPTION_FIELDS = ["date", "kind", "start_time", "end_time"]


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
    slots_materialise_horizon(consultant_ids=[availability.consultant_id])
    return availability


@transaction.atomic
def availability_delete(*, availability: WeeklyAvailability, acting_user) -> None:
    consultant_id = _stored(WeeklyAvailability, availability.pk, "consultant_id") or availability.consultant_id
    _require_consultant_reach(acting_user, consultant_id)
    audit_record(actor=acting_user, action="teleconsult.availability.delete", target=availability)
    availability.delete()
    slots_materialise_horizon(consultant_ids=[consultant_id])


@transaction.atomic
def exception_save(*, exception: AvailabilityException, acting_user) -> MaterialiseReport:
    """Record an exception (leave, holiday duty…) and withdraw the slots it covers; a moved
    exception gives its old day back."""
    _require_consultant_reach(acting_user, _stored(AvailabilityException, exception.pk, "consultant_id"))
    _require_consultant_reach(acting_user, exception.consultant_id)
    before = _stored(AvailabilityException, exception.pk, "date")
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
