"""Seed steps of rosters (listed in `config.seeding.SEED_STEPS`); idempotent."""

from django.utils import timezone

from core.months import month_start, next_month
from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.models import RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_years_load_all
from staffing.rosters.services.publishing import roster_publish


def seed_holidays(counts: dict) -> None:
    """Every year the package covers; years already loaded are left alone."""
    for _year, loaded in holiday_years_load_all().items():
        counts.setdefault("holiday calendar year", {"created": 0, "existing": 0})
        counts["holiday calendar year"]["created" if loaded else "existing"] += 1


def seed_demo_rosters(counts: dict) -> None:
    """Plan this month and next for the demo clinics and publish this month, so the demo doctor's
    duty page has something to show. Months already planned are left alone; a month whose year
    has no calendar is skipped (load it with `manage.py holidays`)."""
    this_month = month_start(timezone.localdate())
    counts.setdefault("roster month", {"created": 0, "existing": 0})
    for month in (this_month, next_month(this_month)):
        if RosterMonth.objects.filter(month=month).exists():
            counts["roster month"]["existing"] += 1
            continue
        try:
            roster_generate(month=month)
        except CalendarMissing:
            continue
        if month == this_month:
            roster_publish(month=month, acting_user=None)
        counts["roster month"]["created"] += 1
