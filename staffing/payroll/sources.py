"""The only door from payroll to the rosters and the settlement log: the contract selectors in
docs/DEVELOPING.md. Payroll runs while a source has no data for the month (no roster published
yet, no settlements uploaded): a doctor without published duties gets no duty allowance and a
warning, a clinic without settlements no consultation fee.

`area_ids=None` means the whole county: the selectors are then asked for everything rather than
for a list of tens of thousands of ids."""

import datetime

from django.db.models import Aggregate, TextField

from clinics.settlements.selectors import VisitCount, outpatient_visits
from core.months import month_end, month_start
from staffing.rosters.models import DayKind, DutyDay, RosterMonth
from staffing.rosters.selectors import DutySummary, duty_summary, leave_days, month_publication

__all__ = ["DutySummary", "VisitCount", "duty_by_doctor", "leave_by_doctor", "roster_publication", "visits_by_facility"]


class _Dates(Aggregate):
    """A group's dates in one value: an array on PostgreSQL, comma-separated ISO text on SQLite
    (read back by `_as_dates`)."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="ARRAY_AGG", **extra_context)


def _as_dates(value) -> list[datetime.date]:
    if isinstance(value, str):
        value = [datetime.date.fromisoformat(part) for part in value.split(",")]
    return sorted(value)


def duty_by_doctor(*, month: datetime.date, doctor_ids) -> dict[int, DutySummary]:
    """`staffing.rosters.selectors.duty_summary`, grouped in the database: one row per doctor and
    kind of duty with its dates rather than one per duty day (a province's month is 700,000 duty
    days and 28,000 doctors). Same summaries (tests compare the two); a doctor asked for with no
    published duty is left to `duty_summary`, which tells whether their clinic's roster is
    published."""
    month = month_start(month)
    duties = DutyDay.objects.filter(date__gte=month, date__lte=month_end(month), roster__status=RosterMonth.Status.PUBLISHED)
    if doctor_ids is not None:
        doctor_ids = list(doctor_ids)
        duties = duties.filter(doctor_id__in=doctor_ids)
    groups = duties.values_list("doctor_id", "duty", "day_kind").annotate(dates=_Dates("date")).order_by()
    result: dict[int, DutySummary] = {}
    for doctor_id, duty, kind, dates in groups:
        summary = result.setdefault(doctor_id, DutySummary(published=True))
        if duty == DutyDay.Duty.DAY:
            target = summary.day_duty_dates
        elif kind == DayKind.HOLIDAY:
            target = summary.holiday_oncall_dates
        else:
            target = summary.weekend_oncall_dates
        target.extend(_as_dates(dates))
        target.sort()
    missing = [d for d in (doctor_ids or []) if d not in result]
    if missing:
        result.update(duty_summary(month=month, doctor_ids=missing))
    return result


def leave_by_doctor(*, doctor_ids, start: datetime.date, end: datetime.date) -> dict[int, dict[str, list]]:
    return leave_days(doctor_ids=doctor_ids, start=start, end=end)


def roster_publication(*, month: datetime.date, facility_ids) -> dict[int, str | None]:
    return month_publication(month=month, facility_ids=facility_ids)


def visits_by_facility(*, month: datetime.date, facility_ids) -> dict[int, VisitCount]:
    return outpatient_visits(month=month, facility_ids=facility_ids)
