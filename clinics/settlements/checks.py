"""System checks of the settlement app: the fast lane and the SQL engine read local times with
`spec.TIME_ZONE` and `spec.UTC_OFFSET_SECONDS`, the Python engine with settings.TIME_ZONE; the
three must agree, or one settlement would get two fingerprints."""

import datetime
import zoneinfo

from django.conf import settings
from django.core import checks

from clinics.settlements import spec

# The years a settlement may carry (spec.YEAR starts at 2000), sampled in winter and in summer.
SAMPLE_YEARS = (2000, 2026, 2050, 2100)


def time_zone_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.TIME_ZONE != spec.TIME_ZONE:
        return [checks.Error(
            f"settings.TIME_ZONE is {settings.TIME_ZONE!r}, but the settlement engines read local times in "
            f"{spec.TIME_ZONE!r} (clinics/settlements/spec.py).",
            id="settlements.E001",
        )]
    zone = zoneinfo.ZoneInfo(spec.TIME_ZONE)
    for year in SAMPLE_YEARS:
        for month in (1, 7):
            offset = datetime.datetime(year, month, 1, tzinfo=zone).utcoffset().total_seconds()
            if offset != spec.UTC_OFFSET_SECONDS:
                return [checks.Error(
                    f"{spec.TIME_ZONE} is UTC{offset / 3600:+g} in {year}-{month:02d}, but the fast lane "
                    f"subtracts spec.UTC_OFFSET_SECONDS = {spec.UTC_OFFSET_SECONDS}.",
                    id="settlements.E002",
                )]
    return []
