"""Dates and months, one rule each. A month is the date of its first day."""

import calendar
import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def days_in_month(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: datetime.date) -> datetime.date:
    """The month's last day."""
    return month.replace(day=days_in_month(month))


def add_months(month: datetime.date, n: int) -> datetime.date:
    """The first day of the month `n` months after (or before, n < 0) `month`'s."""
    index = month.year * 12 + (month.month - 1) + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def next_month(month: datetime.date) -> datetime.date:
    return add_months(month, 1)


def days_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Every day from `start` to `end`, both included."""
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def parse_month(text, *, field: str | None = "month") -> datetime.date:
    """"2026-10" → date(2026, 10, 1). Anything else is a ValidationError saying how to write it
    (under `field`, for API and form errors; field=None for a plain message)."""
    match = MONTH_RE.match(text or "") if isinstance(text, str) else None
    if match and 1900 <= int(match[1]) <= 9998 and 1 <= int(match[2]) <= 12:
        return datetime.date(int(match[1]), int(match[2]), 1)
    message = _("Give the month as YYYY-MM, for example 2026-10.")
    raise ValidationError({field: [message]} if field else message, code="invalid_month")


def parse_optional_month(text, *, field: str | None = "month") -> datetime.date | None:
    """Like parse_month, but an empty value is None (no filter)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    return parse_month(text, field=field)


OPTION_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


def month_option(text, *, option: str = "--month") -> datetime.date:
    """A management command's month option: "2026-10" → date(2026, 10, 1), else a CommandError
    in the operator's language saying how to write it."""
    from django.core.management.base import CommandError

    try:
        if not (isinstance(text, str) and OPTION_MONTH_RE.match(text)):  # exactly YYYY-MM, as documented
            raise ValidationError("")
        return parse_month(text, field=None)
    except ValidationError:
        raise CommandError(
            _("%(option)s must be YYYY-MM, for example 2026-10 (got “%(month)s”).") % {"option": option, "month": text}
        ) from None
