"""Teleconsultation settings as the code uses them. The values and their defaults live in one
place, config/settings.py (read from the environment; documented in .env.example); these only
turn them into URLs and durations."""

import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Jitsi:
    """The county's Jitsi Meet deployment with token authentication (prosody `token` auth)."""

    base_url: str  # without the trailing slash
    app_id: str  # the token's "iss" (prosody app_id)
    app_secret: str  # signs the token, HS256 (prosody app_secret)
    audience: str  # the token's "aud"
    sub: str  # the token's "sub": the Jitsi domain (or tenant)


def jitsi() -> Jitsi | None:
    """The Jitsi settings, or None when JITSI_BASE_URL is not set (video not configured)."""
    base = (settings.JITSI_BASE_URL or "").strip().rstrip("/")
    if not base:
        return None
    return Jitsi(
        base_url=base,
        app_id=settings.JITSI_APP_ID or "",
        app_secret=settings.JITSI_APP_SECRET or "",
        audience=settings.JITSI_AUDIENCE or "jitsi",
        sub=settings.JITSI_SUB or (urlsplit(base).hostname or ""),
    )


def video_opens_before() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.TELECONSULT_VIDEO_OPENS_MINUTES)


def room_overrun() -> datetime.timedelta:
    """How long past the slot's end the room stays open while the consult is in progress."""
    return datetime.timedelta(minutes=settings.TELECONSULT_ROOM_OVERRUN_MINUTES)


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
