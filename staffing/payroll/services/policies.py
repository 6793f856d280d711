"""The pay rules the county enters: policy versions with their components and bands, social
insurance schemes and doctors' pay profiles. Saved and audited here (the admin only parses the
form); a policy version that approved payslips cite is frozen: a new version replaces it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from staffing.payroll.models import InsuranceScheme, PayPolicy, PayProfile, PayRun, PayslipLine
from staffing.payroll.services.audited import save_audited

POLICY_FIELDS = ["name", "township", "effective_from", "guaranteed_minimum", "notes", "is_demo"]
SCHEME_FIELDS = ["code", "name", "contribution_base", "employee_rate", "flat_amount", "is_default", "is_demo"]
PROFILE_FIELDS = ["doctor", "scheme", "exempt_from_insurance"]


def policy_in_locked_use(policy: PayPolicy) -> bool:
    """Whether an approved or paid payslip cites this policy version."""
    return PayslipLine.objects.filter(policy=policy, payslip__run__status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID]).exists()


def _refuse_if_frozen(policy: PayPolicy) -> None:
    if policy.pk and policy_in_locked_use(policy):
        raise ValidationError(_("Approved payslips cite this policy version, so it can no longer change: enter a new version instead."))


def _save(obj, *, fields: list[str], action: str, acting_user):
    obj.full_clean()
    return save_audited(obj, fields=fields, action=action, acting_user=acting_user)


@transaction.atomic
def pay_policy_save(*, policy: PayPolicy, acting_user) -> PayPolicy:
    _refuse_if_frozen(policy)
    return _save(policy, fields=POLICY_FIELDS, action="pay_policy", acting_user=acting_user)


@transaction.atomic
def pay_policy_parts_save(*, policy: PayPolicy, save=(), delete=(), acting_user) -> None:
    """Save and delete a policy version's components and performance bands, each audited on the
    version."""
    _refuse_if_frozen(policy)
    for part in delete:
        audit_record(actor=acting_user, action="pay_policy.part_delete", target=policy, changes={"deleted": str(part)})
        part.delete()
    for part in save:
        part.full_clean()
        part.save()
        audit_record(actor=acting_user, action="pay_policy.part_save", target=policy, changes={"saved": str(part)})


@transaction.atomic
def insurance_scheme_save(*, scheme: InsuranceScheme, acting_user) -> InsuranceScheme:
    return _save(scheme, fields=SCHEME_FIELDS, action="scheme", acting_user=acting_user)


@transaction.atomic
def pay_profile_save(*, profile: PayProfile, acting_user) -> PayProfile:
    return _save(profile, fields=PROFILE_FIELDS, action="pay_profile", acting_user=acting_user)
