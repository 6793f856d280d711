"""Simplified Chinese formats: Django's, except that dates and times are entered and shown in form
fields as ISO 8601 first (yyyy-MM-dd, yyyy-MM-dd HH:mm).

Django's zh_Hans locale puts "%Y/%m/%d" first in DATE_INPUT_FORMATS, and a DateInput renders its
value with the first input format, so every `<input type="date">` got "2026/12/02", which
browsers reject (the HTML date input needs yyyy-MM-dd) and show empty. The other formats are
still accepted on input."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403
from django.conf.locale.zh_Hans.formats import DATE_INPUT_FORMATS as _DATE
from django.conf.locale.zh_Hans.formats import DATETIME_INPUT_FORMATS as _DATETIME


def _iso_first(first: list[str], formats: list[str]) -> list[str]:
    return first + [f for f in formats if f not in first]


DATE_INPUT_FORMATS = _iso_first(["%Y-%m-%d"], _DATE)
DATETIME_INPUT_FORMATS = _iso_first(["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"], _DATETIME)

# Amounts read like the bureau's statements: 12,345.67, grouped by three with a comma (Django's
# zh_Hans groups by four with no separator). Used wherever a number is grouped on purpose
# (floatformat:"2g", localized money columns); USE_THOUSAND_SEPARATOR stays off so that ids in
# links and form values are never grouped. Dates keep Django's Chinese style, 2026年12月3日.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
