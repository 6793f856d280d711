"""The only door from payroll to the rosters and the settlement log: the contract selectors in
docs/DEVELOPING.md. Payroll runs while a source has no data for the month (no roster published
yet, no settlements uploaded): a doctor without published duties gets no duty allowance and a
warning, a clinic without settlements no consultation fee.

`area_ids=None` means the whole county: the selectors are then asked for everything rather than
for a list of tens of thousands of ids."""

import datetime

from clinics.settlements.selectors import VisitCount, outpatient_visits
from staffing.rosters.selectors import DutySummary, duty_summary, leave_days, month_publication

__all__ = ["DutySummary", "VisitCount", "duty_by_doctor", "leave_by_doctor", "roster_publication", "visits_by_facility"]


def duty_by_doctor(*, month: datetime.date, doctor_ids) -> dict[int, DutySummary]:
    return duty_summary(month=month, doctor_ids=doctor_ids)


def leave_by_doctor(*, doctor_ids, start: datetime.date, end: datetime.date) -> dict[int, dict[str, list]]:
    return leave_days(doctor_ids=doctor_ids, start=start, end=end)


def roster_publication(*, month: datetime.date, facility_ids) -> dict[int, str | None]:
    return month_publication(month=month, facility_ids=facility_ids)


def visits_by_facility(*, month: datetime.date, facility_ids) -> dict[int, VisitCount]:
    return outpatient_visits(month=month, facility_ids=facility_ids)
