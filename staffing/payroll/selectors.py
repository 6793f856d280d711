"""Reads of payroll, scoped to the acting user's reach. A village doctor sees only their own
payslips, and only once the run is approved."""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import CharField, Count, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from clinics.models import Role
from clinics.scoping import is_county_wide, reach_key, scope_queryset, user_role
from core.models import AuditEntry
from staffing.bank_accounts import BANK_ACCOUNT_CHANGE
from staffing.models import Doctor
from staffing.payroll import components
from staffing.payroll.models import PayRun, Payslip, PayslipLine

RELEASED = (PayRun.Status.APPROVED, PayRun.Status.PAID)


def runs_in_reach(*, user, queryset: QuerySet | None = None) -> QuerySet:
    """The pay runs a user may see and export: every run for county-wide roles, a township
    admin's own township's runs only (a county-wide run holds every township's pay; their doctors'
    payslips in it are in the scoped payslip list); nothing for anyone else."""
    queryset = PayRun.objects.select_related("township") if queryset is None else queryset
    if user is not None and is_county_wide(user):
        return queryset
    if user is not None and user_role(user) == Role.TOWNSHIP_ADMIN:
        return queryset.filter(township_id=user.scope.township_id)
    return queryset.none()


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


def released_pay_months(*, doctor_id: int, start: datetime.date, end: datetime.date | None = None) -> list[datetime.date]:
    """The months (first days) from the month holding `start` to `end` (open: every later one) for
    which the doctor has a payslip in an approved or paid run, newest first."""
    months = Payslip.objects.filter(doctor_id=doctor_id, run__status__in=RELEASED, month__gte=start.replace(day=1))
    if end is not None:
        months = months.filter(month__lte=end)
    return list(months.order_by("-month").values_list("month", flat=True).distinct())


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


# Sums over payslip lines (a province's month is 200,000 of them) asked by the dashboard and the
# pay-run list on every visit are kept per reach until a run changes (`_runs_version`), and this
# long at most (a clinic moved to another township changes a township's reach without any run).
LINE_TOTALS_CACHE_SECONDS = 600


def _runs_version() -> str:
    """Changes whenever any payslip line may have: lines are only written by calculating a run and
    only removed with their run, and which months count as released moves with approval and payment.
    One aggregate over the pay runs (a few per month), not over the lines."""
    v = PayRun.objects.aggregate(n=Count("id"), top=Max("id"), calculated=Max("calculated_at"), approved=Max("approved_at"), paid=Max("paid_at"))
    # Digested: the timestamps hold spaces and colons, which memcached refuses in a key.
    return hashlib.blake2b("|".join(str(v[k]) for k in ("n", "top", "calculated", "approved", "paid")).encode(), digest_size=12).hexdigest()


def _kept_line_totals(name: str, user, args: str, compute):
    key = f"payroll:lines:{name}:{'all' if user is None else reach_key(user)}:{args}:{_runs_version()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, LINE_TOTALS_CACHE_SECONDS)
    return value


def monthly_component_totals(*, months: int = 12, user=None) -> list[tuple[datetime.date, dict]]:
    """Approved and paid months, newest `months`, with signed totals per component."""
    return _kept_line_totals("monthly", user, str(months), lambda: _monthly_component_totals(months=months, user=user))


def _monthly_component_totals(*, months: int, user) -> list[tuple[datetime.date, dict]]:
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
    by_component: dict = defaultdict(Decimal)
    for row in PayslipLine.objects.filter(payslip__in=slips.values("pk")).values("component", "kind").annotate(amount=Sum("amount")).order_by():
        by_component[row["component"]] += row["amount"] if row["kind"] == PayslipLine.Kind.EARNING else -row["amount"]
    totals = {key: sum((m[key] for m in months), Decimal("0")) for key in ("gross", "deductions", "net", "income_tax", "social_insurance")}
    ordered = [(item.label, by_component[item.code]) for item in components.all_components() if item.code in by_component]
    return {"year": year, "months": months, "components": ordered, "totals": totals}


@dataclass(frozen=True)
class BankAccountChange:
    """A change of a doctor's bank account that a run pays out on for the first time."""

    entry_id: int  # the change's audit entry
    doctor_id: int
    doctor_name: str
    clinic: str
    township: str
    old_bank_name: str
    new_bank_name: str
    old_account: str  # masked, "****1234"
    new_account: str  # masked
    changed_by: str
    changed_at: datetime.datetime
    doctor_notified: bool
    after_calculation: bool  # the run's payslip still holds the account from before the change

    def as_record(self) -> dict:
        """The change as stored with the run's acknowledgement (JSON)."""
        return {**asdict(self), "changed_at": self.changed_at.isoformat()}


def bank_account_changes(*, run: PayRun) -> list[BankAccountChange]:
    """Every bank-account change of a doctor paid by `run` since that doctor's last paid run,
    oldest first. "Since" is counted from that run's calculation, when its payslips took the
    accounts its bank file paid; a doctor never paid before shows every change on record."""
    doctor_keys = Payslip.objects.filter(run=run).order_by().annotate(key=Cast("doctor_id", CharField())).values("key")
    entries = list(
        AuditEntry.objects.filter(
            action=BANK_ACCOUNT_CHANGE, content_type=ContentType.objects.get_for_model(Doctor), object_id__in=doctor_keys
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    if not entries:
        return []
    doctor_ids = {int(entry.object_id) for entry in entries}
    last_paid = dict(
        Payslip.objects.filter(doctor_id__in=doctor_ids, run__status=PayRun.Status.PAID, month__lt=run.month)
        .order_by()
        .values("doctor_id")
        .annotate(taken=Max("run__calculated_at"))
        .values_list("doctor_id", "taken")
    )
    slips = {
        slip.doctor_id: slip
        for slip in Payslip.objects.filter(run=run, doctor_id__in=doctor_ids).select_related("doctor", "facility", "township")
    }
    changes = []
    for entry in entries:
        doctor_id = int(entry.object_id)
        since = last_paid.get(doctor_id)
        if since is not None and entry.at <= since:
            continue
        slip = slips[doctor_id]
        old_name, new_name = entry.changes.get("bank_name") or ["", ""]
        old_account, new_account = entry.changes.get("bank_account") or ["", ""]
        actor = entry.actor
        changes.append(
            BankAccountChange(
                entry_id=entry.pk,
                doctor_id=doctor_id,
                doctor_name=str(slip.doctor),
                clinic=slip.facility.name,
                township=slip.township.name if slip.township_id else "",
                old_bank_name=old_name or "",
                new_bank_name=new_name or "",
                old_account=old_account or "",
                new_account=new_account or "",
                changed_by=(actor.get_full_name() or actor.username) if actor else _("the system (an import or a command)"),
                changed_at=entry.at,
                doctor_notified=bool(entry.changes.get("notified")),
                after_calculation=run.calculated_at is not None and entry.at > run.calculated_at,
            )
        )
    return changes


# --- For the dashboard ----------------------------------------------------------------------


def run_list_for_dashboard(*, user, months: list[datetime.date]) -> list[PayRun]:
    """The pay runs of `months` that cover the user's reach (the county's runs, and a township
    admin's township's), newest month first, then by township code."""
    runs = PayRun.objects.filter(month__in=months)
    if not is_county_wide(user):
        township_id = getattr(getattr(user, "scope", None), "township_id", None)
        runs = runs.filter(Q(township__isnull=True) | Q(township_id=township_id))
    return list(runs.select_related("township").order_by("-month", "township__code"))


def _lines_in_reach(user) -> QuerySet:
    return scope_queryset(PayslipLine.objects.all(), user, facility_path="payslip__facility")


def component_totals_for_dashboard(*, user, month: datetime.date) -> list[dict]:
    """Each component's total of the payslip lines of `month` in reach (any run, any kind), by
    component code: [{"component": label, "total": Decimal}]."""
    rows = _kept_line_totals(
        "month", user, month.isoformat(),
        lambda: list(_lines_in_reach(user).filter(payslip__month=month).values("component").annotate(total=Sum("amount")).order_by("component")),
    )
    labels = dict(components.choices())  # in the request's language, so not kept
    return [
        {"component": labels.get(r["component"], r["component"]), "total": Decimal(r["total"] or 0).quantize(Decimal("0.01"))}
        for r in rows
    ]


def monthly_earnings_by_component(*, user, start: datetime.date, end: datetime.date) -> list[tuple[str, dict]]:
    """Earning lines in reach per component and month from `start` to `end` (first days,
    inclusive), by component code: [(label, {month: Decimal})]."""
    labels = dict(components.choices())
    rows = _kept_line_totals(
        "earnings", user, f"{start}:{end}",
        lambda: list(
            _lines_in_reach(user)
            .filter(payslip__month__gte=start, payslip__month__lte=end, kind=PayslipLine.Kind.EARNING)
            .values("payslip__month", "component")
            .annotate(total=Sum("amount"))
            .order_by()
        ),
    )
    table: dict[str, dict] = defaultdict(dict)
    for row in rows:
        table[row["component"]][row["payslip__month"]] = Decimal(row["total"] or 0).quantize(Decimal("0.01"))
    return [(labels.get(component, component), values) for component, values in sorted(table.items())]
