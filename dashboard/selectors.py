"""The admin index's dashboard: the panels and charts one user may act on, or nothing for a role
that has none. A panel (and its chart) is left out when the admin pages it links to would refuse
the user (dashboard.panels.AdminLinks asks their ModelAdmins)."""

import datetime

from django.utils import timezone

from clinics import selectors as clinics
from dashboard.charts import oncall_chart, payroll_chart, settlement_chart, teleconsult_chart
from dashboard.panels import (
    DUTY_MODELS,
    PAYROLL_MODELS,
    SETTLEMENT_MODELS,
    TELECONSULT_MODELS,
    AdminLinks,
    duty_panel,
    health_panel,
    notification_panel,
    payroll_panel,
    settlement_panel,
    staffing_panel,
    teleconsult_panel,
)


def dashboard_get(
    *,
    user,
    links: AdminLinks,
    today: datetime.date | None = None,
    clinic_code: str | None = None,
    township_code: str | None = None,
) -> dict | None:
    """Everything the admin index shows the user, or None for a user without a dashboard role.
    `links` answers which admin pages the user may open (`AdminLinks(request, admin_site)`)."""
    if not clinics.has_dashboard(user=user):
        return None
    today = today or timezone.localdate()
    charts, township_table, oncall_clinic, clinic_choices = [], [], None, []
    if links.any(*PAYROLL_MODELS):
        charts.append(payroll_chart(user=user, today=today))
    if links.any(*SETTLEMENT_MODELS):
        settlements, township_table = settlement_chart(user=user, today=today, township_code=township_code)
        charts.append(settlements)
    if links.any(*TELECONSULT_MODELS):
        charts.append(teleconsult_chart(user=user, today=today))
    if links.any(*DUTY_MODELS):
        oncall, oncall_clinic, clinic_choices = oncall_chart(user=user, today=today, clinic_code=clinic_code)
        charts.append(oncall)
    return {
        "today": today,
        "health": health_panel(user=user),
        "staffing": staffing_panel(user=user, today=today, links=links),
        "duty": duty_panel(user=user, today=today, links=links),
        "teleconsult": teleconsult_panel(user=user, today=today, links=links),
        "payroll": payroll_panel(user=user, today=today, links=links),
        "settlements": settlement_panel(user=user, today=today, links=links),
        "notifications": notification_panel(user=user, links=links),
        "charts": charts,
        "township_table": township_table,
        "oncall_clinic": oncall_clinic,
        "clinic_choices": clinic_choices,
    }
