"""Daily reminder scans. An app that owns dated facts (staffing owns licence expiry dates) registers
a scanner from its AppConfig.ready(); the daily beat task `notifications.run_reminder_scans` runs
every registered scanner, so notifications never imports the app whose data it reminds about.

A scanner is `scanner(*, today: date) -> int` (rows queued). It calls `notify(...)` with a due time
derived from the fact itself (`expiry_due_at`), so running it twice, or a day late, queues nothing
twice and misses nothing."""

import datetime
import logging
from collections.abc import Callable

from django.utils import timezone

logger = logging.getLogger(__name__)

REMINDER_HOUR = 9
SCANNERS: dict[str, Callable[..., int]] = {}


def register_scanner(name: str, scanner: Callable[..., int]) -> None:
    SCANNERS[name] = scanner


def expiry_due_at(expiry: datetime.date, days_before: int) -> datetime.datetime:
    """09:00 local time `days_before` days before `expiry`: the fixed due time of that reminder."""
    day = expiry - datetime.timedelta(days=days_before)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(REMINDER_HOUR)))


def expiry_windows(today: datetime.date, thresholds=(90, 30)) -> list[tuple[int, datetime.date, datetime.date]]:
    """For thresholds (90, 30): [(90, today+31, today+90), (30, today, today+30)] — the expiry dates
    each reminder covers today. A window rather than one day, so a missed daily run is caught up."""
    ordered = sorted(thresholds, reverse=True)
    windows = []
    for index, days in enumerate(ordered):
        lower = ordered[index + 1] + 1 if index + 1 < len(ordered) else 0
        windows.append((days, today + datetime.timedelta(days=lower), today + datetime.timedelta(days=days)))
    return windows


def run_scanners(*, today: datetime.date | None = None) -> dict:
    today = today or timezone.localdate()
    queued = {}
    for name, scanner in sorted(SCANNERS.items()):
        try:
            queued[name] = scanner(today=today)
        except Exception:  # one broken scanner must not stop the others; the next day retries
            logger.exception("reminder scanner %s failed", name)
            queued[name] = None
    return queued
