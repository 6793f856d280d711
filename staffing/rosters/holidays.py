"""The holiday calendar's own rules: the range of years it may hold (one home: CalendarYear's
constraint) and the official schedules the `chinesecalendar` package ships. Writes to the
calendar are `staffing.rosters.services.holidays`; reads are in `staffing.rosters.selectors`."""

import functools

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from staffing.rosters.models import CalendarYear, HolidayDay


def _condition_bounds(condition) -> dict:
    bounds = {}
    for child in condition.children:
        if isinstance(child, Q):
            bounds.update(_condition_bounds(child))
        else:
            bounds[child[0]] = child[1]
    return bounds


@functools.cache
def calendar_year_range() -> tuple[int, int]:
    """The first and last year the calendar may hold, read from CalendarYear's
    `calendar_year_in_range` constraint so the range has one home (the model)."""
    constraint = next(c for c in CalendarYear._meta.constraints if c.name == "calendar_year_in_range")
    bounds = _condition_bounds(constraint.condition)
    return int(bounds["year__gte"]), int(bounds["year__lte"])


def year_range_problem(year: int) -> str | None:
    """Why `year` cannot be in the calendar, or None when it can."""
    first, last = calendar_year_range()
    if first <= year <= last:
        return None
    return _("the year %(year)s is outside the calendar's range %(first)s–%(last)s") % {
        "year": year,
        "first": first,
        "last": last,
    }


def package_years() -> range:
    """The years the installed chinesecalendar package has official schedules for."""
    from chinese_calendar.constants import holidays

    years = {d.year for d in holidays}
    return range(min(years), max(years) + 1)


def package_days(year: int) -> list[HolidayDay]:
    from chinese_calendar.constants import Holiday, holidays, workdays

    if year not in package_years():
        first, last = package_years()[0], package_years()[-1]
        raise ValidationError(
            _(
                "The chinesecalendar package has no schedule for %(year)s (it covers %(first)s–%(last)s). "
                "Import the State Council's schedule with “manage.py holidays --import-csv FILE” or enter it in admin."
            )
            % {"year": year, "first": first, "last": last}
        )

    def chinese(english: str) -> str:
        try:
            return Holiday(english).chinese
        except ValueError:
            return english

    days = [
        HolidayDay(date=d, kind=HolidayDay.Kind.HOLIDAY, name=chinese(n)) for d, n in holidays.items() if d.year == year
    ]
    days += [
        HolidayDay(date=d, kind=HolidayDay.Kind.MAKEUP_WORKDAY, name=chinese(n))
        for d, n in workdays.items()
        if d.year == year
    ]
    return sorted(days, key=lambda h: h.date)
