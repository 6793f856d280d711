"""Seed steps of rosters (listed in `config.seeding.SEED_STEPS`); idempotent. The demo lives in
the present: last month's and this month's rosters are published and next month's is a draft,
relative to the day `load_seeds` builds the demo for (`clinics.seeding.seed_today`)."""

import datetime

from django.utils.translation import gettext as _

from clinics.seeding import seed_note, seed_today
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


def demo_roster_months(today: datetime.date) -> list[tuple[datetime.date, bool]]:
    """(month, published?): last month and this month published, next month a draft."""
    this_month = month_start(today)
    last_month = month_start(this_month - datetime.timedelta(days=1))
    return [(last_month, True), (this_month, True), (next_month(this_month), False)]


def calendar_missing_note(*, year: int, month: datetime.date) -> str:
    return _(
        "The %(year)s holiday calendar is not loaded, so the %(month)s roster was not generated (the demo does not "
        "guess public holidays). Load the State Council's %(year)s schedule on the admin's holiday calendar import "
        "page (/admin/rosters/calendaryear/import/) or with “manage.py holidays --import-csv FILE” (or "
        "“manage.py holidays --load %(year)s” once the chinesecalendar package covers %(year)s), then run "
        "load_seeds again."
    ) % {"year": year, "month": f"{month:%Y-%m}"}


def seed_demo_rosters(counts: dict) -> None:
    """Generate the demo months through the roster services (so duties follow the rules and the
    holiday calendar) and publish the ones that should be. A month already planned is kept (a
    draft that should now be published is published); a month whose year has no calendar is
    skipped with a note naming the year to load."""
    counts.setdefault("roster month", {"created": 0, "existing": 0})
    for month, publish in demo_roster_months(seed_today(counts)):
        if RosterMonth.objects.filter(month=month).exists():
            counts["roster month"]["existing"] += 1
        else:
            try:
                roster_generate(month=month)
            except CalendarMissing as missing:
                seed_note(counts, calendar_missing_note(year=missing.year, month=month))
                continue
            counts["roster month"]["created"] += 1
        if publish and RosterMonth.objects.filter(month=month, status=RosterMonth.Status.DRAFT).exists():
            roster_publish(month=month, acting_user=None)
