"""The pay calculation: from the register, the policies and the contract selectors to payslip
lines. Pure reads: the service `payrun_calculate` writes the result.

Every query here runs once per month calculated, never once per doctor, so the number of queries
does not grow with the number of doctors.

Pro-rating rule (part months)
-----------------------------
A doctor's *employed days* in a month are the calendar days that fall inside both the
employment (hire date to exit date) and a posting to a village clinic in the run's area. *Payable
days* are employed days minus days of approved unpaid leave (leave types in
`settings.PAYROLL_UNPAID_LEAVE_TYPES`). The monthly components (county fixed subsidy,
public-health and essential-medicines subsidies) are paid in full for a full month (quantity 1 ×
monthly amount); for a part month they are paid as payable days × daily rate, where the daily rate
is the monthly amount ÷ calendar days of the month rounded to 0.0001 and the line amount is
rounded to 0.01 half up. Per-visit and per-day components are never pro-rated: they already count
what happened. Social insurance is withheld in full for any month with employed days. The
guaranteed-minimum check compares gross pay with the minimum × payable days ÷ calendar days.

Components
----------
The lines come from the pay components (`staffing.payroll.components`, one module each: how the
consultation fee is shared, how performance pay follows assessments, how tax is withheld). This
module finds who is paid for which days, gathers the sources' facts once per month, runs the
components by phase and order, and adds corrections of earlier approved months.
"""

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from clinics.models import Facility
from core.forked import in_child
from core.months import add_months
from staffing.models import Doctor, doctor_label
from staffing.payroll import components, sources
from staffing.payroll.models import PayRun, PayslipLine
from staffing.payroll.money import ZERO, money
from staffing.payroll.pay import DEDUCTION, EARNING, DoctorPay, Line
from staffing.payroll.policies import PolicyBook, ResolvedPolicy
from staffing.selectors import doctors_posted

__all__ = ["DoctorPay", "Line", "MonthCalculation", "PolicyBook", "calculate_run", "month_bounds"]


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date, int]:
    days = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=1), month.replace(day=days), days


class DoctorRow:
    """The register facts payroll needs about a doctor."""

    __slots__ = ("pk", "name", "is_demo", "hire_date", "exit_date", "insurance_code", "bank_name", "bank_account", "licence_expiry", "status")

    def __init__(self, pk, name, is_demo, hire_date, exit_date, insurance_code, bank_name, bank_account, licence_expiry, status):
        self.pk, self.name, self.is_demo, self.hire_date, self.exit_date = pk, name, is_demo, hire_date, exit_date
        self.insurance_code, self.bank_name, self.bank_account = insurance_code, bank_name, bank_account
        self.licence_expiry, self.status = licence_expiry, status

    def __str__(self):
        return doctor_label(self.name, self.is_demo)


def village_clinics(township_id=None):
    queryset = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC)
    return queryset.filter(township_id=township_id) if township_id else queryset


class MonthCalculation:
    """Everyone's earnings for one month in one area (county or township), and the context the
    components compute in: the month, its days, the policies, and the sources' facts (`duty`,
    `visits`, `publication`), each read once for the month."""

    def __init__(self, *, month: datetime.date, township_id=None, policies: PolicyBook | None = None):
        self.month, self.last_day, self.days_in_month = month_bounds(month)
        self.township_id = township_id
        self.policies = policies or PolicyBook()
        self.run_warnings: list[dict] = []
        self.duty: dict = {}
        self.visits: dict = {}
        self.publication: dict = {}
        self._texts: dict = {}
        self._shared: dict = {}

    # --- for the components -----------------------------------------------------------------

    def policy(self, pay: DoctorPay) -> ResolvedPolicy:
        return self.policies.resolve(pay.township_id, self.month)

    def text(self, message) -> str:
        """A (lazy) message translated once per calculation rather than once per line."""
        key = id(message)
        if key not in self._texts:
            self._texts[key] = str(message)
        return self._texts[key]

    def label(self, code: str) -> str:
        key = ("label", code)
        if key not in self._texts:
            self._texts[key] = components.label(code)
        return self._texts[key]

    def shared(self, key, load):
        """A read several components use (`load()` runs once per calculation)."""
        if key not in self._shared:
            self._shared[key] = load()
        return self._shared[key]

    def run_phase(self, phase: str, pays: dict[int, DoctorPay]) -> None:
        for component in components.in_phase(phase):
            component.compute(self, pays, component.prepare(self))

    # --- the month ----------------------------------------------------------------------------

    def _employment(self):
        """Each doctor's postings in the month as day ranges, read as plain rows (tens of
        thousands of doctors: no model instances)."""
        rows = doctors_posted(facility_ids=village_clinics(self.township_id).values("pk"), start=self.month, end=self.last_day).values_list(
            "facility_id", "facility__township_id", "start_date", "end_date", *(f"doctor__{f}" for f in DoctorRow.__slots__)
        )
        per_doctor = defaultdict(list)
        doctors = {}
        facility_township = {}
        for facility_id, township_id, start_date, end_date, *doctor_values in rows:
            doctor = doctors.get(doctor_values[0]) or DoctorRow(*doctor_values)
            if doctor.hire_date > self.last_day or (doctor.exit_date and doctor.exit_date < self.month):
                continue
            start = max(self.month, start_date, doctor.hire_date)
            end = min(self.last_day, end_date or self.last_day, doctor.exit_date or self.last_day)
            if start > end:
                continue
            doctors[doctor.pk] = doctor
            per_doctor[doctor.pk].append((start, end, facility_id))
            facility_township[facility_id] = township_id
        return doctors, per_doctor, facility_township

    @staticmethod
    def _pay_facility(ranges) -> int:
        """The clinic of the posting covering most days (the later one on a tie)."""
        best, best_days = None, -1
        for start, end, facility_id in ranges:
            days = (end - start).days + 1
            if days >= best_days:
                best, best_days = facility_id, days
        return best

    def compute(self) -> dict[int, DoctorPay]:
        doctors, postings, facility_township = self._employment()
        doctor_ids = sorted(doctors)
        facility_ids = sorted(facility_township)
        area_doctor_ids = doctor_ids if self.township_id else None
        area_facility_ids = facility_ids if self.township_id else None
        self.duty = sources.duty_by_doctor(month=self.month, doctor_ids=area_doctor_ids)
        leave = sources.leave_by_doctor(doctor_ids=area_doctor_ids, start=self.month, end=self.last_day)
        self.visits = sources.visits_by_facility(month=self.month, facility_ids=area_facility_ids)
        self.publication = sources.roster_publication(month=self.month, facility_ids=area_facility_ids)
        unpaid_types = set(settings.PAYROLL_UNPAID_LEAVE_TYPES)
        self._source_warnings(facility_ids)
        roster_unpublished = _("The clinic's roster for %(month)s is not published: no duty allowance.") % {"month": f"{self.month:%Y-%m}"}

        pays: dict[int, DoctorPay] = {}
        for doctor_id in doctor_ids:
            ranges = postings[doctor_id]
            facility_id = self._pay_facility(ranges)
            spans = tuple((start, end) for start, end, _f in ranges)
            employed_days = sum((end - start).days + 1 for start, end in spans)
            doctor_leave = leave.get(doctor_id)
            unpaid = sorted({
                d for kind, dates in doctor_leave.items() if kind in unpaid_types
                for d in dates if any(start <= d <= end for start, end in spans)
            }) if doctor_leave else []
            pay = DoctorPay(
                doctor=doctors[doctor_id],
                facility_id=facility_id,
                township_id=facility_township[facility_id],
                payable_days=employed_days - len(unpaid),
                days_in_month=self.days_in_month,
                employed_days=employed_days,
                employed=(spans[0] if len(spans) == 1 else (min(s for s, _e in spans), max(e for _s, e in spans))),
                employed_ranges=spans,
                unpaid_dates=unpaid,
            )
            facts = self.duty.get(doctor_id)
            if not (facts and facts.published) and self.publication.get(facility_id) != "published":
                pay.warn("roster_unpublished", roster_unpublished)
            pays[doctor_id] = pay
        self.run_phase(components.MONTH, pays)
        order = components.line_order()
        for pay in pays.values():
            pay.lines.sort(key=order)
        return pays

    def _source_warnings(self, facility_ids: list[int]) -> None:
        unpublished = [fid for fid in facility_ids if self.publication.get(fid) != "published"]
        if unpublished:
            names = dict(Facility.objects.filter(pk__in=unpublished[:20]).values_list("pk", "name"))
            shown = "、".join(names[f] for f in unpublished[:20] if f in names)
            more = _(" and %(n)d more") % {"n": len(unpublished) - 20} if len(unpublished) > 20 else ""
            self.run_warnings.append({
                "code": "roster_unpublished",
                "message": _("The %(month)s roster is not published for %(count)d clinics (%(names)s%(more)s): their duty allowances are 0 until it is.")
                % {"month": f"{self.month:%Y-%m}", "count": len(unpublished), "names": shown, "more": more},
            })
        if facility_ids and not any(self.visits.get(fid) and self.visits[fid].total for fid in facility_ids):
            self.run_warnings.append({
                "code": "no_settlements",
                "message": _("No insurance settlements are recorded for %(month)s: consultation fees are 0.") % {"month": f"{self.month:%Y-%m}"},
            })


# --- The run ----------------------------------------------------------------------------------


def calculate_run(run: PayRun, *, progress=None) -> tuple[dict[int, DoctorPay], list[dict]]:
    """The full payslips of a run: the month's earnings, corrections of earlier approved months,
    one-off items, then the withholdings (social insurance, income tax), with warnings.

    `progress(done, total=None, note="")`, when given, hears the doctors whose payslip is complete
    (the components run for all doctors at once, so the count moves in the last step); it does
    not change the result."""
    policies = PolicyBook()
    current = MonthCalculation(month=run.month, township_id=run.township_id, policies=policies)
    # The corrections recompute earlier approved months: read-only work that does not need this
    # month's result, done by a second process where one can be forked (`core.forked`) while
    # this one calculates the month, and here otherwise (the same lines either way).
    with in_child(correction_lines, run, policies) as corrections:
        pays = current.compute()
        found = corrections.get()
    for doctor_id, pay in pays.items():
        pay.lines.extend(found.get(doctor_id, ()))
    warnings = list(current.run_warnings)
    current.run_phase(components.RUN, pays)
    for pay in pays.values():
        pay.taxable_income = sum((ln.signed for ln in pay.lines if ln.taxable), ZERO)
    current.run_phase(components.WITHHOLDING, pays)
    total, note = len(pays), _("Totalling each doctor's payslip") if progress is not None else ""
    order = components.line_order()
    for done, pay in enumerate(pays.values(), 1):
        pay.lines.sort(key=lambda ln: (ln.reference_month != run.month, ln.reference_month, order(ln)))
        pay.total_up()
        _doctor_warnings(pay, policies.resolve(pay.township_id, run.month), current.last_day)
        if progress is not None:
            progress(done, total=total, note=note)
    if not pays:
        warnings.append({"code": "no_doctors", "message": _("No doctor is posted to a village clinic in this area during the month.")})
    return pays, warnings


def correction_lines(run: PayRun, policies: PolicyBook) -> dict[int, list[Line]]:
    """Differences between what an approved earlier month paid and what it comes to now (a roster
    amendment, a late settlement upload, a corrected assessment) become adjustment lines naming
    that month: by doctor, for every doctor paid in such a month (the run keeps those it pays)."""
    found: dict[int, list[Line]] = defaultdict(list)
    lookback = settings.PAYROLL_CORRECTION_MONTHS
    if lookback <= 0:
        return found
    earliest = add_months(run.month, -lookback)
    locked = PayRun.objects.filter(month__gte=earliest, month__lt=run.month, status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID])
    if run.township_id:
        locked = locked.filter(Q(township_id=run.township_id) | Q(township__isnull=True))
    months = sorted(set(locked.values_list("month", flat=True)))
    if not months:
        return found
    paid_lines = (
        PayslipLine.objects.filter(
            reference_month__in=months,
            component__in=[c.code for c in components.correctable()],
            payslip__run__status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID],
        )
        .filter(**({"payslip__township_id": run.township_id} if run.township_id else {}))
        .values("payslip__doctor_id", "reference_month", "component", "kind")
        .annotate(amount=Sum("amount"), quantity=Sum("quantity"))
    )
    paid = defaultdict(lambda: [ZERO, ZERO])
    for row in paid_lines:
        sign = 1 if row["kind"] == EARNING else -1
        key = (row["payslip__doctor_id"], row["reference_month"], row["component"])
        paid[key][0] += sign * row["amount"]
        paid[key][1] += sign * row["quantity"]
    paid_doctors_by_month = defaultdict(set)
    for doctor_id, month, _component in paid:
        paid_doctors_by_month[month].add(doctor_id)
    descriptions = {}  # (month, component): the correction line's text, translated once
    correctable = [c.code for c in components.correctable()]
    correctable_codes = frozenset(correctable)
    nothing, nothing_now = (ZERO, ZERO), (ZERO, ZERO, None)
    for month in months:
        expected_pays = MonthCalculation(month=month, township_id=run.township_id, policies=policies).compute()
        for doctor_id in sorted(paid_doctors_by_month[month]):  # only those paid: nothing to correct against otherwise
            # What the month comes to now, per correctable component: (signed amount, signed
            # quantity, its last line).
            expected = {}
            expected_pay = expected_pays.get(doctor_id)
            for ln in expected_pay.lines if expected_pay is not None else ():
                if ln.component not in correctable_codes:
                    continue
                earning = ln.kind == EARNING
                amount, quantity = (ln.amount, ln.quantity) if earning else (-ln.amount, -ln.quantity)
                entry = expected.get(ln.component)
                if entry is None:
                    expected[ln.component] = [amount, quantity, ln]
                else:
                    entry[0] += amount
                    entry[1] += quantity
                    entry[2] = ln
            for component in correctable:
                was_amount, was_quantity = paid.get((doctor_id, month, component), nothing)
                now_amount, now_quantity, now_line = expected.get(component, nothing_now)
                diff = now_amount - was_amount
                if diff == 0:
                    continue
                quantity_diff = now_quantity - was_quantity
                rate = now_line.rate if now_line else None
                if rate is None or quantity_diff == 0 or money(abs(quantity_diff) * rate) != abs(diff):
                    quantity, rate = Decimal(1), abs(diff)
                else:
                    quantity = abs(quantity_diff)
                description = descriptions.get((month, component))
                if description is None:
                    description = descriptions[(month, component)] = (
                        _("Correction for %(month)s: %(component)s") % {"month": f"{month:%Y-%m}", "component": components.label(component)}
                    )
                found[doctor_id].append(Line(
                    component=component,
                    kind=EARNING if diff > 0 else DEDUCTION,
                    description=description,
                    quantity=quantity,
                    rate=rate,
                    amount=abs(diff),
                    reference_month=month,
                    policy_id=now_line.policy_id if now_line else None,
                    funding=now_line.funding if now_line else (),
                    source={
                        "correction_of": f"{month:%Y-%m}",
                        "paid": str(was_amount),
                        "now": str(now_amount),
                        "now_source": now_line.source if now_line else {},
                    },
                ))
    return dict(found)


def _doctor_warnings(pay: DoctorPay, policy: ResolvedPolicy, last_day: datetime.date) -> None:
    doctor = pay.doctor
    minimum = money(policy.guaranteed_minimum * pay.payable_days / pay.days_in_month) if pay.days_in_month else ZERO
    if pay.gross < minimum:
        pay.warn("below_minimum", _("Gross pay %(gross)s is below the guaranteed minimum %(minimum)s for %(days)d payable days.")
                 % {"gross": pay.gross, "minimum": minimum, "days": pay.payable_days})
    if not (doctor.bank_account or "").strip() or not (doctor.bank_name or "").strip():
        pay.warn("no_bank_account", _("No bank or bank account in the register: enter them on the doctor's record before paying."))
    if doctor.licence_expiry and doctor.licence_expiry < last_day:
        pay.warn("licence_expired", _("The practising licence expired on %(date)s.") % {"date": doctor.licence_expiry})
    if doctor.status == Doctor.Status.SUSPENDED:
        pay.warn("suspended", _("The doctor is suspended in the register."))
    if pay.net < 0:
        pay.warn("negative_net", _("Deductions exceed pay: net pay is negative."))
