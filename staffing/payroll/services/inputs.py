"""What the payroll officer enters for a month: one-off items and assessments. A one-off item is
refused once its month's run is approved; an assessment change to an approved month is paid as a
correction by the next run."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record, snapshot
from staffing.payroll.models import Assessment, OneOffItem, PayRun
from staffing.payroll.services.audited import save_audited
from staffing.reach import require_doctor_reach


def _month_locked(month: datetime.date, township_id) -> PayRun | None:
    runs = PayRun.objects.filter(month=month, status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID])
    return runs.filter(township__isnull=True).first() or (runs.filter(township_id=township_id).first() if township_id else None)


ONE_OFF_FIELDS = ["doctor", "month", "kind", "amount", "description"]


def _refuse_if_month_locked(month, doctor) -> None:
    from staffing.selectors import doctor_current_posting

    posting = doctor_current_posting(doctor=doctor, day=month)
    township_id = posting.facility.township_id if posting else None
    locked = _month_locked(month, township_id)
    if locked:
        raise ValidationError(
            {"month": _("The %(month)s run is already approved. Enter this for a later month; the payslip line will name it.")
             % {"month": f"{month:%Y-%m}"}}
        )


@transaction.atomic
def one_off_item_save(*, item: OneOffItem, acting_user) -> OneOffItem:
    """Create or change a one-off item; refused once its month's run is approved, and for a doctor
    (before or after the change) outside the acting user's reach."""
    previous = OneOffItem.objects.select_related("doctor").get(pk=item.pk) if item.pk else None
    if previous is not None:
        require_doctor_reach(acting_user, previous.doctor)
    if item.doctor_id is not None:
        require_doctor_reach(acting_user, item.doctor)
    if item.month:
        item.month = item.month.replace(day=1)
    item.full_clean()
    if previous is not None:
        _refuse_if_month_locked(previous.month, previous.doctor)
    _refuse_if_month_locked(item.month, item.doctor)
    return save_audited(item, fields=ONE_OFF_FIELDS, action="one_off", author_field="entered_by", acting_user=acting_user)


@transaction.atomic
def one_off_item_delete(*, item: OneOffItem, acting_user) -> None:
    require_doctor_reach(acting_user, OneOffItem.objects.select_related("doctor").get(pk=item.pk).doctor)
    _refuse_if_month_locked(item.month, item.doctor)
    audit_record(actor=acting_user, action="one_off.delete", target=item, changes=snapshot(item, ONE_OFF_FIELDS))
    item.delete()


ASSESSMENT_FIELDS = ["doctor", "period", "period_start", "score", "note"]


@transaction.atomic
def assessment_save(*, assessment: Assessment, acting_user) -> Assessment:
    """Record or change a score. A change to an approved month is not refused: the next run pays
    the difference as a correction naming that month."""
    if assessment.period_start:
        start = assessment.period_start.replace(day=1)
        if assessment.period == Assessment.Period.QUARTER:
            start = start.replace(month=start.month - (start.month - 1) % 3)
        assessment.period_start = start
    if assessment.pk:
        require_doctor_reach(acting_user, Assessment.objects.select_related("doctor").get(pk=assessment.pk).doctor)
    if assessment.doctor_id is not None:
        require_doctor_reach(acting_user, assessment.doctor)
    assessment.full_clean()
    return save_audited(assessment, fields=ASSESSMENT_FIELDS, action="assessment", author_field="recorded_by", acting_user=acting_user)
