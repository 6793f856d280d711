"""Registering and changing doctors: the register's fields (audited; the ID number as "changed"
only, the bank account masked and its change told to the doctor, staffing.bank_accounts), the demo
flag, and the ID-number hash after a key rotation."""

from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.scoping import require_county_wide, require_facility_reach
from core.audit import audit_record, changed_fields, snapshot
from staffing import bank_accounts
from staffing.models import Doctor
from staffing.reach import require_doctor_reach
from staffing.services.postings import posting_close, posting_insert

DOCTOR_FIELDS = [
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
    "wecom_userid",
    "qualification",
    "licence_number",
    "licence_expiry",
    "insurance_code",
    "status",
    "hire_date",
    "exit_date",
    "bank_name",
    "bank_account",
]
AUDITED_DOCTOR_FIELDS = [f for f in DOCTOR_FIELDS if f not in {"id_number", "bank_account"}]

@transaction.atomic
def doctor_create(*, acting_user, facility: Facility | None = None, **data) -> Doctor:
    """Register a doctor, posted to `facility` from the hire date. A doctor with no clinic is in
    nobody's reach but the county's, so only a county-wide role registers one."""
    if facility is None:
        require_county_wide(acting_user, what=_("Registering a doctor without a clinic"))
    else:
        require_facility_reach(acting_user, facility)
    doctor = Doctor(**data)
    doctor.full_clean()
    doctor.save()
    audit_record(actor=acting_user, action="doctor.create", target=doctor, changes=snapshot(doctor, AUDITED_DOCTOR_FIELDS))
    if facility is not None:
        posting_insert(doctor=doctor, facility=facility, start_date=doctor.hire_date, end_date=None, acting_user=acting_user)
        require_doctor_reach(acting_user, doctor)
    return doctor

@transaction.atomic
def doctor_update(*, doctor: Doctor, acting_user, **data) -> Doctor:
    # Reach by the stored postings (the doctor's fields do not move reach; an exit date closes the
    # posting through posting_close, which checks its clinic).
    require_doctor_reach(acting_user, doctor)
    # The stored row, not `doctor`: an admin form has already set its cleaned values on the instance.
    before = snapshot(Doctor.objects.select_for_update().get(pk=doctor.pk), DOCTOR_FIELDS)
    for key, value in data.items():
        if key not in DOCTOR_FIELDS:
            raise ValueError(f"unknown doctor field {key}")
        setattr(doctor, key, value)
    doctor.full_clean()
    doctor.save()
    changes = changed_fields(before, snapshot(doctor, DOCTOR_FIELDS))
    # The ID number is audited as "changed", never with its value; the bank account masked on
    # both sides, and its change audited on its own and told to the doctor (staffing.bank_accounts).
    if "id_number" in changes:
        changes["id_number"] = ["***", "***"]
    changes = bank_accounts.mask_bank_changes(changes)
    if changes:
        audit_record(actor=acting_user, action="doctor.update", target=doctor, changes=changes)
    bank_accounts.bank_account_change_record(doctor=doctor, before=before, acting_user=acting_user)
    if doctor.exit_date:
        open_posting = doctor.postings.filter(end_date__isnull=True).first()
        if open_posting and open_posting.start_date <= doctor.exit_date:
            posting_close(posting=open_posting, end_date=doctor.exit_date, acting_user=acting_user)
    return doctor

@transaction.atomic
def doctor_mark_demo(*, doctor: Doctor, is_demo: bool, acting_user) -> Doctor:
    """Mark a doctor in reach as demo data (their pay documents say so), audited."""
    require_doctor_reach(acting_user, doctor, field=None)
    before = Doctor.objects.select_for_update().values_list("is_demo", flat=True).get(pk=doctor.pk)
    doctor.is_demo = bool(is_demo)
    if before == doctor.is_demo:
        return doctor
    doctor.save(update_fields=["is_demo"])
    audit_record(actor=acting_user, action="doctor.update", target=doctor, changes={"is_demo": [before, doctor.is_demo]})
    return doctor

def doctor_rehash_id_numbers(*, doctor_model=None) -> int:
    """Recompute every doctor's ID-number look-up hash with the configured HASH_KEY (after the key
    is rotated; see core.hashing). Returns the doctors rewritten. `doctor_model` lets a migration
    pass its historical model."""
    from core.hashing import keyed_hash

    model = doctor_model or Doctor
    changed = []
    for doctor in model.objects.only("pk", "id_number", "id_number_hash").iterator(chunk_size=2000):
        digest = keyed_hash(doctor.id_number)
        if digest != doctor.id_number_hash:
            doctor.id_number_hash = digest
            changed.append(doctor)
    model.objects.bulk_update(changed, ["id_number_hash"], batch_size=2000)
    return len(changed)
