"""Reads of the holiday calendar and rosters. The first six functions are the contract other apps
(payroll, telemedicine) code against — see docs/DEVELOPING.md; their signatures are fixed.
User-facing reads further down take the acting user and are scoped by reach."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Count, Q, QuerySet, TextField

from clinics.models import Facility
from clinics.scoping import scope_facilities, scope_queryset
from core.months import days_between, month_end, month_start
from staffing.models import Doctor, Posting
from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.models import (
    CalendarYear,
    CoverageGap,
    DayKind,
    DecisionStatus,
    DutyDay,
    HolidayDay,
    LeaveRequest,
    RosterMonth,
    SwapRequest,
)

# --- Contract: holiday calendar -----------------------------------------------------------------


def require_years(years) -> None:
    years = set(years)
    loaded = set(CalendarYear.objects.filter(year__in=years).values_list("year", flat=True))
    missing = sorted(years - loaded)
    if missing:
        raise CalendarMissing(missing[0])


def holidays_between(*, start: datetime.date, end: datetime.date) -> dict[datetime.date, HolidayDay]:
    """Public holidays and make-up workdays from `start` to `end` inclusive."""
    return {h.date: h for h in HolidayDay.objects.filter(date__gte=start, date__lte=end)}


def classify(day: datetime.date, entry: HolidayDay | None) -> str:
    """Workday, weekend or public holiday, given the day's calendar entry (if any)."""
    if entry is not None:
        return DayKind.HOLIDAY if entry.kind == HolidayDay.Kind.HOLIDAY else DayKind.WORKDAY
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY


def day_kinds(*, start: datetime.date, end: datetime.date) -> tuple[dict[datetime.date, str], dict[datetime.date, HolidayDay]]:
    """Each day's kind and the calendar entries, in two queries; CalendarMissing for a year
    without a loaded calendar."""
    require_years(range(start.year, end.year + 1))
    entries = holidays_between(start=start, end=end)
    return {day: classify(day, entries.get(day)) for day in days_between(start, end)}, entries


def is_rest_day(day: datetime.date) -> bool:
    """A weekend day not made up, or a public holiday."""
    require_years([day.year])
    return classify(day, HolidayDay.objects.filter(date=day).first()) != DayKind.WORKDAY


@dataclass
class YearStatus:
    year: int
    source: str
    holidays: int
    makeup_workdays: int


def calendar_status() -> list[YearStatus]:
    """The years loaded, with their counts of holidays and make-up workdays (`manage.py holidays --status`)."""
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


# --- Contract: leave and duty ------------------------------------------------------------------


def approved_leave(*, doctor_ids=None, start: datetime.date, end: datetime.date) -> QuerySet:
    queryset = LeaveRequest.objects.filter(status=DecisionStatus.APPROVED, start_date__lte=end, end_date__gte=start)
    return queryset if doctor_ids is None else queryset.filter(doctor_id__in=list(doctor_ids))


def doctor_on_leave(*, doctor_id: int, day: datetime.date) -> bool:
    return approved_leave(doctor_ids=[doctor_id], start=day, end=day).exists()


def leave_days(*, doctor_ids, start: datetime.date, end: datetime.date) -> dict[int, dict[str, list[datetime.date]]]:
    """Approved leave days within [start, end] per doctor and leave type."""
    result: dict[int, dict[str, list[datetime.date]]] = {}
    for leave in approved_leave(doctor_ids=doctor_ids, start=start, end=end).order_by("start_date"):
        days = days_between(max(leave.start_date, start), min(leave.end_date, end))
        result.setdefault(leave.doctor_id, {}).setdefault(leave.kind, []).extend(days)
    return result


def doctor_leave_marks(*, doctor_id: int, start: datetime.date, end: datetime.date) -> dict[datetime.date, str]:
    """The doctor's days within [start, end] under a pending or approved leave request, with that
    status (approved wins where a pending request overlaps an approved one): the phone calendar marks both."""
    marks: dict[datetime.date, str] = {}
    requests = LeaveRequest.objects.filter(
        doctor_id=doctor_id, status__in=[DecisionStatus.PENDING, DecisionStatus.APPROVED],
        start_date__lte=end, end_date__gte=start,
    ).values_list("start_date", "end_date", "status")
    for first, last, status in requests:
        for day in days_between(max(first, start), min(last, end)):
            if marks.get(day) != DecisionStatus.APPROVED:
                marks[day] = status
    return marks


@dataclass
class DutySummary:
    day_duty_dates: list[datetime.date] = field(default_factory=list)
    weekend_oncall_dates: list[datetime.date] = field(default_factory=list)
    holiday_oncall_dates: list[datetime.date] = field(default_factory=list)
    published: bool = False


class _Dates(Aggregate):
    """A group's dates in one value: an array on PostgreSQL, comma-separated ISO text on SQLite
    (read back by `_as_dates`)."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="ARRAY_AGG", **extra_context)


def _as_dates(value) -> list[datetime.date]:
    if isinstance(value, str):
        value = [datetime.date.fromisoformat(part) for part in value.split(",")]
    return sorted(value)


def duty_summary(*, month: datetime.date, doctor_ids=None) -> dict[int, DutySummary]:
    """Each doctor's duties in the month from the published rosters (cover duties at another
    clinic included), each list in date order. A doctor asked for with no published duty gets an
    empty summary with `published` telling whether their clinic's roster of the month is
    published. Grouped in the database: one row per doctor and kind of duty with its dates, not
    one per duty day (a province's month is 700,000 duty days and 28,000 doctors)."""
    month = month_start(month)
    end = month_end(month)
    duties = DutyDay.objects.filter(date__gte=month, date__lte=end, roster__status=RosterMonth.Status.PUBLISHED)
    if doctor_ids is not None:
        doctor_ids = list(doctor_ids)
        duties = duties.filter(doctor_id__in=doctor_ids)
    groups = duties.values_list("doctor_id", "duty", "day_kind").annotate(dates=_Dates("date")).order_by()
    result: dict[int, DutySummary] = {}
    for doctor_id, duty, kind, dates in groups:
        summary = result.setdefault(doctor_id, DutySummary(published=True))
        if duty == DutyDay.Duty.DAY:
            target = summary.day_duty_dates
        elif kind == DayKind.HOLIDAY:
            target = summary.holiday_oncall_dates
        else:
            target = summary.weekend_oncall_dates
        target.extend(_as_dates(dates))
        target.sort()
    missing = [d for d in (doctor_ids or []) if d not in result]
    if missing:
        published_at = set(
            RosterMonth.objects.filter(month=month, status=RosterMonth.Status.PUBLISHED).values_list("facility_id", flat=True)
        )
        posted = postings_between(doctor_ids=missing, start=month, end=end)
        for doctor_id in missing:
            facilities = {p.facility_id for p in posted if p.doctor_id == doctor_id}
            result[doctor_id] = DutySummary(published=bool(facilities) and facilities <= published_at)
    return result


def month_publication(*, month: datetime.date, facility_ids=None) -> dict[int, str | None]:
    """Roster status per facility for the month: "draft", "published" or None (no roster)."""
    month = month_start(month)
    rosters = RosterMonth.objects.filter(month=month)
    if facility_ids is None:
        facility_ids = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True).values_list("id", flat=True)
    else:
        rosters = rosters.filter(facility_id__in=list(facility_ids))
    status = dict(rosters.values_list("facility_id", "status"))
    return {facility_id: status.get(facility_id) for facility_id in facility_ids}


# --- Postings and counts used by planning --------------------------------------------------------


def postings_between(*, start: datetime.date, end: datetime.date, doctor_ids=None, facility_ids=None) -> list[Posting]:
    queryset = Posting.objects.filter(start_date__lte=end).filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
    if doctor_ids is not None:
        queryset = queryset.filter(doctor_id__in=list(doctor_ids))
    if facility_ids is not None:
        queryset = queryset.filter(facility_id__in=list(facility_ids))
    return list(queryset.select_related("doctor").order_by("facility_id", "doctor_id", "start_date"))


def oncall_counts(*, year: int, before: datetime.date, facility_ids=None) -> dict[tuple[int, int], dict[str, int]]:
    """On-call days per (clinic, doctor) from 1 January of `year` up to the day before `before`,
    weekend and holiday apart, counting the real duty (swaps and re-plans included)."""
    queryset = DutyDay.objects.filter(
        duty=DutyDay.Duty.ON_CALL, date__gte=datetime.date(year, 1, 1), date__lt=before
    )
    if isinstance(facility_ids, QuerySet):
        queryset = queryset.filter(facility__in=facility_ids)
    elif facility_ids is not None:
        queryset = queryset.filter(facility_id__in=list(facility_ids))
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: {DayKind.WEEKEND: 0, DayKind.HOLIDAY: 0})
    for facility_id, doctor_id, kind, n in queryset.values_list("facility_id", "doctor_id", "day_kind").annotate(n=Count("id")).order_by():
        counts[(facility_id, doctor_id)][kind] += n
    return counts


# --- User-facing reads ----------------------------------------------------------------------


# The months that have rosters, newest first, one index probe a month (a "skip scan"): the next
# month down is the greatest one below the last found. A DISTINCT over the province's roster
# months (one a clinic a month: 170,000 in a year) reads every entry of the index instead.
_MONTHS_SKIP_SCAN = """
WITH RECURSIVE months(month) AS (
    SELECT max(month) FROM {table}
    UNION ALL
    SELECT (SELECT max(r.month) FROM {table} r WHERE r.month < months.month) FROM months WHERE months.month IS NOT NULL
)
SELECT month FROM months WHERE month IS NOT NULL LIMIT %s
"""


def roster_months(*, user, limit: int = 24) -> list[datetime.date]:
    """The months that have rosters in the user's reach, newest first, at most `limit`."""
    queryset = scope_queryset(RosterMonth.objects.all(), user)
    if queryset.query.where:  # a township's or clinic's reach: its own few thousand rows
        return list(queryset.order_by("-month").values_list("month", flat=True).distinct()[:limit])
    table = connection.ops.quote_name(RosterMonth._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_MONTHS_SKIP_SCAN.format(table=table), [limit])
        return [value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value) for (value,) in cursor.fetchall()]




def clinic_in_reach(*, user, code: str) -> Facility | None:
    return scope_facilities(Facility.objects.filter(code=code), user).select_related("township").first()


def roster_duty_list(*, user, facility: Facility, month: datetime.date) -> QuerySet:
    queryset = DutyDay.objects.filter(
        facility=facility, date__gte=month_start(month), date__lte=month_end(month)
    ).select_related("doctor", "roster")
    return scope_queryset(queryset, user).order_by("date", "duty", "doctor_id")


def leave_request_list(*, user) -> QuerySet:
    return scope_queryset(LeaveRequest.objects.select_related("doctor", "facility"), user)


def swap_request_list(*, user) -> QuerySet:
    return scope_queryset(SwapRequest.objects.select_related("requester", "counterpart", "facility"), user)


def gap_list(*, user) -> QuerySet:
    return scope_queryset(
        CoverageGap.objects.select_related("facility__township", "roster", "cover__doctor"), user
    )


@dataclass
class CoverCandidate:
    doctor: Doctor
    facility: Facility
    oncall_this_year: int


def cover_candidates(gaps: list[CoverageGap]) -> dict[int, list[CoverCandidate]]:
    """For each gap: doctors of other clinics in the same township who are off that day (posted,
    active, not on leave, no duty), fewest on-call days this year first. A fixed number of
    queries for any number of gaps."""
    if not gaps:
        return {}
    start = min(g.date for g in gaps)
    end = max(g.date for g in gaps)
    township_ids = {g.facility.township_id for g in gaps}
    clinics = Facility.objects.filter(
        township_id__in=township_ids, kind=Facility.Kind.VILLAGE_CLINIC, is_active=True
    ).in_bulk()
    postings = [
        p for p in postings_between(start=start, end=end, facility_ids=list(clinics)) if p.doctor.status == Doctor.Status.ACTIVE
    ]
    doctor_ids = {p.doctor_id for p in postings}
    busy = set(
        DutyDay.objects.filter(doctor_id__in=doctor_ids, date__gte=start, date__lte=end).values_list("doctor_id", "date")
    )
    away = set()
    for doctor_id, by_kind in leave_days(doctor_ids=doctor_ids, start=start, end=end).items():
        for days in by_kind.values():
            away.update((doctor_id, d) for d in days)
    totals = dict(
        (((doctor_id, year), n))
        for doctor_id, year, n in DutyDay.objects.filter(
            doctor_id__in=doctor_ids, duty=DutyDay.Duty.ON_CALL, date__year__gte=start.year, date__year__lte=end.year
        )
        .values_list("doctor_id", "date__year")
        .annotate(n=Count("id"))
        .order_by()
    )
    result = {}
    for gap in gaps:
        found = []
        for posting in postings:
            facility = clinics[posting.facility_id]
            key = (posting.doctor_id, gap.date)
            if (
                facility.township_id == gap.facility.township_id
                and posting.facility_id != gap.facility_id
                and posting.covers(gap.date)
                and key not in busy
                and key not in away
            ):
                count = totals.get((posting.doctor_id, gap.date.year), 0)
                found.append(CoverCandidate(doctor=posting.doctor, facility=facility, oncall_this_year=count))
        found.sort(key=lambda c: (c.oncall_this_year, c.facility.code, c.doctor.pk))
        result[gap.pk] = found
    return result


def calendar_feed_doctor(*, token: str) -> Doctor | None:
    from staffing.rosters.models import CalendarFeed

    feed = CalendarFeed.objects.filter(token=token).select_related("doctor").first()
    return feed.doctor if feed else None


def doctor_duties(*, doctor: Doctor, start: datetime.date, end: datetime.date) -> QuerySet:
    return DutyDay.objects.filter(doctor=doctor, date__gte=start, date__lte=end).select_related("facility", "roster").order_by("date")

# --- Month summary --------------------------------------------------------------------------


@dataclass
class DoctorMonth:
    doctor_id: int
    name: str
    day_duties: int = 0
    weekend_oncall: int = 0
    holiday_oncall: int = 0
    leave_days: int = 0


@dataclass
class ClinicMonth:
    facility: Facility
    status: str | None
    doctors: list[DoctorMonth] = field(default_factory=list)
    open_gaps: int = 0
    covered_gaps: int = 0


def month_summary(*, user, month: datetime.date, township_code: str | None = None) -> list[ClinicMonth]:
    """Per clinic in reach: on-call days per doctor (weekend and holiday apart), day duties,
    leave days and gaps for the month. Five queries whatever the number of clinics."""
    month = month_start(month)
    end = month_end(month)
    clinics = scope_facilities(
        Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True).select_related("township"), user
    )
    if township_code:
        clinics = clinics.filter(township__code=township_code)
    clinics = list(clinics.order_by("code"))
    ids = [c.pk for c in clinics]
    status = dict(RosterMonth.objects.filter(month=month, facility_id__in=ids).values_list("facility_id", "status"))
    per_doctor: dict[tuple[int, int], DoctorMonth] = {}
    rows = (
        DutyDay.objects.filter(facility_id__in=ids, date__gte=month, date__lte=end)
        .values_list("facility_id", "doctor_id", "doctor__name", "duty", "day_kind")
        .annotate(n=Count("id"))
        .order_by("facility_id", "doctor_id")
    )
    for facility_id, doctor_id, name, duty, kind, n in rows:
        entry = per_doctor.setdefault((facility_id, doctor_id), DoctorMonth(doctor_id=doctor_id, name=name))
        if duty == DutyDay.Duty.DAY:
            entry.day_duties += n
        elif kind == DayKind.HOLIDAY:
            entry.holiday_oncall += n
        else:
            entry.weekend_oncall += n
    for leave in approved_leave(start=month, end=end).filter(facility_id__in=ids).select_related("doctor"):
        entry = per_doctor.setdefault((leave.facility_id, leave.doctor_id), DoctorMonth(doctor_id=leave.doctor_id, name=leave.doctor.name))
        entry.leave_days += (min(leave.end_date, end) - max(leave.start_date, month)).days + 1
    gaps = defaultdict(lambda: [0, 0])
    for facility_id, gap_status, n in (
        CoverageGap.objects.filter(facility_id__in=ids, date__gte=month, date__lte=end)
        .values_list("facility_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        gaps[facility_id][0 if gap_status == CoverageGap.Status.OPEN else 1] += n
    result = []
    for clinic in clinics:
        doctors = sorted((v for (f, _d), v in per_doctor.items() if f == clinic.pk), key=lambda v: (v.name, v.doctor_id))
        result.append(
            ClinicMonth(
                facility=clinic, status=status.get(clinic.pk), doctors=doctors,
                open_gaps=gaps[clinic.pk][0], covered_gaps=gaps[clinic.pk][1],
            )
        )
    return result


def month_summary_table(summary: list[ClinicMonth]) -> tuple[list[str], list[list]]:
    from django.utils.translation import gettext as _

    headers = [
        _("clinic code"), _("clinic"), _("township"), _("roster status"), _("doctor"), _("day duties"),
        _("weekend on-call days"), _("holiday on-call days"), _("leave days"), _("open gaps"), _("covered gaps"),
    ]
    status_label = dict(RosterMonth.Status.choices)
    rows = []
    for clinic in summary:
        status = str(status_label.get(clinic.status, _("not planned")))
        township = clinic.facility.township.name if clinic.facility.township else ""
        for doctor in clinic.doctors or [None]:
            rows.append(
                [
                    clinic.facility.code, clinic.facility.name, township, status,
                    doctor.name if doctor else "", doctor.day_duties if doctor else 0,
                    doctor.weekend_oncall if doctor else 0, doctor.holiday_oncall if doctor else 0,
                    doctor.leave_days if doctor else 0, clinic.open_gaps, clinic.covered_gaps,
                ]
            )
    return headers, rows


# --- For the dashboard ----------------------------------------------------------------------


def open_gap_list(*, user, start: datetime.date, end: datetime.date) -> QuerySet:
    """Open coverage gaps in reach from `start` to `end` inclusive, by date and clinic code."""
    return gap_list(user=user).filter(status=CoverageGap.Status.OPEN, date__gte=start, date__lte=end).order_by("date", "facility__code")


def published_roster_counts(*, user, months: list[datetime.date]) -> dict[datetime.date, int]:
    """Published clinic rosters in reach per month (first days) of `months`."""
    rows = (
        scope_queryset(RosterMonth.objects.filter(month__in=months, status=RosterMonth.Status.PUBLISHED), user)
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["month"]: row["n"] for row in rows}


def pending_request_counts(*, user) -> dict[str, int]:
    """Leave and swap requests in reach waiting for a decision."""
    return {
        "leave": leave_request_list(user=user).filter(status=DecisionStatus.PENDING).count(),
        "swaps": swap_request_list(user=user).filter(status=DecisionStatus.PENDING).count(),
    }


def oncall_days_by_doctor(*, user, facility: Facility, year: int) -> list[dict]:
    """On-call days of `year` at one clinic in reach, per doctor by name, public holidays apart
    from weekends: [{"name", "weekend", "holiday"}]."""
    rows = (
        scope_queryset(DutyDay.objects.filter(facility=facility, duty=DutyDay.Duty.ON_CALL, date__year=year), user)
        .values("doctor_id", "doctor__name", "day_kind")
        .annotate(n=Count("id"))
        .order_by("doctor__name")
    )
    doctors: dict[int, dict] = {}
    for row in rows:
        entry = doctors.setdefault(row["doctor_id"], {"name": row["doctor__name"], "weekend": 0, "holiday": 0})
        entry["holiday" if row["day_kind"] == DayKind.HOLIDAY else "weekend"] += row["n"]
    return list(doctors.values())
