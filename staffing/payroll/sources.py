"""The only door from payroll to the rosters and the settlement log: the contract selectors in
docs/DEVELOPING.md. Payroll must still run when a source has no data for the month (no roster
published yet, no settlements uploaded), so every reader here returns empty results rather than
failing, and says so through `available`."""

import datetime
from dataclasses import dataclass, field
from importlib import import_module


@dataclass
class DutyFacts:
    day_duty_dates: list = field(default_factory=list)
    weekend_oncall_dates: list = field(default_factory=list)
    holiday_oncall_dates: list = field(default_factory=list)
    published: bool = False


@dataclass
class VisitFacts:
    total: int = 0
    by_practitioner: dict = field(default_factory=dict)
    unnamed: int = 0


def _selector(module: str, name: str):
    """The contract selector, or None while its app has not shipped it."""
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError):
        return None


def duty_by_doctor(*, month: datetime.date, doctor_ids) -> dict[int, DutyFacts]:
    duty_summary = _selector("staffing.rosters.selectors", "duty_summary")
    if duty_summary is None:
        return {}
    result = {}
    for doctor_id, summary in duty_summary(month=month, doctor_ids=doctor_ids).items():
        result[doctor_id] = DutyFacts(
            day_duty_dates=sorted(summary.day_duty_dates or []),
            weekend_oncall_dates=sorted(summary.weekend_oncall_dates or []),
            holiday_oncall_dates=sorted(summary.holiday_oncall_dates or []),
            published=bool(summary.published),
        )
    return result


def leave_by_doctor(*, doctor_ids, start: datetime.date, end: datetime.date) -> dict[int, dict[str, list]]:
    leave_days = _selector("staffing.rosters.selectors", "leave_days")
    if leave_days is None or not doctor_ids:
        return {}
    return leave_days(doctor_ids=list(doctor_ids), start=start, end=end)


def roster_publication(*, month: datetime.date, facility_ids) -> dict[int, str | None]:
    month_publication = _selector("staffing.rosters.selectors", "month_publication")
    if month_publication is None:
        return dict.fromkeys(facility_ids or [], None)
    return month_publication(month=month, facility_ids=facility_ids)


def visits_by_facility(*, month: datetime.date, facility_ids) -> dict[int, VisitFacts]:
    outpatient_visits = _selector("clinics.settlements.selectors", "outpatient_visits")
    if outpatient_visits is None:
        return {}
    return {
        facility_id: VisitFacts(total=int(v.total), by_practitioner=dict(v.by_practitioner or {}), unnamed=int(v.unnamed))
        for facility_id, v in outpatient_visits(month=month, facility_ids=facility_ids).items()
    }
