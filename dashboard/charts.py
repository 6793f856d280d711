"""The dashboard's four charts, drawn by the one chart writer (core.charts) from the owning apps'
selectors; each chart carries its data table as the text equivalent."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.cache import cache
from django.utils.translation import gettext as _

from clinics import selectors as clinics
from clinics.settlements import selectors as settlements
from core.charts import Chart, Series
from core.months import add_months, month_start
from dashboard.panels import NO_TOWNSHIP
from staffing.payroll import selectors as payroll
from staffing.rosters import selectors as rosters
from telemedicine import selectors as telemedicine

CLINIC_CHOICES_LIMIT = 200
SETTLEMENT_CHART_CACHE_SECONDS = 600
# Outcomes first, open consults last; the settled outcomes have fixed colours.
CONSULT_STATUS_ORDER = ["completed", "no_show", "cancelled", "declined", "confirmed", "requested", "in_progress"]
CONSULT_STATUS_COLORS = {"completed": "#1f7a4d", "no_show": "#d9534f", "cancelled": "#8c8c8c", "declined": "#e8a33d"}


def payroll_chart(*, user, today: datetime.date) -> Chart:
    months = [add_months(month_start(today), -i) for i in range(11, -1, -1)]
    components = payroll.monthly_earnings_by_component(user=user, start=months[0], end=months[-1])
    return Chart(
        key="chart-payroll",
        title=_("Monthly payroll by component (yuan, last 12 months)"),
        categories=[f"{m:%y}.{m.month:02d}" for m in months],
        series=[Series(str(label), [values.get(m, Decimal("0.00")) for m in months]) for label, values in components],
        unit="yuan",
    )


def _two_years_of_visits(*, user, today: datetime.date, township_code: str | None) -> list[dict]:
    """Last year's and this year's visits per township and month: at province scale a read of the
    whole rollup (14,000 clinics × 24 months × insurance types), so the answer is kept until the
    next settlement import changes the rollup (its batch id is in the key), for one reach at a time,
    and SETTLEMENT_CHART_CACHE_SECONDS at most (a rebuild of the rollup writes no batch)."""
    key = f"dashboard:visits:{clinics.reach_key(user)}:{township_code or ''}:{today:%Y%m%d}:{settlements.latest_import_id()}"
    rows = cache.get(key)
    if rows is None:
        rows = settlements.monthly_totals(
            user=user, start=datetime.date(today.year - 1, 1, 1), end=datetime.date(today.year + 1, 1, 1),
            township_code=township_code, amounts=False,
        )
        cache.set(key, rows, SETTLEMENT_CHART_CACHE_SECONDS)
    return rows


def settlement_chart(*, user, today: datetime.date, township_code: str | None = None) -> tuple[Chart, list]:
    """Insured visits per month, this year against last year, and this year's per township; read
    from the monthly rollup (a few thousand rows at province scale, not the log)."""
    this_year = [datetime.date(today.year, m, 1) for m in range(1, 13)]
    rows = _two_years_of_visits(user=user, today=today, township_code=township_code)
    totals: dict[datetime.date, int] = defaultdict(int)
    per_township: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        month = row["month"]
        totals[month] += row["visits"] or 0
        if month.year == today.year:
            per_township[row["township_name"] or NO_TOWNSHIP][month.month] += row["visits"] or 0
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
    counts = telemedicine.booking_outcomes_by_week(user=user, weeks=weeks)
    labels = telemedicine.booking_status_labels()
    series = [
        Series(str(labels.get(status, status)), [counts[status].get(w, 0) for w in weeks], CONSULT_STATUS_COLORS.get(status, ""))
        for status in CONSULT_STATUS_ORDER
        if status in counts
    ]
    return Chart(
        key="chart-teleconsults",
        title=_("Teleconsults per week by outcome (last 12 weeks)"),
        categories=[f"{w.month}/{w.day}" for w in weeks],
        series=series,
    )


def oncall_chart(*, user, today: datetime.date, clinic_code: str | None = None) -> tuple[Chart, object, list]:
    """On-call days per doctor of one clinic in reach (the one asked for, else the first by code),
    with the clinic and the choice of clinics (code, name)."""
    village_clinics = clinics.village_clinic_list(user=user)
    clinic = village_clinics.filter(code=clinic_code).first() if clinic_code else village_clinics.first()
    choices = list(village_clinics.values_list("code", "name")[:CLINIC_CHOICES_LIMIT])
    if clinic is None:
        return Chart(key="chart-oncall", title=_("On-call days per doctor"), categories=[]), None, choices
    doctors = rosters.oncall_days_by_doctor(user=user, facility=clinic, year=today.year)
    chart = Chart(
        key="chart-oncall",
        title=_("On-call days per doctor in %(clinic)s, %(year)s") % {"clinic": clinic.name, "year": today.year},
        categories=[d["name"] for d in doctors],
        series=[
            Series(_("weekend"), [d["weekend"] for d in doctors], "#4f9dd9"),
            Series(_("public holiday"), [d["holiday"] for d in doctors], "#e8a33d"),
        ],
    )
    return chart, clinic, choices
