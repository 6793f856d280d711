"""Payroll test helpers: demo policies, published rosters written through the roster models,
and settlement visit counts through the contract selector."""

import datetime

import pytest

from clinics.settlements.selectors import VisitCount
from staffing.payroll import services
from staffing.payroll.seeding import seed_payroll
from staffing.rosters.models import DayKind, DutyDay, RosterMonth

OCT = datetime.date(2026, 10, 1)
NOV = datetime.date(2026, 11, 1)


@pytest.fixture
def policies(db):
    seed_payroll({})


def publish_roster(facility, month, duties):
    """duties: [(doctor, date, kind)] with kind "day", "weekend" or "holiday"."""
    roster, _ = RosterMonth.objects.get_or_create(facility=facility, month=month, defaults={"status": RosterMonth.Status.PUBLISHED})
    for doctor, day, kind in duties:
        DutyDay.objects.create(
            roster=roster,
            facility=facility,
            doctor=doctor,
            date=day,
            duty=DutyDay.Duty.DAY if kind == "day" else DutyDay.Duty.ON_CALL,
            day_kind={"day": DayKind.WORKDAY, "weekend": DayKind.WEEKEND, "holiday": DayKind.HOLIDAY}[kind],
        )
    return roster


@pytest.fixture
def visits(monkeypatch):
    """Set the month's insured visits per facility: visits({facility_id: VisitCount(...)})."""
    table = {}

    def fake(*, month, facility_ids=None):
        rows = table.get(month.replace(day=1), {})
        ids = rows.keys() if facility_ids is None else facility_ids
        return {fid: rows.get(fid, VisitCount()) for fid in ids}

    monkeypatch.setattr("staffing.payroll.sources.outpatient_visits", fake)

    def set_visits(month, rows):
        table[month] = rows

    return set_visits


def run_month(month, user=None, township=None):
    from staffing.payroll.models import PayRun

    run = PayRun.objects.filter(month=month, township=township).first() or services.payrun_create(month=month, township=township, acting_user=user)
    return services.payrun_calculate(run=run, acting_user=user)


def approve(run, user=None):
    return services.payrun_approve(run=run, acting_user=user, acknowledge_warnings=True)


def lines_of(slip):
    return {(ln.component, ln.reference_month): ln for ln in slip.lines.all()}
