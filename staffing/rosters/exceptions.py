"""Errors of the roster app that other apps may catch."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CalendarMissing(ValidationError):
    """The official holiday schedule of a year is not loaded, so its rest days are unknown.

    A ValidationError, so the API answers 400 and admin forms show the message; never treat such
    a year as having no holidays."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            _(
                "The holiday calendar for %(year)s is not loaded, so its public holidays and make-up "
                "workdays are unknown. Load it with “manage.py holidays --load %(year)s” (years the "
                "chinesecalendar package covers), import the State Council's schedule with "
                "“manage.py holidays --import-csv FILE”, or enter it in admin under "
                "Holiday calendar years."
            )
            % {"year": year},
            code="calendar_missing",
        )
