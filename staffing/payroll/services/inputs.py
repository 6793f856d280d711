"""What the payroll officer enters for a month: one-off items and assessments. Nothing entered is
silently left unpaid; every entry takes one of three paths, decided at entry:

- **counted**: its month's run is not approved yet, so that run pays it;
- **an adjustment**: an assessment for a month whose run is approved or paid, inside the
  correction window (settings.PAYROLL_CORRECTION_MONTHS), is accepted and the next run pays the
  difference as a correction line naming that month (`calculation.correction_lines`);
- **refused**, with a message naming the month and the window: a month older than the window (no
  run would ever look at it again), a month before the last approved one that has no run (none
  would pay it), a one-off item for an approved month (enter it for a later month), or an
  assessment for a doctor who had no payslip in that month's run (nothing to correct against).

The window: the next run (the month after the last approved or paid run of the doctor's area,
county-wide or township) corrects the PAYROLL_CORRECTION_MONTHS months before it."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from core.audit import audit_record, snapshot
from core.months import add_months, month_end
from staffing.payroll.models import Assessment, OneOffItem, PayRun, Payslip
from staffing.payroll.services.audited import save_audited
from staffing.reach import in_force_on, require_doctor_reach

LOCKED = [PayRun.Status.APPROVED, PayRun.Status.PAID]
OUTSIDE_WINDOW = "outside_correction_window"
NO_RUN = "no_run_for_month"
MONTH_LOCKED = "month_locked"


def _month_locked(month: datetime.date, township_id) -> PayRun | None:
    runs = PayRun.objects.filter(month=month, status__in=LOCKED)
    return runs.filter(township__isnull=True).first() or (runs.filter(township_id=township_id).first() if township_id else None)


def _area_runs(township_id):
    runs = PayRun.objects.all()
    return runs.filter(Q(township__isnull=True) | Q(township_id=township_id)) if township_id else runs.filter(township__isnull=True)


def doctor_township_in(doctor, month: datetime.date):
    """The township of the doctor's posting in `month` (the one in force at its end, else at its
    start, else the governing one)."""
    from staffing.models import Posting

    postings = Posting.objects.filter(doctor_id=getattr(doctor, "pk", doctor)).select_related("facility")
    posting = (postings.filter(in_force_on(month_end(month))).first() or postings.filter(in_force_on(month)).first()
               or postings.order_by("-start_date").first())
    return posting.facility.township_id if posting else None


@dataclass(frozen=True)
class PayPath:
    """Which run pays an entry for `month`: "counted" (its own run), "adjustment" (the next run,
    `next_run`, as a correction of the approved `run`)."""

    kind: str
    month: datetime.date
    next_run: datetime.date | None = None
    run: PayRun | None = None


@dataclass(frozen=True)
class Window:
    """The months the next run can still correct: `first`..`last` (empty when corrections are off)."""

    next_run: datetime.date | None  # None: nothing is approved yet in the area
    first: datetime.date | None
    last: datetime.date | None


def correction_window(township_id) -> Window:
    latest = _area_runs(township_id).filter(status__in=LOCKED).aggregate(m=Max("month"))["m"]
    if latest is None:
        return Window(None, None, None)
    next_run = add_months(latest, 1)
    months = max(settings.PAYROLL_CORRECTION_MONTHS, 0)
    return Window(next_run, add_months(next_run, -months), add_months(next_run, -1))


def _window_refusal(field: str, month: datetime.date, window: Window, what) -> ValidationError:
    if window.first is None or window.first > window.last:
        text = _("%(what)s for %(month)s cannot be paid any more: the %(month)s run is approved and corrections of approved months "
                 "are switched off here (PAYROLL_CORRECTION_MONTHS=0). Enter it for %(next)s or later.")
    else:
        text = _("%(what)s for %(month)s is outside the correction window: the next run (%(next)s) corrects only %(first)s to "
                 "%(last)s (PAYROLL_CORRECTION_MONTHS=%(n)d). Pay a difference for %(month)s as back pay or a deduction in "
                 "%(next)s instead.")
    return ValidationError({field: ValidationError(text % {
        "what": what, "month": f"{month:%Y-%m}", "next": f"{window.next_run:%Y-%m}", "n": settings.PAYROLL_CORRECTION_MONTHS,
        "first": f"{window.first:%Y-%m}" if window.first else "", "last": f"{window.last:%Y-%m}" if window.last else "",
    }, code=OUTSIDE_WINDOW)})


def _no_run_refusal(field: str, month: datetime.date, window: Window, what) -> ValidationError:
    return ValidationError({field: ValidationError(
        _("%(what)s for %(month)s would never be paid: runs up to %(last)s are approved and %(month)s had no run. "
          "Enter it for %(next)s or later.")
        % {"what": what, "month": f"{month:%Y-%m}", "last": f"{add_months(window.next_run, -1):%Y-%m}", "next": f"{window.next_run:%Y-%m}"},
        code=NO_RUN,
    )})


def _open_run_exists(month: datetime.date, township_id) -> bool:
    return _area_runs(township_id).filter(month=month).exclude(status__in=LOCKED).exists()


def assessment_pay_month(assessment: Assessment) -> datetime.date:
    """The month whose run pays an assessment: its month, or a quarter's last month."""
    return add_months(assessment.period_start, 2) if assessment.period == Assessment.Period.QUARTER else assessment.period_start


def assessment_pay_path(*, doctor, month: datetime.date, field: str = "period_start") -> PayPath:
    """How an assessment paid in `month` will be paid, or a refusal (ValidationError) saying why
    it cannot be."""
    township_id = doctor_township_in(doctor, month)
    window = correction_window(township_id)
    what = _("An assessment")
    if window.next_run is None or month >= window.next_run:
        return PayPath("counted", month)
    locked = _month_locked(month, township_id)
    if locked is not None:
        if window.first is None or month < window.first:
            raise _window_refusal(field, month, window, what)
        if not Payslip.objects.filter(run=locked, doctor_id=getattr(doctor, "pk", doctor)).exists():
            raise ValidationError({field: ValidationError(
                _("The doctor had no payslip in the %(month)s run, so there is nothing to correct: an assessment for %(month)s "
                  "cannot be paid. Pay it as a one-off item in %(next)s if it is owed.")
                % {"month": f"{month:%Y-%m}", "next": f"{window.next_run:%Y-%m}"}, code=NO_RUN)})
        return PayPath("adjustment", month, window.next_run, locked)
    if _open_run_exists(month, township_id):
        return PayPath("counted", month)
    if window.first is None or month < window.first:
        raise _window_refusal(field, month, window, what)
    raise _no_run_refusal(field, month, window, what)


def one_off_pay_path(*, doctor, month: datetime.date, field: str = "month") -> PayPath:
    """A one-off item is paid by its month's run only: refused once that run is approved (or when
    no run will pay that month)."""
    township_id = doctor_township_in(doctor, month)
    if _month_locked(month, township_id):
        raise ValidationError({field: ValidationError(
            _("The %(month)s run is already approved. Enter this for a later month; the payslip line will name it.")
            % {"month": f"{month:%Y-%m}"}, code=MONTH_LOCKED)})
    window = correction_window(township_id)
    if window.next_run is None or month >= window.next_run or _open_run_exists(month, township_id):
        return PayPath("counted", month)
    raise _no_run_refusal(field, month, window, _("A one-off item"))


ONE_OFF_FIELDS = ["doctor", "month", "kind", "amount", "description", "tax_method"]


def _normalise_one_off(item: OneOffItem) -> None:
    if item.month:
        item.month = item.month.replace(day=1)


def one_off_item_check(*, item: OneOffItem) -> PayPath | None:
    """The checks of `one_off_item_save` that need no acting user (the admin form runs them)."""
    _normalise_one_off(item)
    if item.doctor_id is None or not item.month:
        return None
    return one_off_pay_path(doctor=item.doctor, month=item.month)


@transaction.atomic
def one_off_item_save(*, item: OneOffItem, acting_user) -> OneOffItem:
    """Create or change a one-off item; refused once its month's run is approved, for a month no
    run will pay, and for a doctor (before or after the change) outside the acting user's reach."""
    previous = OneOffItem.objects.select_related("doctor").get(pk=item.pk) if item.pk else None
    if previous is not None:
        require_doctor_reach(acting_user, previous.doctor)
    if item.doctor_id is not None:
        require_doctor_reach(acting_user, item.doctor)
    _normalise_one_off(item)
    item.full_clean()
    if previous is not None and _month_locked(previous.month, doctor_township_in(previous.doctor, previous.month)):
        one_off_pay_path(doctor=previous.doctor, month=previous.month)  # raises: the approved month's item stays
    path = one_off_pay_path(doctor=item.doctor, month=item.month)
    saved = save_audited(item, fields=ONE_OFF_FIELDS, action="one_off", author_field="entered_by", acting_user=acting_user)
    saved.pay_path = path
    return saved


@transaction.atomic
def one_off_item_delete(*, item: OneOffItem, acting_user) -> None:
    require_doctor_reach(acting_user, OneOffItem.objects.select_related("doctor").get(pk=item.pk).doctor)
    if _month_locked(item.month, doctor_township_in(item.doctor, item.month)):
        one_off_pay_path(doctor=item.doctor, month=item.month)
    audit_record(actor=acting_user, action="one_off.delete", target=item, changes=snapshot(item, ONE_OFF_FIELDS))
    item.delete()


ASSESSMENT_FIELDS = ["doctor", "period", "period_start", "score", "note"]


def _normalise_assessment(assessment: Assessment) -> None:
    if assessment.period_start:
        start = assessment.period_start.replace(day=1)
        if assessment.period == Assessment.Period.QUARTER:
            start = start.replace(month=start.month - (start.month - 1) % 3)
        assessment.period_start = start


def assessment_check(*, assessment: Assessment) -> PayPath | None:
    """The checks of `assessment_save` that need no acting user (the admin form runs them): the
    path that pays the assessment, or a ValidationError."""
    _normalise_assessment(assessment)
    if assessment.doctor_id is None or not assessment.period_start:
        return None
    path = assessment_pay_path(doctor=assessment.doctor, month=assessment_pay_month(assessment))
    if assessment.pk:
        stored = Assessment.objects.get(pk=assessment.pk)
        if (stored.period, stored.period_start, stored.doctor_id) != (assessment.period, assessment.period_start, assessment.doctor_id):
            assessment_pay_path(doctor=stored.doctor_id, month=assessment_pay_month(stored))  # what it paid must still be correctable
    return path


@transaction.atomic
def assessment_save(*, assessment: Assessment, acting_user) -> Assessment:
    """Record or change a score. For a month whose run is approved, inside the correction window,
    the next run pays the difference as a correction naming that month (`assessment.pay_path`
    says so after saving); outside the window, or for a month no run pays, it is refused."""
    _normalise_assessment(assessment)
    if assessment.pk:
        require_doctor_reach(acting_user, Assessment.objects.select_related("doctor").get(pk=assessment.pk).doctor)
    if assessment.doctor_id is not None:
        require_doctor_reach(acting_user, assessment.doctor)
    assessment.full_clean()
    path = assessment_check(assessment=assessment)
    saved = save_audited(assessment, fields=ASSESSMENT_FIELDS, action="assessment", author_field="recorded_by", acting_user=acting_user)
    saved.pay_path = path
    return saved


def pay_path_message(path: PayPath | None) -> str | None:
    """What the officer is told after saving an entry that a later run pays as a correction."""
    if path is None or path.kind != "adjustment":
        return None
    return _("The %(month)s run is already approved: the %(next)s run will pay the difference as a correction for %(month)s.") % {
        "month": f"{path.month:%Y-%m}", "next": f"{path.next_run:%Y-%m}"}
