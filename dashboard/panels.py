"""The panels of the health bureau's morning page, each scoped to the user's reach.

Every figure is read through the owning app's selectors (a fixed handful of aggregate queries
each, GROUP BY in the database), so the number of queries does not grow with clinics, doctors or
records. The dashboard sits on top of every app and only reads.

A panel is shown only to a user who may open the admin pages it links to, and each link only when
its page opens for that user: `AdminLinks` asks the linked model's ModelAdmin (the same
`has_view_or_change_permission` its changelist checks), so the rule has one home."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import get_language

from clinics import selectors as clinics
from clinics.settlements import selectors as settlements
from core.months import add_months, month_start
from notifications import selectors as notifications
from operations import selectors as operations
from staffing import selectors as staffing
from staffing.payroll import selectors as payroll
from staffing.rosters import selectors as rosters
from telemedicine import selectors as telemedicine

LIST_LIMIT = 8
# The page's own words name these horizons ("within 90 days", "in the next 30 days").
LICENCE_WARNING_DAYS = 90
GAP_HORIZON_DAYS = 30
NO_TOWNSHIP = "—"
# The health checks open a broker connection and read a few rows: the page reuses their answer
# for this long (per language, for the checks' names) instead of running them on every visit.
HEALTH_CACHE_SECONDS = 30


def admin_url(name: str, **params) -> str:
    url = reverse(f"admin:{name}")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


class AdminLinks:
    """The changelist links one request's user may open, answered by the admin site's own
    ModelAdmins. `changelist("staffing_doctor", licence="expiring")` is the URL, or None when the
    page would refuse the user."""

    def __init__(self, request, site):
        self.request = request
        self._admins = {f"{model._meta.app_label}_{model._meta.model_name}": ma for model, ma in site._registry.items()}
        self._answers: dict[str, bool] = {}

    def can_open(self, model: str) -> bool:
        if model not in self._answers:
            model_admin = self._admins.get(model)
            self._answers[model] = bool(model_admin) and model_admin.has_view_or_change_permission(self.request)
        return self._answers[model]

    def changelist(self, model: str, **params) -> str | None:
        return admin_url(f"{model}_changelist", **params) if self.can_open(model) else None

    def any(self, *models: str) -> bool:
        return any(self.can_open(m) for m in models)


STAFFING_MODELS = ("staffing_cliniccoverage", "staffing_doctor")
DUTY_MODELS = ("rosters_coveragegap", "rosters_rostermonth", "rosters_leaverequest", "rosters_swaprequest")
TELECONSULT_MODELS = ("telemedicine_consultbooking",)
PAYROLL_MODELS = ("payroll_payrun",)
SETTLEMENT_MODELS = ("settlements_settlementrecord", "settlements_reconciliation", "settlements_activityanomaly")
NOTIFICATION_MODELS = ("notifications_notification",)


def staffing_panel(*, user, today: datetime.date, links: AdminLinks) -> dict | None:
    if not links.any(*STAFFING_MODELS):
        return None
    short = staffing.understaffed_clinic_list(user=user, day=today)
    by_township: dict[str, int] = defaultdict(int)
    for row in short:
        by_township[row["township__name"] or NO_TOWNSHIP] += 1
    expiring = [
        {"township": row["township"] or NO_TOWNSHIP, "n": row["n"]}
        for row in staffing.licences_expiring_by_township(user=user, day=today, within_days=LICENCE_WARNING_DAYS)
    ]
    return {
        "understaffed_count": len(short),
        "understaffed": short[:LIST_LIMIT],
        "understaffed_by_township": sorted(by_township.items()),
        "understaffed_url": links.changelist("staffing_cliniccoverage", understaffed="yes"),
        "expiring_by_township": expiring,
        "expiring_count": sum(row["n"] for row in expiring),
        "expiring_url": links.changelist("staffing_doctor", licence="expiring"),
    }


def duty_panel(*, user, today: datetime.date, links: AdminLinks) -> dict | None:
    if not links.any(*DUTY_MODELS):
        return None
    gaps = rosters.open_gap_list(user=user, start=today, end=today + datetime.timedelta(days=GAP_HORIZON_DAYS))
    months = [month_start(today), add_months(month_start(today), 1)]
    published = rosters.published_roster_counts(user=user, months=months)
    clinic_count = clinics.village_clinic_list(user=user, active_only=True).count()
    pending = rosters.pending_request_counts(user=user)
    return {
        "gap_count": gaps.count(),
        "gaps": list(gaps[:LIST_LIMIT]),
        "gaps_url": links.changelist("rosters_coveragegap", status__exact="open"),
        "unpublished": [
            {"month": m, "clinics": clinic_count - published.get(m, 0), "url": links.changelist("rosters_rostermonth")}
            for m in months
        ],
        "pending_leave": pending["leave"],
        "pending_swaps": pending["swaps"],
        "leave_url": links.changelist("rosters_leaverequest", status__exact="pending"),
        "swaps_url": links.changelist("rosters_swaprequest", status__exact="pending"),
    }


def teleconsult_panel(*, user, today: datetime.date, links: AdminLinks) -> dict | None:
    if not links.any(*TELECONSULT_MODELS):
        return None
    labels = telemedicine.booking_status_labels()
    rows = [
        {"status": labels.get(r["status"], r["status"]), "code": r["status"], "today": r["today"], "week": r["week"]}
        for r in telemedicine.booking_counts_by_status(user=user, day=today)
    ]
    first = month_start(today)
    month = telemedicine.no_show_counts(user=user, start=first, end=add_months(first, 1))
    rate = (Decimal(month["no_shows"]) * 100 / month["held"]).quantize(Decimal("0.1")) if month["held"] else None
    return {
        "rows": rows,
        "today_total": sum(r["today"] for r in rows),
        "week_total": sum(r["week"] for r in rows),
        "no_show_rate": rate,
        "no_shows": month["no_shows"],
        "held": month["held"],
        "url": links.changelist("telemedicine_consultbooking"),
    }


def payroll_panel(*, user, today: datetime.date, links: AdminLinks) -> dict | None:
    if not links.any(*PAYROLL_MODELS):
        return None
    this_month = month_start(today)
    last_month = add_months(this_month, -1)
    runs = payroll.run_list_for_dashboard(user=user, months=[this_month, last_month])
    return {
        "month": this_month,
        "runs": [r for r in runs if r.month == this_month],
        "last_month": last_month,
        "last_month_runs": [r for r in runs if r.month == last_month],
        "last_month_components": payroll.component_totals_for_dashboard(user=user, month=last_month),
        "url": links.changelist("payroll_payrun"),
    }


def settlement_panel(*, user, today: datetime.date, links: AdminLinks) -> dict | None:
    """This month's insured visits and funds per township (from the monthly rollup), last month's
    reconciliation and recent activity anomalies."""
    if not links.any(*SETTLEMENT_MODELS):
        return None
    first = month_start(today)
    by_township = [
        {"facility__township__name": r["township_name"], "visits": r["visits"],
         **{name: r[name] for name in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay")}}
        for r in settlements.monthly_totals(user=user, start=first, end=add_months(first, 1))
    ]
    by_township.sort(key=lambda r: r["facility__township__name"] or "")
    reconciled_month = add_months(first, -1)
    balance = settlements.reconciliation_balance(user=user, month=reconciled_month)
    anomalies = settlements.recent_anomaly_list(user=user, since=add_months(first, -2))
    return {
        "month": first,
        "by_township": by_township,
        "visits_total": sum(r["visits"] for r in by_township),
        "reconciled_month": reconciled_month,
        "balanced": balance["balanced"],
        "unbalanced": balance["unbalanced"],
        "unbalanced_rows": list(balance["unbalanced_rows"][:LIST_LIMIT]),
        "anomaly_count": anomalies.count(),
        "anomalies": list(anomalies[:LIST_LIMIT]),
        "settlements_url": links.changelist("settlements_settlementrecord"),
        "recon_url": links.changelist("settlements_reconciliation"),
        "anomaly_url": links.changelist("settlements_activityanomaly"),
    }


def notification_panel(*, user, links: AdminLinks) -> dict | None:
    if not clinics.reach_is_county_wide(user=user) or not links.any(*NOTIFICATION_MODELS):
        return None
    return {
        "failed": notifications.failed_delivery_count(),
        "url": links.changelist("notifications_notification", status__exact="failed"),
    }


def health_panel(*, user) -> dict | None:
    """The failing health checks (database, broker, worker, beat, outbox) by their translated
    names, for the county-wide roles; None for anyone else or when every check passes. A fixed
    handful of queries, and none while the answer is cached."""
    if not clinics.reach_is_county_wide(user=user):
        return None
    key = f"dashboard:health:{get_language()}"
    failed = cache.get(key)
    if failed is None:
        summary = operations.health_summary()
        failed = [{"name": f["name"], "label": f["label"]} for f in summary["failed"]]
        cache.set(key, failed, HEALTH_CACHE_SECONDS)
    if not failed:
        return None
    return {"failed": failed, "url": reverse("health")}
