"""Writes to the register of townships, clinics and departments. Each service checks reach before
and after the change (clinics.scoping), validates, saves in one transaction and audits the fields
that changed. Roles and reach of a login change through `clinics.roles.role_assign`.

The row may arrive with new values already set (an admin form has put its cleaned values on the
instance); keyword arguments set more. The stored row is what reach and the audit compare with."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Department, Facility, Township
from clinics.scoping import require_county_wide, require_facility_reach
from core.audit import audit_record, changed_fields, snapshot

TOWNSHIP_FIELDS = ["code", "name", "kind"]
FACILITY_FIELDS = [
    "kind", "name", "code", "platform_code", "township", "village", "village_kind", "telemedicine_enabled",
    "settlement_enabled", "is_active", "morning_start", "morning_end", "afternoon_start", "afternoon_end",
    "target_doctors", "is_demo",
]
FACILITY_HOURS_FIELDS = ["morning_start", "morning_end", "afternoon_start", "afternoon_end"]
DEPARTMENT_FIELDS = ["facility", "code", "name", "is_active"]


def _stored(row):
    return type(row).objects.select_for_update().get(pk=row.pk) if row.pk is not None else None


def _save_audited(row, *, fields: list[str], action: str, acting_user, stored, changes: dict):
    for key, value in changes.items():
        if key not in fields:
            raise ValueError(f"unknown {action} field {key}")
        setattr(row, key, value)
    row.full_clean()
    row.save()
    if stored is None:
        audit_record(actor=acting_user, action=f"{action}.create", target=row, changes=snapshot(row, fields))
    elif diff := changed_fields(snapshot(stored, fields), snapshot(row, fields)):
        audit_record(actor=acting_user, action=f"{action}.update", target=row, changes=diff)
    return row


@transaction.atomic
def township_save(*, township: Township, acting_user, **changes) -> Township:
    """Add or change a township: county data, so only a county-wide role."""
    require_county_wide(acting_user, what=_("Changing the townships of the register"))
    stored = _stored(township)
    return _save_audited(township, fields=TOWNSHIP_FIELDS, action="township", acting_user=acting_user, stored=stored, changes=changes)


@transaction.atomic
def facility_save(*, facility: Facility, acting_user, **changes) -> Facility:
    """Add or change a clinic in reach; it stays in reach after the change (a township's admin does
    not hand a clinic to another township). Its platform institution code (定点医药机构编号) is
    entered by a county-wide role only: the bureau assigns it, and uploads name the clinic by it."""
    stored = _stored(facility)
    if stored is not None:
        require_facility_reach(acting_user, stored, field=None)
    new_platform_code = changes.get("platform_code", facility.platform_code) or None
    if new_platform_code != (stored.platform_code if stored is not None else None):
        require_county_wide(acting_user, what=_("Entering a clinic's platform institution code"))
    if stored is not None and any(
        changes.get(name, getattr(facility, name)) != getattr(stored, name) for name in FACILITY_HOURS_FIELDS
    ):
        facility.hours_revision, facility.hours_changed_at = stored.hours_revision + 1, timezone.now()
    row = _save_audited(facility, fields=FACILITY_FIELDS, action="facility", acting_user=acting_user, stored=stored, changes=changes)
    require_facility_reach(acting_user, row, field="township")
    return row


@transaction.atomic
def department_save(*, department: Department, acting_user, **changes) -> Department:
    """Add or change a department of a clinic in reach (before and after the change)."""
    stored = _stored(department)
    if stored is not None:
        require_facility_reach(acting_user, stored.facility, field=None)
    row = _save_audited(
        department, fields=DEPARTMENT_FIELDS, action="department", acting_user=acting_user, stored=stored, changes=changes
    )
    require_facility_reach(acting_user, row.facility)
    return row


@transaction.atomic
def department_delete(*, department: Department, acting_user) -> None:
    """Remove a department of a clinic in reach, audited."""
    require_facility_reach(acting_user, department.facility, field=None)
    audit_record(actor=acting_user, action="department.delete", target=department)
    department.delete()
