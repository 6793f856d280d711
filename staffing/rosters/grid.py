"""The roster grid of a township's month, as the bureau's workbench and the printed rosters show it:
one block per clinic (its roster's status and its open or covered gaps by day), one row per doctor
(posted there in the month, or covering there), one column per day, the day's kind (workday,
make-up workday 调休上班, weekend, public holiday with its name), each doctor's duty and leave
(approved or pending). A fixed number of queries whatever the number of clinics.

Reads only: the reassignment of a draft's cell is `staffing.rosters.services.reassign`."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Q

from clinics.models import Facility, Township
from clinics.scoping import scope_facilities
from core.months import days_between, month_end, month_start
from staffing.rosters import selectors
from staffing.rosters.models import CoverageGap, DayKind, DecisionStatus, DutyDay, HolidayDay, LeaveRequest, RosterMonth

# The kinds a grid column can be: the planner's three, with the make-up workday apart.
WORKDAY = DayKind.WORKDAY.value
MAKEUP_WORKDAY = "makeup_workday"
WEEKEND = DayKind.WEEKEND.value
HOLIDAY = DayKind.HOLIDAY.value


@dataclass
class GridDay:
    date: datetime.date
    kind: str  # WORKDAY, MAKEUP_WORKDAY, WEEKEND or HOLIDAY
    name: str = ""  # the holiday's (or make-up workday's) name

    @property
    def is_rest_day(self) -> bool:
        return self.kind in (WEEKEND, HOLIDAY)


@dataclass
class GridCell:
    date: datetime.date
    kind: str
    duty: DutyDay | None = None  # the doctor's duty at this clinic that day
    leave: str | None = None  # DecisionStatus.APPROVED or PENDING
    entered_by_admin: bool = False  # the leave was recorded by an admin for the doctor


@dataclass
class GridDoctorRow:
    doctor_id: int
    name: str
    cells: list[GridCell]
    covering: bool = False  # a doctor of another clinic, here only to cover a gap

    @property
    def duty_count(self) -> int:
        return sum(1 for c in self.cells if c.duty is not None)


@dataclass
class GridClinic:
    facility: Facility
    roster: RosterMonth | None
    doctors: list[GridDoctorRow] = field(default_factory=list)
    gaps: dict[datetime.date, CoverageGap] = field(default_factory=dict)

    @property
    def is_draft(self) -> bool:
        return self.roster is not None and not self.roster.is_published

    def on_duty(self, day: datetime.date) -> list[DutyDay]:
        """The clinic's duties of `day`, by name."""
        found = [row.cells[day.day - 1].duty for row in self.doctors if row.cells[day.day - 1].duty is not None]
        return sorted(found, key=lambda d: (d.duty, d.doctor.name, d.doctor_id))

    days: list = field(default_factory=list)

    @property
    def gap_cells(self) -> list[tuple["GridDay", CoverageGap | None]]:
        return [(day, self.gaps.get(day.date)) for day in self.days]

    def open_gap_days(self) -> list[datetime.date]:
        return sorted(d for d, g in self.gaps.items() if g.status == CoverageGap.Status.OPEN)


@dataclass
class RosterGrid:
    township: Township
    month: datetime.date
    days: list[GridDay]
    clinics: list[GridClinic]

    @property
    def drafts(self) -> int:
        return sum(1 for c in self.clinics if c.is_draft)

    @property
    def published(self) -> int:
        return sum(1 for c in self.clinics if c.roster is not None and c.roster.is_published)

    @property
    def holidays(self) -> list[GridDay]:
        return [d for d in self.days if d.kind in (HOLIDAY, MAKEUP_WORKDAY)]

    @property
    def holiday_spans(self) -> list[tuple[GridDay, GridDay]]:
        """The holidays and make-up workdays as runs of consecutive days of one name and kind
        (first, last): 10月1日–10月7日 国庆节."""
        spans: list[list[GridDay]] = []
        for day in self.holidays:
            last = spans[-1][-1] if spans else None
            if last is not None and (day.date - last.date).days == 1 and (day.name, day.kind) == (last.name, last.kind):
                spans[-1].append(day)
            else:
                spans.append([day])
        return [(span[0], span[-1]) for span in spans]


def grid_days(month: datetime.date) -> list[GridDay]:
    """The month's days with their kinds; CalendarMissing when its year's calendar is not loaded."""
    month = month_start(month)
    kinds, entries = selectors.day_kinds(start=month, end=month_end(month))
    days = []
    for day, kind in kinds.items():
        entry = entries.get(day)
        if entry is not None and entry.kind == HolidayDay.Kind.MAKEUP_WORKDAY:
            days.append(GridDay(day, MAKEUP_WORKDAY, entry.name))
        else:
            days.append(GridDay(day, kind, entry.name if entry is not None else ""))
    return days


def roster_grid(*, user, township: Township, month: datetime.date, facility_ids=None) -> RosterGrid:
    """The grid of `township`'s active village clinics in `user`'s reach (or only `facility_ids`)
    for `month`. Eight queries (two for the calendar), whatever the number of clinics and doctors."""
    month = month_start(month)
    end = month_end(month)
    days = grid_days(month)
    clinics_qs = scope_facilities(
        Facility.objects.filter(township=township, kind=Facility.Kind.VILLAGE_CLINIC, is_active=True), user
    )
    if facility_ids is not None:
        clinics_qs = clinics_qs.filter(pk__in=list(facility_ids))
    clinics = list(clinics_qs.select_related("township").order_by("code"))
    ids = [c.pk for c in clinics]
    rosters = {r.facility_id: r for r in RosterMonth.objects.filter(month=month, facility_id__in=ids)}
    duties = list(
        DutyDay.objects.filter(facility_id__in=ids, date__gte=month, date__lte=end)
        .select_related("doctor")
        .order_by("date", "duty", "doctor_id")
    )
    postings = selectors.postings_between(start=month, end=end, facility_ids=ids)
    leave = LeaveRequest.objects.filter(
        Q(facility_id__in=ids) | Q(doctor_id__in={p.doctor_id for p in postings}),
        status__in=[DecisionStatus.APPROVED, DecisionStatus.PENDING], start_date__lte=end, end_date__gte=month,
    ).values_list("doctor_id", "start_date", "end_date", "status", "entered_by_id")
    gaps = CoverageGap.objects.filter(facility_id__in=ids, date__gte=month, date__lte=end).select_related("cover__doctor")

    marks: dict[tuple[int, datetime.date], str] = {}
    entered: set[tuple[int, datetime.date]] = set()
    for doctor_id, first, last, status, entered_by in leave:
        for day in days_between(max(first, month), min(last, end)):
            if marks.get((doctor_id, day)) != DecisionStatus.APPROVED:  # approved wins over pending
                marks[(doctor_id, day)] = status
                if entered_by is not None:
                    entered.add((doctor_id, day))
                else:
                    entered.discard((doctor_id, day))
    by_clinic: dict[int, dict[int, GridDoctorRow]] = {pk: {} for pk in ids}
    posted: dict[int, set[int]] = {pk: set() for pk in ids}

    def row_for(facility_id: int, doctor_id: int, name: str) -> GridDoctorRow:
        rows = by_clinic[facility_id]
        if doctor_id not in rows:
            cells = [GridCell(d.date, d.kind, leave=marks.get((doctor_id, d.date)),
                              entered_by_admin=(doctor_id, d.date) in entered) for d in days]
            rows[doctor_id] = GridDoctorRow(doctor_id, name, cells, covering=doctor_id not in posted[facility_id])
        return rows[doctor_id]

    for posting in postings:
        posted[posting.facility_id].add(posting.doctor_id)
    for posting in postings:
        row_for(posting.facility_id, posting.doctor_id, posting.doctor.name)
    for duty in duties:
        row_for(duty.facility_id, duty.doctor_id, duty.doctor.name).cells[duty.date.day - 1].duty = duty
    gap_map: dict[int, dict[datetime.date, CoverageGap]] = {pk: {} for pk in ids}
    for gap in gaps:
        gap_map[gap.facility_id][gap.date] = gap
    result = []
    for clinic in clinics:
        rows = sorted(by_clinic[clinic.pk].values(), key=lambda r: (r.covering, r.name, r.doctor_id))
        result.append(GridClinic(facility=clinic, roster=rosters.get(clinic.pk), doctors=rows, gaps=gap_map[clinic.pk], days=days))
    return RosterGrid(township=township, month=month, days=days, clinics=result)


def grid_townships(*, user):
    """The townships the user may open a grid of: any for the county, their own for a township admin."""
    from clinics.scoping import scope_choices

    return scope_choices(Township.objects.order_by("code"), user)


# --- How a day and a cell are named (the grid page and the printed rosters) -----------------------


def kind_labels() -> dict[str, str]:
    from django.utils.translation import gettext as _

    return {
        WORKDAY: _("Workday"),
        MAKEUP_WORKDAY: _("Make-up workday (调休)"),
        WEEKEND: _("Weekend"),
        HOLIDAY: _("Public holiday"),
    }


def marks() -> dict[str, str]:
    """The one-character marks of the grid and the printed rosters."""
    from django.utils.translation import pgettext

    return {
        "day": pgettext("roster grid mark", "D"),
        "on_call": pgettext("roster grid mark", "C"),
        "cover": pgettext("roster grid mark", "V"),
        "leave": pgettext("roster grid mark", "L"),
        "pending": pgettext("roster grid mark", "P"),
        "gap": pgettext("roster grid mark", "G"),
    }


def cell_mark(cell: GridCell, *, pending: bool = True) -> str:
    """The cell's mark: day duty, on call, cover, approved leave, or (with `pending`) leave asked."""
    found = marks()
    if cell.duty is not None:
        if cell.duty.source == DutyDay.Source.COVER:
            return found["cover"]
        return found["day"] if cell.duty.duty == DutyDay.Duty.DAY else found["on_call"]
    if cell.leave == DecisionStatus.APPROVED:
        return found["leave"]
    if cell.leave == DecisionStatus.PENDING and pending:
        return found["pending"]
    return ""


def day_label(day: datetime.date) -> str:
    from django.utils.formats import date_format

    return date_format(day, "MONTH_DAY_FORMAT")


def month_label(month: datetime.date) -> str:
    """The month as the admin names it: 2026年12月 (December 2026 in English)."""
    from django.utils.formats import date_format

    return date_format(month, "YEAR_MONTH_FORMAT")


def duty_in_reach(*, user, pk: int) -> DutyDay | None:
    """One duty at a clinic in the user's reach (the grid's cell), with its roster and clinic."""
    from clinics.scoping import scope_queryset

    return (
        scope_queryset(DutyDay.objects.filter(pk=pk), user)
        .select_related("roster__facility__township", "doctor", "facility")
        .first()
    )
