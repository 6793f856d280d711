"""Local days and times (Asia/Shanghai) and the rosters contract the slots follow: public holidays
of the State Council schedule and approved leave."""

import datetime
import logging

from django.db.models import Exists
from django.db.models.functions import ExtractYear, TruncDate
from django.utils import timezone

logger = logging.getLogger(__name__)


def local_dt(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_dt(day, datetime.time.min), local_dt(day + datetime.timedelta(days=1), datetime.time.min)


def years_without_calendar(start: datetime.date, end: datetime.date) -> list[int]:
    """The years from start to end whose holiday calendar is not loaded: their public holidays
    are unknown, so no slot is offered on their days (never treated as a year without holidays)."""
    from staffing.rosters.exceptions import CalendarMissing
    from staffing.rosters.selectors import require_years

    missing = []
    for year in range(start.year, end.year + 1):
        try:
            require_years([year])
        except CalendarMissing:
            missing.append(year)
    return missing


def require_calendar(day: datetime.date) -> None:
    """Refuse (CalendarMissing, a ValidationError naming the year to load) a day whose year has
    no holiday calendar."""
    from staffing.rosters.selectors import require_years

    require_years([day.year])


def public_holidays(start: datetime.date, end: datetime.date) -> set[datetime.date]:
    """Public holidays (rest days in the State Council schedule) between start and end, in the
    years whose calendar is loaded (see `years_without_calendar` for the others)."""
    from staffing.rosters.models import DayKind
    from staffing.rosters.selectors import classify, holidays_between

    return {day for day, entry in holidays_between(start=start, end=end).items() if classify(day, entry) == DayKind.HOLIDAY}


def doctor_on_leave(doctor_id: int | None, day: datetime.date) -> bool:
    if doctor_id is None:
        return False
    from staffing.rosters.selectors import doctor_on_leave as on_leave

    return on_leave(doctor_id=doctor_id, day=day)


# --- The same rules as conditions of one query -----------------------------------------------------
# A booking asks its questions about a slot in the SELECT that reads the slot: the slot's local day
# and year are annotations (`local_day`, `local_year`, in the current time zone, Asia/Shanghai), and
# each rule is an EXISTS on them.


def local_day_and_year(field: str = "starts_at") -> dict:
    """Annotations `local_day` and `local_year` of a datetime column, in the current time zone."""
    return {"local_day": TruncDate(field), "local_year": ExtractYear(field)}


def calendar_loaded_exists(year) -> Exists:
    """True when the holiday calendar of `year` (a value or an expression) is loaded."""
    from staffing.rosters.models import CalendarYear

    return Exists(CalendarYear.objects.filter(year=year))


def on_leave_exists(doctor_id, day) -> Exists:
    """True when doctor `doctor_id` (a value or an expression) has approved leave on `day`."""
    from staffing.rosters.selectors import approved_leave

    return Exists(approved_leave(start=day, end=day).filter(doctor_id=doctor_id))
