"""Teleconsultation settings as the code uses them. The values and their defaults live in one
place, config/settings.py (read from the environment; documented in .env.example); these only
turn them into URLs and durations."""

import datetime

from django.conf import settings


def video_base_url() -> str:
    base = settings.TELECONSULT_VIDEO_BASE_URL
    return base if base.endswith("/") else base + "/"


def video_opens_before() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.TELECONSULT_VIDEO_OPENS_MINUTES)


def cancel_closes_before() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.TELECONSULT_CANCEL_CLOSES_HOURS)


def no_show_grace() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.TELECONSULT_NO_SHOW_GRACE_MINUTES)


def slot_horizon_days() -> int:
    return settings.TELECONSULT_SLOT_HORIZON_DAYS


# Dates a person can mean: outside them a query would only overflow the calendar.
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_DAY = datetime.date(2100, 12, 31)


def plausible_day(day: datetime.date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY
