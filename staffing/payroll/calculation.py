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

Consultation fee rule
---------------------
Visits a settlement names by the doctor's insurance practitioner code are the doctor's own. Visits
settled at the clinic without a practitioner are shared between the doctors whose pay clinic (the
clinic of the posting covering most days of the month) it is, in proportion to their day duties
on the published roster (payable days when the roster is not published), in whole visits by the
largest-remainder method so the shares add up to the clinic's count.

Performance pay
---------------
A monthly assessment is paid in its month; a quarterly assessment in the quarter's last month,
as 3 × the band's monthly amount. A negative band amount is a deduction.
"""

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from clinics.models import Facility
from core.months import add_months
from staffing.models import Doctor
from staffing.payroll import sources
from staffing.payroll.models import (
    MONTHLY_COMPONENTS,
    Assessment,
    Component,
    FundingSource,
    InsuranceScheme,
    OneOffItem,
    PayPolicy,
    PayProfile,
    PayRun,
    Payslip,
    PayslipLine,
)
from staffing.payroll.money import ZERO, allocate, money, withholding_this_month
from staffing.selectors import doctors_posted

EARNING = PayslipLine.Kind.EARNING
DEDUCTION = PayslipLine.Kind.DEDUCTION
RATE_PLACES = Decimal("0.0001")
DEFAULT_MINIMUM = Decimal("3000")
CORRECTABLE = {
    Component.FIXED_SUBSIDY,
    Component.PUBLIC_HEALTH,
    Component.ESSENTIAL_MEDICINES,
    Component.CONSULTATION_FEE,
    Component.DUTY_WEEKEND,
    Component.DUTY_HOLIDAY,
    Component.PERFORMANCE,
}


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date, int]:
    days = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=1), month.replace(day=days), days




def _iso(dates) -> list[str]:
    return [d.isoformat() for d in dates]


@dataclass
class Line:
    component: str
    kind: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    reference_month: datetime.date
    taxable: bool = True
    policy_id: int | None = None
    funding_source: str = ""
    source: dict = field(default_factory=dict)

    @property
    def signed(self) -> Decimal:
        return self.amount if self.kind == EARNING else -self.amount


@dataclass
class DoctorPay:
    doctor: object
    facility_id: int
    township_id: int | None
    payable_days: int
    days_in_month: int
    employed_days: int
    lines: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    gross: Decimal = ZERO
    deductions: Decimal = ZERO
    net: Decimal = ZERO
    taxable_income: Decimal = ZERO
    social_insurance: Decimal = ZERO
    income_tax: Decimal = ZERO

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})

    def total_up(self) -> None:
        self.gross = sum((ln.amount for ln in self.lines if ln.kind == EARNING), ZERO)
        self.deductions = sum((ln.amount for ln in self.lines if ln.kind == DEDUCTION), ZERO)
        self.net = self.gross - self.deductions


# --- Policies ------------------------------------------------------------------------------


@dataclass
class ResolvedComponent:
    amount: Decimal
    funding_source: str
    policy_id: int


@dataclass
class ResolvedPolicy:
    components: dict
    bands: list  # (min_score, monthly_amount, label, policy_id), highest first
    guaranteed_minimum: Decimal


class PolicyBook:
    """All policy versions, loaded once; resolves the rules in force for a township and month."""

    def __init__(self):
        versions = list(PayPolicy.objects.prefetch_related("components", "bands").order_by("effective_from"))
        self.county = [v for v in versions if v.township_id is None]
        self.by_township = defaultdict(list)
        for v in versions:
            if v.township_id is not None:
                self.by_township[v.township_id].append(v)
        self._cache = {}

    @staticmethod
    def _in_force(versions, day):
        current = None
        for v in versions:
            if v.effective_from <= day:
                current = v
        return current

    def resolve(self, township_id, month: datetime.date) -> ResolvedPolicy:
        key = (township_id, month)
        if key not in self._cache:
            county = self._in_force(self.county, month)
            local = self._in_force(self.by_township.get(township_id, []), month)
            components = {}
            bands = []
            minimum = DEFAULT_MINIMUM
            for version in (county, local):  # the township version overrides component by component
                if version is None:
                    continue
                for c in version.components.all():
                    components[c.component] = ResolvedComponent(c.amount, c.funding_source, version.pk)
                version_bands = list(version.bands.all())
                if version_bands:
                    bands = [(b.min_score, b.monthly_amount, b.label, version.pk) for b in version_bands]
                if version.guaranteed_minimum is not None:
                    minimum = version.guaranteed_minimum
            bands.sort(key=lambda b: b[0], reverse=True)
            self._cache[key] = ResolvedPolicy(components, bands, minimum)
        return self._cache[key]


# --- The month ------------------------------------------------------------------------------


class DoctorRow:
    """The register facts payroll needs about a doctor."""

    __slots__ = ("pk", "name", "is_demo", "hire_date", "exit_date", "insurance_code", "bank_name", "bank_account", "licence_expiry", "status")

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def __str__(self):
        return f"{self.name}{_('(demo)')}" if self.is_demo else self.name


class Texts:
    """Translated line texts, looked up once per calculation rather than once per line."""

    def __init__(self):
        self.full_month = _("%(component)s, full month")
        self.part_month = _("%(component)s, %(days)d of %(total)d days")
        self.duty_days = _("%(component)s: %(days)d days")
        self.consultation = _("General consultation fee: %(own)d own + %(shared)d shared visits")
        self.performance = _("Performance pay: score %(score)s, band %(band)s")
        self.roster_unpublished = _("The clinic's roster for %(month)s is not published: no duty allowance.")
        self._labels = {c.value: str(c.label) for c in Component}

    def label(self, component) -> str:
        return self._labels[component]


def village_clinics(township_id=None):
    queryset = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC)
    return queryset.filter(township_id=township_id) if township_id else queryset


class MonthCalculation:
    """Everyone's earnings for one month in one area (county or township)."""

    def __init__(self, *, month: datetime.date, township_id=None, policies: PolicyBook | None = None):
        self.month, self.last_day, self.days_in_month = month_bounds(month)
        self.township_id = township_id
        self.policies = policies or PolicyBook()
        self.text = Texts()
        self.run_warnings: list[dict] = []

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
        duty = sources.duty_by_doctor(month=self.month, doctor_ids=area_doctor_ids)
        leave = sources.leave_by_doctor(doctor_ids=area_doctor_ids, start=self.month, end=self.last_day)
        visits = sources.visits_by_facility(month=self.month, facility_ids=area_facility_ids)
        publication = sources.roster_publication(month=self.month, facility_ids=area_facility_ids)
        assessments = self._assessments()
        unpaid_types = set(settings.PAYROLL_UNPAID_LEAVE_TYPES)

        unpublished = [fid for fid in facility_ids if publication.get(fid) != "published"]
        if unpublished:
            names = dict(Facility.objects.filter(pk__in=unpublished[:20]).values_list("pk", "name"))
            shown = "、".join(names[f] for f in unpublished[:20] if f in names)
            more = _(" and %(n)d more") % {"n": len(unpublished) - 20} if len(unpublished) > 20 else ""
            self.run_warnings.append({
                "code": "roster_unpublished",
                "message": _("The %(month)s roster is not published for %(count)d clinics (%(names)s%(more)s): their duty allowances are 0 until it is.")
                % {"month": f"{self.month:%Y-%m}", "count": len(unpublished), "names": shown, "more": more},
            })
        if facility_ids and not any(visits.get(fid) and visits[fid].total for fid in facility_ids):
            self.run_warnings.append({
                "code": "no_settlements",
                "message": _("No insurance settlements are recorded for %(month)s: consultation fees are 0.") % {"month": f"{self.month:%Y-%m}"},
            })

        pays: dict[int, DoctorPay] = {}
        for doctor_id in doctor_ids:
            doctor = doctors[doctor_id]
            ranges = postings[doctor_id]
            facility_id = self._pay_facility(ranges)
            employed_days = sum((end - start).days + 1 for start, end, _f in ranges)
            unpaid = sorted({
                d for kind, dates in leave.get(doctor_id, {}).items() if kind in unpaid_types
                for d in dates if any(start <= d <= end for start, end, _f in ranges)
            })
            employed = (min(r[0] for r in ranges), max(r[1] for r in ranges))
            pay = DoctorPay(
                doctor=doctor,
                facility_id=facility_id,
                township_id=facility_township[facility_id],
                payable_days=employed_days - len(unpaid),
                days_in_month=self.days_in_month,
                employed_days=employed_days,
            )
            policy = self.policies.resolve(pay.township_id, self.month)
            self._monthly(pay, policy, employed, unpaid)
            facts = duty.get(doctor_id)
            if facts and facts.published:
                self._duty(pay, policy, facts)
            elif publication.get(facility_id) != "published":
                pay.warn("roster_unpublished", self.text.roster_unpublished % {"month": f"{self.month:%Y-%m}"})
            self._performance(pay, policy, assessments.get(doctor_id))
            pays[doctor_id] = pay
        self._consultation(pays, duty, visits)
        for pay in pays.values():
            pay.lines.sort(key=lambda ln: ORDER.index(ln.component))
        return pays

    # --- components -------------------------------------------------------------------------

    def _line(self, pay: DoctorPay, component, kind, description, quantity, rate, policy_part: ResolvedComponent | None, source, **extra):
        quantity = Decimal(quantity)
        amount = money(quantity * rate) if "amount" not in extra else extra.pop("amount")
        if amount == 0:
            return
        pay.lines.append(Line(
            component=component,
            kind=kind,
            description=description,
            quantity=quantity,
            rate=rate,
            amount=amount,
            reference_month=self.month,
            policy_id=policy_part.policy_id if policy_part else None,
            funding_source=policy_part.funding_source if policy_part else extra.pop("funding_source", ""),
            source=source,
            **extra,
        ))

    def _monthly(self, pay: DoctorPay, policy: ResolvedPolicy, employed: tuple, unpaid: list) -> None:
        full = pay.payable_days == self.days_in_month
        source = {"payable_days": pay.payable_days, "days_in_month": self.days_in_month}
        if not full:
            source["employed_from"] = employed[0].isoformat()
            source["employed_until"] = employed[1].isoformat()
            if unpaid:
                source["unpaid_leave_dates"] = _iso(unpaid)
        for component in MONTHLY_COMPONENTS:
            part = policy.components.get(component)
            if part is None:
                continue
            label = self.text.label(component)
            if full:
                self._line(pay, component, EARNING, self.text.full_month % {"component": label}, 1, part.amount, part, source)
            else:
                daily = (part.amount / self.days_in_month).quantize(RATE_PLACES)
                description = self.text.part_month % {"component": label, "days": pay.payable_days, "total": self.days_in_month}
                self._line(pay, component, EARNING, description, pay.payable_days, daily, part, source)

    def _duty(self, pay: DoctorPay, policy: ResolvedPolicy, facts) -> None:
        for component, dates in ((Component.DUTY_WEEKEND, facts.weekend_oncall_dates), (Component.DUTY_HOLIDAY, facts.holiday_oncall_dates)):
            part = policy.components.get(component)
            if part is None or not dates:
                continue
            description = self.text.duty_days % {"component": self.text.label(component), "days": len(dates)}
            self._line(pay, component, EARNING, description, len(dates), part.amount, part, {"dates": _iso(dates)})

    def _consultation(self, pays: dict[int, DoctorPay], duty: dict, visits: dict) -> None:
        named = defaultdict(int)
        for facts in visits.values():
            for code, count in facts.by_practitioner.items():
                named[code] += int(count)
        by_facility = defaultdict(dict)
        for doctor_id, pay in pays.items():
            facts = duty.get(doctor_id)
            weight = len(facts.day_duty_dates) if facts and facts.published else pay.payable_days
            by_facility[pay.facility_id][doctor_id] = weight
        for facility_id, weights in by_facility.items():
            facts = visits.get(facility_id)
            shares = allocate(facts.unnamed if facts else 0, weights)
            for doctor_id in weights:
                pay = pays[doctor_id]
                part = self.policies.resolve(pay.township_id, self.month).components.get(Component.CONSULTATION_FEE)
                own = named.get(pay.doctor.insurance_code, 0) if pay.doctor.insurance_code else 0
                count = own + shares[doctor_id]
                if part is None or count == 0:
                    continue
                description = self.text.consultation % {"own": own, "shared": shares[doctor_id]}
                source = {
                    "facility_id": facility_id,
                    "named_visits": own,
                    "shared_visits": shares[doctor_id],
                    "clinic_unnamed_visits": facts.unnamed if facts else 0,
                    "share_basis": weights[doctor_id],
                    "share_basis_total": sum(weights.values()),
                }
                self._line(pay, Component.CONSULTATION_FEE, EARNING, description, count, part.amount, part, source)

    def _assessments(self) -> dict[int, tuple[Assessment, int]]:
        quarter_start = add_months(self.month, -((self.month.month - 1) % 3))
        quarter_ends_now = (self.month.month % 3) == 0
        condition = Q(period=Assessment.Period.MONTH, period_start=self.month)
        if quarter_ends_now:
            condition |= Q(period=Assessment.Period.QUARTER, period_start=quarter_start)
        found = {}
        queryset = Assessment.objects.filter(condition)
        if self.township_id:
            queryset = queryset.filter(doctor__postings__facility__township_id=self.township_id).distinct()
        for assessment in queryset.order_by("period", "pk"):
            found.setdefault(assessment.doctor_id, (assessment, 1 if assessment.period == Assessment.Period.MONTH else 3))
        return found

    def _performance(self, pay: DoctorPay, policy: ResolvedPolicy, found) -> None:
        if not found:
            return
        assessment, months = found
        band = next((b for b in policy.bands if assessment.score >= b[0]), None)
        if band is None:
            return
        min_score, monthly, label, policy_id = band
        total = money(monthly * months)
        if total == 0:
            return
        kind = EARNING if total >= 0 else DEDUCTION
        description = self.text.performance % {"score": assessment.score, "band": label}
        pay.lines.append(Line(
            component=Component.PERFORMANCE, kind=kind, description=description, quantity=Decimal(months), rate=abs(monthly),
            amount=abs(total), reference_month=self.month, policy_id=policy_id, funding_source=FundingSource.PERFORMANCE_FUND,
            source={"assessment_id": assessment.pk, "period": assessment.period, "period_start": assessment.period_start.isoformat(),
                    "score": str(assessment.score), "band": label},
        ))


ORDER = [
    Component.FIXED_SUBSIDY, Component.PUBLIC_HEALTH, Component.ESSENTIAL_MEDICINES, Component.CONSULTATION_FEE,
    Component.DUTY_WEEKEND, Component.DUTY_HOLIDAY, Component.PERFORMANCE, Component.BONUS, Component.BACK_PAY,
    Component.ONE_OFF_DEDUCTION, Component.SOCIAL_INSURANCE, Component.INCOME_TAX,
]


# --- The run ----------------------------------------------------------------------------------


def calculate_run(run: PayRun) -> tuple[dict[int, DoctorPay], list[dict]]:
    """The full payslips of a run: the month's earnings, corrections of earlier approved months,
    one-off items, social insurance and income tax, with warnings."""
    policies = PolicyBook()
    current = MonthCalculation(month=run.month, township_id=run.township_id, policies=policies)
    pays = current.compute()
    warnings = list(current.run_warnings)
    doctor_ids = list(pays)
    _add_corrections(run, pays, policies)
    _add_one_offs(run, pays)
    _add_deductions(run, pays)
    for pay in pays.values():
        pay.lines.sort(key=lambda ln: (ln.reference_month != run.month, ln.reference_month, ORDER.index(ln.component)))
        pay.total_up()
        _doctor_warnings(pay, policies.resolve(pay.township_id, run.month), current.last_day)
    if not doctor_ids:
        warnings.append({"code": "no_doctors", "message": _("No doctor is posted to a village clinic in this area during the month.")})
    return pays, warnings


def _add_corrections(run: PayRun, pays: dict[int, DoctorPay], policies: PolicyBook) -> None:
    """Differences between what an approved earlier month paid and what it comes to now (a roster
    amendment, a late settlement upload, a corrected assessment) become adjustment lines naming
    that month."""
    lookback = settings.PAYROLL_CORRECTION_MONTHS
    if lookback <= 0 or not pays:
        return
    earliest = add_months(run.month, -lookback)
    locked = PayRun.objects.filter(month__gte=earliest, month__lt=run.month, status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID])
    if run.township_id:
        locked = locked.filter(Q(township_id=run.township_id) | Q(township__isnull=True))
    months = sorted(set(locked.values_list("month", flat=True)))
    if not months:
        return
    paid_lines = (
        PayslipLine.objects.filter(
            reference_month__in=months,
            component__in=CORRECTABLE,
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
    for month in months:
        expected_pays = MonthCalculation(month=month, township_id=run.township_id, policies=policies).compute()
        for doctor_id, pay in pays.items():
            if doctor_id not in paid_doctors_by_month[month]:
                continue  # not paid in that month's run: nothing to correct against
            expected = defaultdict(lambda: [ZERO, ZERO, None])
            if doctor_id in expected_pays:
                for ln in expected_pays[doctor_id].lines:
                    entry = expected[ln.component]
                    entry[0] += ln.signed
                    entry[1] += ln.quantity if ln.kind == EARNING else -ln.quantity
                    entry[2] = ln
            for component in ORDER:
                if component not in CORRECTABLE:
                    continue
                was_amount, was_quantity = paid.get((doctor_id, month, component), (ZERO, ZERO))
                now_amount, now_quantity, now_line = expected.get(component, (ZERO, ZERO, None))
                diff = now_amount - was_amount
                if diff == 0:
                    continue
                quantity_diff = now_quantity - was_quantity
                rate = now_line.rate if now_line else None
                if rate is None or quantity_diff == 0 or money(abs(quantity_diff) * rate) != abs(diff):
                    quantity, rate = Decimal(1), abs(diff)
                else:
                    quantity = abs(quantity_diff)
                description = _("Correction for %(month)s: %(component)s") % {"month": f"{month:%Y-%m}", "component": Component(component).label}
                pay.lines.append(Line(
                    component=component,
                    kind=EARNING if diff > 0 else DEDUCTION,
                    description=description,
                    quantity=quantity,
                    rate=rate,
                    amount=abs(diff),
                    reference_month=month,
                    policy_id=now_line.policy_id if now_line else None,
                    funding_source=now_line.funding_source if now_line else "",
                    source={
                        "correction_of": f"{month:%Y-%m}",
                        "paid": str(was_amount),
                        "now": str(now_amount),
                        "now_source": now_line.source if now_line else {},
                    },
                ))


def _add_one_offs(run: PayRun, pays: dict[int, DoctorPay]) -> None:
    for item in OneOffItem.objects.filter(month=run.month).order_by("pk"):
        if item.doctor_id not in pays:
            continue  # not in this run's area
        kind = DEDUCTION if item.kind == OneOffItem.Kind.DEDUCTION else EARNING
        pays[item.doctor_id].lines.append(Line(
            component=item.kind, kind=kind, description=item.description, quantity=Decimal(1), rate=item.amount,
            amount=money(item.amount), reference_month=run.month, funding_source=FundingSource.COUNTY_FINANCE if kind == EARNING else FundingSource.DOCTOR,
            source={"one_off_item_id": item.pk},
        ))


def _add_deductions(run: PayRun, pays: dict[int, DoctorPay]) -> None:
    profiles = {p.doctor_id: p for p in PayProfile.objects.select_related("scheme")}
    default_scheme = InsuranceScheme.objects.filter(is_default=True).first()
    year_start = run.month.replace(month=1)
    earlier = (
        Payslip.objects.filter(
            month__gte=year_start, month__lt=run.month, run__status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID]
        )
        .values("doctor_id")
        .annotate(income=Sum("taxable_income"), insurance=Sum("social_insurance"), tax=Sum("income_tax"))
    )
    ytd = {row["doctor_id"]: row for row in earlier}
    for doctor_id, pay in pays.items():
        profile = profiles.get(doctor_id)
        scheme = (profile.scheme if profile and profile.scheme_id else default_scheme)
        if scheme and pay.employed_days and not (profile and profile.exempt_from_insurance):
            if scheme.flat_amount is not None:
                quantity, rate = Decimal(1), scheme.flat_amount
            else:
                quantity, rate = scheme.contribution_base, scheme.employee_rate
            amount = money(quantity * rate)
            if amount:
                pay.lines.append(Line(
                    component=Component.SOCIAL_INSURANCE, kind=DEDUCTION, description=str(scheme), quantity=quantity, rate=rate,
                    amount=amount, reference_month=run.month, taxable=False, funding_source=FundingSource.DOCTOR,
                    source={"scheme": scheme.code},
                ))
                pay.social_insurance = amount
        pay.taxable_income = sum((ln.signed for ln in pay.lines if ln.taxable), ZERO)
        prior = ytd.get(doctor_id, {})
        hired = pay.doctor.hire_date
        first_month = max(year_start, hired.replace(day=1))
        months_employed = (run.month.year - first_month.year) * 12 + run.month.month - first_month.month + 1
        tax, detail = withholding_this_month(
            cumulative_income=(prior.get("income") or ZERO) + pay.taxable_income,
            months_employed=max(months_employed, 1),
            cumulative_special_deductions=(prior.get("insurance") or ZERO) + pay.social_insurance,
            tax_already_withheld=prior.get("tax") or ZERO,
        )
        pay.income_tax = tax
        if tax:
            pay.lines.append(Line(
                component=Component.INCOME_TAX, kind=DEDUCTION,
                description=_("Individual income tax, cumulative withholding at %(rate)s%%") % {"rate": int(Decimal(detail["rate"]) * 100)},
                quantity=Decimal(1), rate=tax, amount=tax, reference_month=run.month, taxable=False,
                funding_source=FundingSource.DOCTOR, source=detail,
            ))


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
