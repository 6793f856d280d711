"""The admin index's dashboard: every panel and chart for one user, or nothing for a role that
has none."""

import datetime

from django.utils import timezone

from clinics import selectors as clinics
from dashboard.charts import oncall_chart, payroll_chart, settlement_chart, teleconsult_chart
from dashboard.panels import (
    duty_panel,
    health_panel,
    notification_panel,
    payroll_panel,
    settlement_panel,
    staffing_panel,
    teleconsult_panel,
)


def dashboard_get(
    *, user, today: datetime.date | None = None, clinic_code: str | None = None, township_code: str | None = None
) -> dict | None:
    """Everything the admin index shows, or None for a user without a dashboard role."""
    if not clinics.has_dashboard(user=user):
        return None
    today = today or timezone.localdate()
    settlements, township_table = settlement_chart(user=user, today=today, township_code=township_code)
    oncall, oncall_clinic, clinic_choices = oncall_chart(user=user, today=today, clinic_code=clinic_code)
    return {
        "today": today,
        "health": health_panel(user=user),
        "staffing": staffing_panel(user=user, today=today),
        "duty": duty_panel(user=user, today=today),
        "teleconsult": teleconsult_panel(user=user, today=today),
        "payroll": payroll_panel(user=user, today=today),
        "settlements": settlement_panel(user=user, today=today),
        "notifications": notification_panel(user=user),
        "charts": [payroll_chart(user=user, today=today), settlements, teleconsult_chart(user=user, today=today), oncall],
        "township_table": township_table,
        "oncall_clinic": oncall_clinic,
        "clinic_choices": clinic_choices,
    }
