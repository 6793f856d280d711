"""The pay rules the county enters: policy versions with their components and bands, social
insurance schemes and doctors' pay profiles. Saved and audited here (the admin only parses the
form); a policy version that approved payslips cite is frozen: a new version replaces it."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.months import add_months
from staffing.payroll.models import InsuranceScheme, PayPolicy, PayProfile, PayRun, PayslipLine
from staffing.payroll.services.audited import save_audited

POLICY_FIELDS = ["name", "township", "effective_from", "guaranteed_minimum", "notes", "is_demo", "contract_fee_per_year",
                 "contract_fee_payment", "contract_fee_insurance_share", "contract_fee_public_health_share", "contract_fee_resident_share"]
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


def check_effective_from(effective_from) -> None:
    """With PAYROLL_MIDMONTH_POLICY = "refuse", a version is in force from the 1st of a month only
    (with "prorate" a mid-month version is paid by days in force)."""
    if effective_from and effective_from.day != 1 and settings.PAYROLL_MIDMONTH_POLICY == "refuse":
        raise ValidationError({"effective_from": ValidationError(_(
            "This county applies pay policy versions from the 1st of a month only (PAYROLL_MIDMONTH_POLICY=refuse): "
            "%(date)s is mid-month. Enter %(first)s or %(next)s instead."
        ) % {"date": effective_from.isoformat(), "first": effective_from.replace(day=1).isoformat(),
             "next": add_months(effective_from.replace(day=1), 1).isoformat()}, code="midmonth_policy")})


def check_contract_fee(policy: PayPolicy) -> None:
    """The contract service fee's shares add up to 100% (the database checks it too)."""
    if policy.contract_fee_per_year is None:
        return
    shares = [policy.contract_fee_insurance_share, policy.contract_fee_public_health_share, policy.contract_fee_resident_share]
    if any(s is None or s < 0 for s in shares) or sum(s or 0 for s in shares) != Decimal("100"):
        raise ValidationError({"contract_fee_per_year": ValidationError(_(
            "The contract service fee's shares must add up to 100%%: medical-insurance fund %(insurance)s%% + public-health funds "
            "%(health)s%% + resident %(resident)s%% = %(total)s%%."
        ) % {"insurance": shares[0], "health": shares[1], "resident": shares[2], "total": sum(s or 0 for s in shares)},
            code="contract_fee_shares")})


def check_contract_fee_mode(policy: PayPolicy) -> None:
    """A service year is paid one way: a version that changes how the contract service fee is paid
    (monthly / by assessment) from the version before it takes effect on 1 January, otherwise the
    year's months already paid monthly would be paid again by assessment (or not at all)."""
    if policy.contract_fee_per_year is None or not policy.effective_from or (policy.effective_from.month, policy.effective_from.day) == (1, 1):
        return
    earlier = PayPolicy.objects.filter(effective_from__lt=policy.effective_from, contract_fee_per_year__isnull=False).exclude(pk=policy.pk)
    earlier = earlier.filter(township=policy.township) if policy.township_id else earlier.filter(township__isnull=True)
    before = earlier.order_by("-effective_from").first()
    if before is not None and before.contract_fee_payment != policy.contract_fee_payment:
        raise ValidationError({"contract_fee_payment": ValidationError(
            _("A change in how the contract service fee is paid takes effect on 1 January (a service year is paid one way): "
              "make this version from %(date)s, or keep “%(mode)s”.")
            % {"date": f"{policy.effective_from.year + 1}-01-01", "mode": before.get_contract_fee_payment_display()},
            code="contract_fee_mode")})


@transaction.atomic
def pay_policy_save(*, policy: PayPolicy, acting_user) -> PayPolicy:
    _refuse_if_frozen(policy)
    check_effective_from(policy.effective_from)
    check_contract_fee(policy)
    check_contract_fee_mode(policy)
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
