"""Writes to the holiday calendar: load years from the `chinesecalendar` package, import the
State Council's schedule from CSV/XLSX, and the admin's edits of a day or a year. Only a
county-wide role (or the system, acting_user=None) changes it; every change is audited."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.scoping import require_county_wide
from core.audit import audit_record
from core.imports import KEEP, import_cell
from core.tabular import TableError, parse_date, read_table
from staffing.rosters.holidays import package_days, package_years, year_range_problem
from staffing.rosters.models import CalendarYear, HolidayDay

CSV_COLUMNS = ["date", "kind", "name"]
KIND_ALIASES = {
    "holiday": HolidayDay.Kind.HOLIDAY,
    "假日": HolidayDay.Kind.HOLIDAY,
    "节假日": HolidayDay.Kind.HOLIDAY,
    "放假": HolidayDay.Kind.HOLIDAY,
    "makeup_workday": HolidayDay.Kind.MAKEUP_WORKDAY,
    "workday": HolidayDay.Kind.MAKEUP_WORKDAY,
    "调休": HolidayDay.Kind.MAKEUP_WORKDAY,
    "上班": HolidayDay.Kind.MAKEUP_WORKDAY,
    "补班": HolidayDay.Kind.MAKEUP_WORKDAY,
}


def _require_calendar_admin(acting_user) -> None:
    """The holiday calendar rules every township's rosters: only a county-wide role (or the
    system, acting_user=None: seeds and commands) loads, imports or edits it."""
    require_county_wide(acting_user, what=_("Loading or changing the holiday calendar"))


def _require_year_in_range(year: int, *, field_name: str | None = None) -> None:
    problem = year_range_problem(year)
    if problem:
        raise ValidationError({field_name: problem} if field_name else problem, code="year_out_of_range")


def _replace_year(*, year: int, days: list[HolidayDay], source: str, acting_user, note: str = "") -> CalendarYear:
    _require_calendar_admin(acting_user)
    _require_year_in_range(year)
    HolidayDay.objects.filter(date__year=year).delete()
    HolidayDay.objects.bulk_create(days)
    calendar_year, _created = CalendarYear.objects.update_or_create(
        year=year, defaults={"source": source, "note": note, "loaded_at": timezone.now()}
    )
    audit_record(
        actor=acting_user,
        action="holidays.load",
        target=calendar_year,
        changes={"source": source, "days": len(days)},
    )
    return calendar_year


@transaction.atomic
def holiday_year_load(*, year: int, acting_user=None, replace: bool = False) -> tuple[CalendarYear, bool]:
    """Load one year from the package. Idempotent: a loaded year is left as it is (admins may have
    corrected it) unless `replace`. Returns the year and whether it was (re)loaded. Only a
    county-wide role (or the system) may load."""
    _require_calendar_admin(acting_user)
    existing = CalendarYear.objects.filter(year=year).first()
    if existing is not None and not replace:
        return existing, False
    days = package_days(year)
    return _replace_year(year=year, days=days, source=CalendarYear.Source.PACKAGE, acting_user=acting_user), True


def holiday_years_load_all(*, acting_user=None, replace: bool = False) -> dict[int, bool]:
    _require_calendar_admin(acting_user)
    return {year: holiday_year_load(year=year, acting_user=acting_user, replace=replace)[1] for year in package_years()}


@dataclass
class CalendarImportReport:
    years: list[int] = field(default_factory=list)
    days: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def holiday_calendar_import(*, upload, filename: str, acting_user=None) -> CalendarImportReport:
    """Import whole years from a table with columns date, kind, name. Each year in the file
    replaces that year's days; all or nothing: any bad row and nothing is saved. Cells follow the
    rule of every import (core.imports): an empty kind or name keeps what the calendar already
    holds for that date; both are required, so 清空 is refused and a new date must give them.
    Only a county-wide role (or the system) may import; a date whose year is outside the
    calendar's range (CalendarYear's constraint) is a bad row."""
    _require_calendar_admin(acting_user)
    report = CalendarImportReport()
    try:
        _header, rows = read_table(upload, filename, CSV_COLUMNS)
        rows = list(rows)
    except TableError as exc:
        report.errors.append((0, str(exc)))
        return report
    dates = set()
    for row in rows:
        try:
            dates.add(parse_date(row.values.get("date", "")))
        except (ValueError, TypeError):
            continue
    stored = {h.date: h for h in HolidayDay.objects.filter(date__in=dates)}
    by_year: dict[int, list[HolidayDay]] = {}
    seen: dict[datetime.date, int] = {}
    for row in rows:
        problems = []
        try:
            day = parse_date(row.values.get("date", ""))
        except (ValueError, TypeError):
            day = None
            problems.append(_("date: not a date in the form YYYY-MM-DD"))
        if day is not None and (out_of_range := year_range_problem(day.year)):
            problems.append(_("date: %(problem)s") % {"problem": out_of_range})
        kept = stored.get(day)
        try:
            kind_text = import_cell(row.values, "kind", required=True)
            if kind_text is KEEP:
                kind = kept.kind if kept else None
            else:
                kind = KIND_ALIASES.get(kind_text.lower())
        except ValidationError as exc:
            kind = ""
            problems.extend(exc.messages)
        if kind is None:
            problems.append(_("kind: use holiday (放假) or makeup_workday (调休)"))
        try:
            name_text = import_cell(row.values, "name", required=True)
            if name_text is KEEP:
                name = kept.name if kept else ""
            else:
                name = name_text
        except ValidationError as exc:
            name = "-"
            problems.extend(exc.messages)
        if not name:
            problems.append(_("name: give the holiday's name, e.g. 春节"))
        if day is not None and day in seen:
            problems.append(_("date repeats row %(row)s") % {"row": seen[day]})
        if day is not None and kind == HolidayDay.Kind.MAKEUP_WORKDAY and day.weekday() < 5:
            problems.append(_("kind: a make-up workday must be a Saturday or Sunday"))
        if problems:
            report.errors.append((row.number, "；".join(problems)))
            continue
        seen[day] = row.number
        by_year.setdefault(day.year, []).append(HolidayDay(date=day, kind=kind, name=name[:50]))
    if not rows:
        report.errors.append((0, _("The file has no rows.")))
    if report.errors:
        return report
    with transaction.atomic():
        for year, days in sorted(by_year.items()):
            _replace_year(
                year=year, days=days, source=CalendarYear.Source.CSV, acting_user=acting_user, note=filename[:200]
            )
            report.years.append(year)
            report.days += len(days)
    return report


@transaction.atomic
def holiday_day_save(*, day: HolidayDay, acting_user, change: bool) -> HolidayDay:
    """Add or correct one calendar day by hand (admin)."""
    _require_calendar_admin(acting_user)
    _require_year_in_range(day.date.year, field_name="date")
    day.full_clean()
    day.save()
    audit_record(
        actor=acting_user,
        action="holiday.change" if change else "holiday.add",
        target=day,
        changes={"date": day.date, "kind": day.kind, "name": day.name},
    )
    return day


@transaction.atomic
def holiday_day_delete(*, day: HolidayDay, acting_user) -> None:
    _require_calendar_admin(acting_user)
    audit_record(
        actor=acting_user,
        action="holiday.delete",
        target=day,
        changes={"date": day.date, "kind": day.kind, "name": day.name},
    )
    day.delete()


@transaction.atomic
def calendar_year_save(*, year: CalendarYear, acting_user, change: bool) -> CalendarYear:
    """Add or correct a calendar year's record by hand (admin)."""
    _require_calendar_admin(acting_user)
    year.full_clean()
    year.save()
    audit_record(
        actor=acting_user,
        action="holidays.year_change" if change else "holidays.year_add",
        target=year,
        changes={"year": year.year, "source": year.source, "note": year.note},
    )
    return year


@transaction.atomic
def calendar_year_delete(*, year: CalendarYear, acting_user) -> None:
    _require_calendar_admin(acting_user)
    audit_record(
        actor=acting_user,
        action="holidays.year_delete",
        target=year,
        changes={"year": year.year, "source": year.source},
    )
    year.delete()
