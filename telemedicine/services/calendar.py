"""Local days and times (Asia/Shanghai) and the rosters contract the slots follow: public holidays
of the State Council schedule and approved leave."""

import datetime
import logging

from django.utils import timezone

logger = logging.getLogger(__name__)


def local_dt(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_dt(day, datetime.time.min), local_dt(day + datetime.timedelta(days=1), datetime.time.min)


def public_holidays(start: datetime.date, end: datetime.date) -> set[datetime.date]:
    """Public holidays (rest days in the State Council schedule) between start and end."""
    from staffing.rosters.exceptions import CalendarMissing
    from staffing.rosters.selectors import holidays_between, is_rest_day

    try:
        return {day for day in holidays_between(start=start, end=end) if is_rest_day(day)}
    except CalendarMissing as exc:
        logger.warning("teleconsult slots: holiday calendar missing (%s); holidays not excluded", exc)
        return set()


def doctor_on_leave(doctor_id: int | None, day: datetime.date) -> bool:
    if doctor_id is None:
        return False
    from staffing.rosters.selectors import doctor_on_leave as on_leave

    return on_leave(doctor_id=doctor_id, day=day)
