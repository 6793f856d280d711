"""Reads of payroll, scoped to the acting user's reach. A village doctor sees only their own
payslips, and only once the run is approved."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum

from clinics.models import Role
from clinics.scoping import scope_queryset, user_role
from staffing.payroll.models import Component, PayRun, Payslip, PayslipLine

RELEASED = (PayRun.Status.APPROVED, PayRun.Status.PAID)


def payslip_list(*, user, month: datetime.date | None = None) -> QuerySet:
    queryset = Payslip.objects.select_related("doctor", "facility", "township", "run").prefetch_related(
        Prefetch("lines", queryset=PayslipLine.objects.select_related("policy__township").order_by("position", "id"))
    )
    role = user_role(user)
    if role is None:
        return queryset.none()
    if role == Role.VILLAGE_DOCTOR:
        queryset = queryset.filter(doctor__user=user, run__status__in=RELEASED)
    else:
        queryset = scope_queryset(queryset, user, facility_path="facility")
    if month is not None:
        queryset = queryset.filter(month=month.replace(day=1))
    return queryset.order_by("-month", "doctor__name", "id")


def payslip_get(*, user, pk: int) -> Payslip | None:
    return payslip_list(user=user).filter(pk=pk).first()


def run_lines(run: PayRun) -> QuerySet:
    return PayslipLine.objects.filter(payslip__run=run)


def run_summary(*, run: PayRun) -> list[dict]:
    """Per clinic: township, clinic, doctors, each component's signed total, gross, deductions, net."""
    clinics: dict = {}
    for slip in Payslip.objects.filter(run=run).values("facility_id", "facility__name", "facility__code", "township__name").annotate(
        gross=Sum("gross"), deductions=Sum("deductions"), net=Sum("net"), doctors=Count("id")
    ).order_by():
        clinics[slip["facility_id"]] = {
            "township": slip["township__name"] or "",
            "clinic": slip["facility__name"],
            "code": slip["facility__code"],
            "doctors": slip["doctors"],
            "components": defaultdict(Decimal),
            "gross": slip["gross"],
            "deductions": slip["deductions"],
            "net": slip["net"],
        }
    for row in run_lines(run).values("payslip__facility_id", "component", "kind").annotate(amount=Sum("amount")).order_by():
        sign = 1 if row["kind"] == PayslipLine.Kind.EARNING else -1
        clinics[row["payslip__facility_id"]]["components"][row["component"]] += sign * row["amount"]
    return sorted(clinics.values(), key=lambda c: (c["township"], c["code"]))


def monthly_component_totals(*, months: int = 12, user=None) -> list[tuple[datetime.date, dict]]:
    """Approved and paid months, newest `months`, with signed totals per component."""
    queryset = PayslipLine.objects.filter(payslip__run__status__in=RELEASED)
    if user is not None:
        queryset = scope_queryset(queryset, user, facility_path="payslip__facility")
    totals: dict = defaultdict(lambda: defaultdict(Decimal))
    for row in queryset.values("payslip__month", "component", "kind").annotate(amount=Sum("amount")).order_by():
        sign = 1 if row["kind"] == PayslipLine.Kind.EARNING else -1
        totals[row["payslip__month"]][row["component"]] += sign * row["amount"]
    chosen = sorted(totals)[-months:]
    return [(m, dict(totals[m])) for m in chosen]


def year_to_date(*, doctor_id: int, year: int, user=None) -> dict:
    """One doctor's released payslips of the year: per month and component, and the year's totals."""
    slips = Payslip.objects.filter(doctor_id=doctor_id, month__year=year, run__status__in=RELEASED)
    if user is not None:
        slips = payslip_list(user=user).filter(doctor_id=doctor_id, month__year=year, run__status__in=RELEASED)
    months = list(slips.order_by("month").values("month", "gross", "deductions", "net", "income_tax", "social_insurance"))
    components: dict = defaultdict(Decimal)
    for row in PayslipLine.objects.filter(payslip__in=slips.values("pk")).values("component", "kind").annotate(amount=Sum("amount")).order_by():
        components[row["component"]] += row["amount"] if row["kind"] == PayslipLine.Kind.EARNING else -row["amount"]
    totals = {key: sum((m[key] for m in months), Decimal("0")) for key in ("gross", "deductions", "net", "income_tax", "social_insurance")}
    ordered = [(Component(c).label, components[c]) for c in Component.values if c in components]
    return {"year": year, "months": months, "components": ordered, "totals": totals}
