"""Teleconsultation settings with their defaults (config/settings.py reads them from the environment)."""

import datetime

from django.conf import settings


def video_base_url() -> str:
    base = getattr(settings, "TELECONSULT_VIDEO_BASE_URL", "https://meet.leye.example/")
    return base if base.endswith("/") else base + "/"


def video_opens_before() -> datetime.timedelta:
    return datetime.timedelta(minutes=getattr(settings, "TELECONSULT_VIDEO_OPENS_MINUTES", 10))


def cancel_closes_before() -> datetime.timedelta:
    return datetime.timedelta(hours=getattr(settings, "TELECONSULT_CANCEL_CLOSES_HOURS", 2))


def no_show_grace() -> datetime.timedelta:
    return datetime.timedelta(minutes=getattr(settings, "TELECONSULT_NO_SHOW_GRACE_MINUTES", 30))


def slot_horizon_days() -> int:
    return getattr(settings, "TELECONSULT_SLOT_HORIZON_DAYS", 28)


# Dates a person can mean: outside them a query would only overflow the calendar.
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_DAY = datetime.date(2100, 12, 31)


def plausible_day(day: datetime.date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY
