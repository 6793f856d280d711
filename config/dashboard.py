"""The health bureau's morning page: every panel of the admin index, scoped to the user's reach.

Each panel is a fixed handful of aggregate queries (GROUP BY in the database), so the number of
queries does not grow with clinics, doctors or records. config is the top layer: it may read
every app's models, and only reads."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Facility, Role
from clinics.scoping import is_county_wide, scope_facilities, scope_queryset, user_role
from clinics.settlements.models import ActivityAnomaly, Reconciliation
from clinics.settlements.selectors import monthly_totals as settlement_monthly_totals
from core.charts import Chart, Series
from core.months import add_months, month_start
from notifications.models import Notification
from staffing.models import Doctor, Posting
from staffing.payroll.models import Component, PayRun, PayslipLine
from staffing.rosters.models import CoverageGap, DecisionStatus, DutyDay, LeaveRequest, RosterMonth, SwapRequest
from staffing.selectors import clinic_coverage_list
from telemedicine.models import ConsultBooking

DASHBOARD_ROLES = {Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.INSURANCE_CLERK}
LIST_LIMIT = 8






def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _admin_url(name: str, **params) -> str:
    url = reverse(f"admin:{name}")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


# --- Panels ---------------------------------------------------------------------------------


def staffing_panel(*, user, today: datetime.date) -> dict:
    clinics = clinic_coverage_list(user=user, day=today).filter(kind=Facility.Kind.VILLAGE_CLINIC)
    short = list(
        clinics.filter(active_doctors__lt=F("target_doctors"))
        .order_by("township__code", "code")
        .values("code", "name", "township__name", "active_doctors", "target_doctors")
    )
    by_township: dict[str, int] = defaultdict(int)
    for row in short:
        by_township[row["township__name"] or "—"] += 1
    expiring = (
        scope_queryset(
            Posting.objects.filter(start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
            .filter(
                doctor__status=Doctor.Status.ACTIVE,
                doctor__licence_expiry__gte=today,
                doctor__licence_expiry__lte=today + datetime.timedelta(days=90),
            ),
            user,
        )
        .values("facility__township__name")
        .annotate(n=Count("doctor", distinct=True))
        .order_by("facility__township__name")
    )
    expiring = [{"township": row["facility__township__name"] or "—", "n": row["n"]} for row in expiring]
    return {
        "understaffed_count": len(short),
        "understaffed": short[:LIST_LIMIT],
        "understaffed_by_township": sorted(by_township.items()),
        "understaffed_url": _admin_url("staffing_cliniccoverage_changelist", understaffed="yes"),
        "expiring_by_township": expiring,
        "expiring_count": sum(row["n"] for row in expiring),
        "expiring_url": _admin_url("staffing_doctor_changelist", licence="expiring"),
    }


def duty_panel(*, user, today: datetime.date) -> dict:
    gaps = scope_queryset(
        CoverageGap.objects.filter(status=CoverageGap.Status.OPEN, date__gte=today, date__lte=today + datetime.timedelta(days=30)),
        user,
    )
    gap_rows = list(gaps.select_related("facility").order_by("date", "facility__code")[:LIST_LIMIT])
    clinics = scope_facilities(Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True), user)
    months = [month_start(today), add_months(month_start(today), 1)]
    published = (
        scope_queryset(RosterMonth.objects.filter(month__in=months, status=RosterMonth.Status.PUBLISHED), user)
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    )
    published = {row["month"]: row["n"] for row in published}
    clinic_count = clinics.count()
    unpublished = [
        {"month": m, "clinics": clinic_count - published.get(m, 0), "url": _admin_url("rosters_rostermonth_changelist")}
        for m in months
    ]
    pending_leave = scope_queryset(LeaveRequest.objects.filter(status=DecisionStatus.PENDING), user).count()
    pending_swaps = scope_queryset(SwapRequest.objects.filter(status=DecisionStatus.PENDING), user).count()
    return {
        "gap_count": gaps.count(),
        "gaps": gap_rows,
        "gaps_url": _admin_url("rosters_coveragegap_changelist", status__exact="open"),
        "unpublished": unpublished,
        "pending_leave": pending_leave,
        "pending_swaps": pending_swaps,
        "leave_url": _admin_url("rosters_leaverequest_changelist", status__exact="pending"),
        "swaps_url": _admin_url("rosters_swaprequest_changelist", status__exact="pending"),
    }


def _bookings(user):
    return scope_queryset(ConsultBooking.objects.all(), user)


def teleconsult_panel(*, user, today: datetime.date) -> dict:
    week_start = today - datetime.timedelta(days=today.weekday())
    by_status = (
        _bookings(user)
        .filter(starts_at__gte=_aware(week_start), starts_at__lt=_aware(week_start + datetime.timedelta(days=7)))
        .values("status")
        .annotate(
            week=Count("id"),
            today=Count("id", filter=Q(starts_at__gte=_aware(today), starts_at__lt=_aware(today + datetime.timedelta(days=1)))),
        )
        .order_by("status")
    )
    labels = dict(ConsultBooking.Status.choices)
    rows = [{"status": labels.get(r["status"], r["status"]), "code": r["status"], "today": r["today"], "week": r["week"]} for r in by_status]
    first = month_start(today)
    month = _bookings(user).filter(starts_at__gte=_aware(first), starts_at__lt=_aware(add_months(first, 1))).aggregate(
        no_shows=Count("id", filter=Q(status=ConsultBooking.Status.NO_SHOW)),
        held=Count("id", filter=Q(status__in=[ConsultBooking.Status.COMPLETED, ConsultBooking.Status.NO_SHOW])),
    )
    rate = (Decimal(month["no_shows"]) * 100 / month["held"]).quantize(Decimal("0.1")) if month["held"] else None
    return {
        "rows": rows,
        "today_total": sum(r["today"] for r in rows),
        "week_total": sum(r["week"] for r in rows),
        "no_show_rate": rate,
        "no_shows": month["no_shows"],
        "held": month["held"],
        "url": _admin_url("telemedicine_consultbooking_changelist"),
    }


def _runs_in_reach(user):
    runs = PayRun.objects.all()
    if is_county_wide(user):
        return runs
    township_id = getattr(getattr(user, "scope", None), "township_id", None)
    return runs.filter(Q(township__isnull=True) | Q(township_id=township_id))


def _payslip_lines(user):
    return scope_queryset(PayslipLine.objects.all(), user, facility_path="payslip__facility")


def payroll_panel(*, user, today: datetime.date) -> dict:
    this_month = month_start(today)
    last_month = add_months(this_month, -1)
    runs = list(_runs_in_reach(user).filter(month__in=[this_month, last_month]).select_related("township").order_by("-month", "township__code"))
    current = [r for r in runs if r.month == this_month]
    labels = dict(Component.choices)
    totals = (
        _payslip_lines(user)
        .filter(payslip__month=last_month)
        .values("component")
        .annotate(total=Coalesce(Sum("amount"), Value(Decimal("0"))))
        .order_by("component")
    )
    return {
        "month": this_month,
        "runs": current,
        "last_month": last_month,
        "last_month_runs": [r for r in runs if r.month == last_month],
        "last_month_components": [
            {"component": labels.get(r["component"], r["component"]), "total": Decimal(r["total"]).quantize(Decimal("0.01"))}
            for r in totals
        ],
        "url": _admin_url("payroll_payrun_changelist"),
    }


def settlement_panel(*, user, today: datetime.date) -> dict:
    """This month's insured visits and funds per township (from the monthly rollup), last month's
    reconciliation and recent activity anomalies."""
    first = month_start(today)
    by_township = [
        {"facility__township__name": r["township_name"], "visits": r["visits"],
         **{name: r[name] for name in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay")}}
        for r in settlement_monthly_totals(user=user, start=first, end=add_months(first, 1))
    ]
    by_township.sort(key=lambda r: r["facility__township__name"] or "")
    reconciled_month = add_months(first, -1)
    recon = scope_queryset(Reconciliation.objects.filter(month=reconciled_month), user)
    recon_counts = recon.aggregate(
        n_balanced=Count("id", filter=Q(balanced=True)), n_unbalanced=Count("id", filter=Q(balanced=False))
    )
    unbalanced = list(recon.filter(balanced=False).select_related("facility").order_by("facility__code")[:LIST_LIMIT])
    anomalies = scope_queryset(ActivityAnomaly.objects.filter(month__gte=add_months(first, -2)), user)
    anomaly_rows = list(anomalies.select_related("facility").order_by("-month", "facility__code")[:LIST_LIMIT])
    return {
        "month": first,
        "by_township": by_township,
        "visits_total": sum(r["visits"] for r in by_township),
        "reconciled_month": reconciled_month,
        "balanced": recon_counts["n_balanced"],
        "unbalanced": recon_counts["n_unbalanced"],
        "unbalanced_rows": unbalanced,
        "anomaly_count": anomalies.count(),
        "anomalies": anomaly_rows,
        "settlements_url": _admin_url("settlements_settlementrecord_changelist"),
        "recon_url": _admin_url("settlements_reconciliation_changelist"),
        "anomaly_url": _admin_url("settlements_activityanomaly_changelist"),
    }


def notification_panel(*, user) -> dict | None:
    if not is_county_wide(user):
        return None
    failed = Notification.objects.filter(status=Notification.Status.FAILED)
    return {
        "failed": failed.count(),
        "url": _admin_url("notifications_notification_changelist", status__exact="failed"),
    }


# --- Charts ---------------------------------------------------------------------------------


def payroll_chart(*, user, today: datetime.date) -> Chart:
    months = [add_months(month_start(today), -i) for i in range(11, -1, -1)]
    rows = (
        _payslip_lines(user)
        .filter(payslip__month__gte=months[0], payslip__month__lte=months[-1], kind="earning")
        .values("payslip__month", "component")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    labels = dict(Component.choices)
    table: dict[str, dict] = defaultdict(dict)
    for row in rows:
        table[row["component"]][row["payslip__month"]] = Decimal(row["total"] or 0).quantize(Decimal("0.01"))
    series = [
        Series(str(labels.get(component, component)), [values.get(m, Decimal("0.00")) for m in months])
        for component, values in sorted(table.items())
    ]
    return Chart(
        key="chart-payroll",
        title=_("Monthly payroll by component (yuan, last 12 months)"),
        categories=[f"{m:%y}.{m.month:02d}" for m in months],
        series=series,
        unit="yuan",
    )


def settlement_chart(*, user, today: datetime.date, township_code: str | None = None) -> tuple[Chart, list]:
    """Insured visits per month, this year against last year, and this year's per township; read
    from the monthly rollup (a few thousand rows at province scale, not the log)."""
    this_year = [datetime.date(today.year, m, 1) for m in range(1, 13)]
    rows = settlement_monthly_totals(
        user=user, start=datetime.date(today.year - 1, 1, 1), end=datetime.date(today.year + 1, 1, 1),
        township_code=township_code, amounts=False,
    )
    totals: dict[datetime.date, int] = defaultdict(int)
    per_township: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        month = row["month"]
        totals[month] += row["visits"] or 0
        if month.year == today.year:
            per_township[row["township_name"] or "—"][month.month] += row["visits"] or 0
    chart = Chart(
        key="chart-settlements",
        title=_("Insured visits per month: this year against last year"),
        categories=[f"{m.month}月" for m in this_year],
        series=[
            Series(str(today.year - 1), [totals.get(m.replace(year=today.year - 1), 0) for m in this_year], "#9aa0a6"),
            Series(str(today.year), [totals.get(m, 0) for m in this_year], "#1f7a4d"),
        ],
        stacked=False,
    )
    township_table = [[name] + [months.get(i, 0) for i in range(1, 13)] for name, months in sorted(per_township.items())]
    return chart, township_table


def teleconsult_chart(*, user, today: datetime.date) -> Chart:
    week_start = today - datetime.timedelta(days=today.weekday())
    weeks = [week_start - datetime.timedelta(weeks=i) for i in range(11, -1, -1)]
    rows = (
        _bookings(user)
        .filter(starts_at__gte=_aware(weeks[0]), starts_at__lt=_aware(week_start + datetime.timedelta(days=7)))
        .values("starts_at", "status")
        .order_by()
    )
    # Bucketing by local week in Python keeps the query the same on SQLite and PostgreSQL; the
    # rows are the consults of 12 weeks of one county's network.
    counts: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        day = timezone.localtime(row["starts_at"]).date()
        counts[row["status"]][day - datetime.timedelta(days=day.weekday())] += 1
    labels = dict(ConsultBooking.Status.choices)
    order = ["completed", "no_show", "cancelled", "declined", "confirmed", "requested", "in_progress"]
    colors = {"completed": "#1f7a4d", "no_show": "#d9534f", "cancelled": "#8c8c8c", "declined": "#e8a33d"}
    series = [
        Series(str(labels.get(status, status)), [counts[status].get(w, 0) for w in weeks], colors.get(status, ""))
        for status in order
        if status in counts
    ]
    return Chart(
        key="chart-teleconsults",
        title=_("Teleconsults per week by outcome (last 12 weeks)"),
        categories=[f"{w.month}/{w.day}" for w in weeks],
        series=series,
    )


def oncall_chart(*, user, today: datetime.date, clinic_code: str | None = None) -> tuple[Chart, Facility | None, list]:
    clinics = scope_facilities(Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC), user).order_by("code")
    clinic = clinics.filter(code=clinic_code).first() if clinic_code else clinics.first()
    choices = list(clinics.values_list("code", "name")[:200])
    if clinic is None:
        return Chart(key="chart-oncall", title=_("On-call days per doctor"), categories=[]), None, choices
    rows = (
        DutyDay.objects.filter(facility=clinic, duty=DutyDay.Duty.ON_CALL, date__year=today.year)
        .values("doctor_id", "doctor__name", "day_kind")
        .annotate(n=Count("id"))
        .order_by("doctor__name")
    )
    doctors: dict[int, dict] = {}
    for row in rows:
        entry = doctors.setdefault(row["doctor_id"], {"name": row["doctor__name"], "weekend": 0, "holiday": 0})
        entry["holiday" if row["day_kind"] == "holiday" else "weekend"] += row["n"]
    ordered = list(doctors.values())
    chart = Chart(
        key="chart-oncall",
        title=_("On-call days per doctor in %(clinic)s, %(year)s") % {"clinic": clinic.name, "year": today.year},
        categories=[d["name"] for d in ordered],
        series=[
            Series(_("weekend"), [d["weekend"] for d in ordered], "#4f9dd9"),
            Series(_("public holiday"), [d["holiday"] for d in ordered], "#e8a33d"),
        ],
    )
    return chart, clinic, choices


def dashboard(*, user, today: datetime.date | None = None, clinic_code: str | None = None, township_code: str | None = None) -> dict | None:
    """Everything the admin index shows, or None for a user without a dashboard role."""
    if user_role(user) not in DASHBOARD_ROLES:
        return None
    today = today or timezone.localdate()
    settlement_chart_obj, township_table = settlement_chart(user=user, today=today, township_code=township_code)
    oncall, oncall_clinic, clinic_choices = oncall_chart(user=user, today=today, clinic_code=clinic_code)
    return {
        "today": today,
        "staffing": staffing_panel(user=user, today=today),
        "duty": duty_panel(user=user, today=today),
        "teleconsult": teleconsult_panel(user=user, today=today),
        "payroll": payroll_panel(user=user, today=today),
        "settlements": settlement_panel(user=user, today=today),
        "notifications": notification_panel(user=user),
        "charts": [payroll_chart(user=user, today=today), settlement_chart_obj, teleconsult_chart(user=user, today=today), oncall],
        "township_table": township_table,
        "oncall_clinic": oncall_clinic,
        "clinic_choices": clinic_choices,
    }
