"""The consultants of the county hospital and the township centres who take teleconsults."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.scoping import require_facility_reach
from core.audit import audit_record
from staffing.reach import require_doctor_reach
from telemedicine.models import Consultant
from telemedicine.services.slots import slots_materialise_horizon


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
        slots_materialise_horizon(consultant_ids=[consultant.pk])
    return consultant
