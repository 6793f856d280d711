"""Writes to the holiday calendar: load years from the `chinesecalendar` package, import the
State Council's schedule from CSV/XLSX, and the year status `manage.py holidays --status` shows."""

import datetime
import functools
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.scoping import require_county_wide
from core.audit import audit_record
from core.tabular import TableError, parse_date, read_table
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


def _condition_bounds(condition) -> dict:
    bounds = {}
    for child in condition.children:
        if isinstance(child, Q):
            bounds.update(_condition_bounds(child))
        else:
            bounds[child[0]] = child[1]
    return bounds


@functools.cache
def calendar_year_range() -> tuple[int, int]:
    """The first and last year the calendar may hold, read from CalendarYear's
    `calendar_year_in_range` constraint so the range has one home (the model)."""
    constraint = next(c for c in CalendarYear._meta.constraints if c.name == "calendar_year_in_range")
    bounds = _condition_bounds(constraint.condition)
    return int(bounds["year__gte"]), int(bounds["year__lte"])


def year_range_problem(year: int) -> str | None:
    """Why `year` cannot be in the calendar, or None when it can."""
    first, last = calendar_year_range()
    if first <= year <= last:
        return None
    return _("the year %(year)s is outside the calendar's range %(first)s–%(last)s") % {
        "year": year,
        "first": first,
        "last": last,
    }


def _require_year_in_range(year: int, *, field_name: str | None = None) -> None:
    problem = year_range_problem(year)
    if problem:
        raise ValidationError({field_name: problem} if field_name else problem, code="year_out_of_range")


def package_years() -> range:
    """The years the installed chinesecalendar package has official schedules for."""
    from chinese_calendar.constants import holidays

    years = {d.year for d in holidays}
    return range(min(years), max(years) + 1)


def package_days(year: int) -> list[HolidayDay]:
    from chinese_calendar.constants import Holiday, holidays, workdays

    if year not in package_years():
        first, last = package_years()[0], package_years()[-1]
        raise ValidationError(
            _(
                "The chinesecalendar package has no schedule for %(year)s (it covers %(first)s–%(last)s). "
                "Import the State Council's schedule with “manage.py holidays --import-csv FILE” or enter it in admin."
            )
            % {"year": year, "first": first, "last": last}
        )

    def chinese(english: str) -> str:
        try:
            return Holiday(english).chinese
        except ValueError:
            return english

    days = [
        HolidayDay(date=d, kind=HolidayDay.Kind.HOLIDAY, name=chinese(n)) for d, n in holidays.items() if d.year == year
    ]
    days += [
        HolidayDay(date=d, kind=HolidayDay.Kind.MAKEUP_WORKDAY, name=chinese(n))
        for d, n in workdays.items()
        if d.year == year
    ]
    return sorted(days, key=lambda h: h.date)


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
    from core.imports import KEEP, import_cell

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


@dataclass
class YearStatus:
    year: int
    source: str
    holidays: int
    makeup_workdays: int


def calendar_status() -> list[YearStatus]:
    counts = {
        row["date__year"]: row
        for row in HolidayDay.objects.values("date__year").annotate(
            holidays=Count("id", filter=Q(kind=HolidayDay.Kind.HOLIDAY)),
            makeup=Count("id", filter=Q(kind=HolidayDay.Kind.MAKEUP_WORKDAY)),
        )
    }
    return [
        YearStatus(
            year=y.year,
            source=y.get_source_display(),
            holidays=counts.get(y.year, {}).get("holidays", 0),
            makeup_workdays=counts.get(y.year, {}).get("makeup", 0),
        )
        for y in CalendarYear.objects.order_by("year")
    ]


def seed_holidays(counts: dict) -> None:
    """Seed step: every year the package covers; years already loaded are left alone."""
    for _year, loaded in holiday_years_load_all().items():
        counts.setdefault("holiday calendar year", {"created": 0, "existing": 0})
        counts["holiday calendar year"]["created" if loaded else "existing"] += 1


def seed_demo_rosters(counts: dict) -> None:
    """Seed step: plan this month and next for the demo clinics and publish this month, so the
    demo doctor's duty page has something to show. Months already planned are left alone; a
    month whose year has no calendar is skipped (load it with `manage.py holidays`)."""
    from staffing.rosters.exceptions import CalendarMissing
    from staffing.rosters.models import RosterMonth
    from staffing.rosters.selectors import month_start, next_month
    from staffing.rosters.services import roster_generate, roster_publish

    this_month = month_start(timezone.localdate())
    counts.setdefault("roster month", {"created": 0, "existing": 0})
    for month in (this_month, next_month(this_month)):
        if RosterMonth.objects.filter(month=month).exists():
            counts["roster month"]["existing"] += 1
            continue
        try:
            roster_generate(month=month)
        except CalendarMissing:
            continue
        if month == this_month:
            roster_publish(month=month, acting_user=None)
        counts["roster month"]["created"] += 1
