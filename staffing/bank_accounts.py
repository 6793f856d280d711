"""Money-safety controls on a doctor's bank account.

Whatever path changes a doctor's bank or account (the admin form, the doctor import, a service
call), `staffing.services.doctors.doctor_update` hands the change here, inside its transaction:

- the account is masked ("****1234") on both sides of the update's audit record, never stored in
  the trail in full;
- the change gets its own audit record, action `BANK_ACCOUNT_CHANGE`, which the pay run reads
  (`staffing.payroll.selectors.bank_account_changes`) to warn before approval;
- the doctor is notified through the outbox (kind `bank_account_changed`), by SMS to the mobile
  held *before* the change, so a change that also replaced the mobile still reaches the doctor.
"""

from django.conf import settings
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEntry
from core.validators import mask_account
from notifications.services import notify
from staffing.models import Doctor

BANK_ACCOUNT_CHANGE = "doctor.bank_account_change"
NOTIFICATION_KIND = "bank_account_changed"
BANK_FIELDS = ("bank_name", "bank_account")


def mask_bank_changes(changes: dict) -> dict:
    """An update's audit changes with the account masked on both sides ("****1234")."""
    if "bank_account" not in changes:
        return changes
    old, new = changes["bank_account"]
    return {**changes, "bank_account": [mask_account(old or ""), mask_account(new or "")]}


def bank_account_change_record(*, doctor: Doctor, before: dict, acting_user) -> AuditEntry | None:
    """When `doctor`'s bank or account differs from `before` (the stored values before the
    update), audit the change (masked) and tell the doctor. Returns the audit entry, or None when
    neither changed. Runs inside the caller's transaction: a rolled-back import leaves neither."""
    old_name, old_account = (before.get("bank_name") or "").strip(), (before.get("bank_account") or "").strip()
    new_name, new_account = (doctor.bank_name or "").strip(), (doctor.bank_account or "").strip()
    if (old_name, old_account) == (new_name, new_account):
        return None
    will_notify = doctor.user_id is not None
    entry = audit_record(
        actor=acting_user,
        action=BANK_ACCOUNT_CHANGE,
        target=doctor,
        changes={
            "bank_name": [old_name, new_name],
            "bank_account": [mask_account(old_account), mask_account(new_account)],
            "notified": will_notify,
        },
    )
    if will_notify:
        _notify_doctor(doctor=doctor, entry=entry, old_mobile=before.get("mobile") or "")
    return entry


def _notify_doctor(*, doctor: Doctor, entry: AuditEntry, old_mobile: str) -> None:
    from staffing.selectors import doctor_current_posting

    when = timezone.localtime(entry.at)
    posting = doctor_current_posting(doctor=doctor)
    old_name, new_name = entry.changes["bank_name"]
    old_account, new_account = entry.changes["bank_account"]
    notify(
        recipient=doctor.user,
        kind=NOTIFICATION_KIND,
        # One message per change: the change's audit entry is what it is about, so a second change
        # of the same doctor's account is never taken for a repeat of the first.
        about=entry,
        context={
            "doctor_name": doctor.name,
            "bank_name": new_name,
            "account": new_account,
            "old_bank_name": old_name,
            "old_account": old_account,
            "changed_at": f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}",
            "township": posting.facility.township.name if posting else "",
            "contact": getattr(settings, "PAYROLL_BANK_CHANGE_CONTACT", ""),
        },
        # A change that also replaced the mobile still warns the number held before it.
        addresses={"sms": old_mobile} if old_mobile else None,
    )
